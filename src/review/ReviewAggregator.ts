/**
 * The review service on the kernel's task runtime: builds the review task, restores its
 * state from the changelog, feeds metrics and job traces from what each event did, and
 * answers queries about jobs (HTTP, replay) with immutable snapshots of the books it holds
 * (one, or scaled out one per partition it owns).
 */
import { Clock, Context, Effect, Layer, Tracer } from "effect"
import type { Scope } from "effect"
import type { KafkaError } from "../kernel/kafka/KafkaPort.ts"
import { KafkaClient } from "../kernel/kafka/KafkaPort.ts"
import * as Runtime from "../kernel/runtime/Runtime.ts"
import { AppConfig, alignmentSettings } from "../config/AppConfig.ts"
import * as ReviewMetrics from "../observability/ReviewMetrics.ts"
import { JobTracer } from "../observability/Telemetry.ts"
import { parseTraceparent } from "../observability/TraceContext.ts"
import type { Job } from "./Job.ts"
import type { JobBook } from "./JobBook.ts"
import type { ReviewEvent } from "./ReviewEvent.ts"
import { reviewTask } from "./ReviewTask.ts"
import * as RepartitionStage from "./RepartitionStage.ts"

export interface AggregatorStatus {
  readonly jobs: number
  readonly unfinishedJobs: number
  readonly pendingJoins: number
}

export class ReviewAggregator extends Context.Service<ReviewAggregator, {
  /**
   * Joins the group, restores state once this instance holds the partitions, runs
   * `onRestored`, then consumes until interrupted (closing the scope leaves the group).
   * Scaled out, the repartition stage runs beside it (`topicPartitions`: TOPIC_PARTITIONS).
   */
  readonly run: (
    onRestored: Effect.Effect<void>,
    shutdownGraceMs?: number,
    topicPartitions?: number
  ) => Effect.Effect<void, KafkaError, Scope.Scope>
  /** False until the state is restored (scaled out: the state of this member's first assignment). */
  readonly restored: Effect.Effect<boolean>
  readonly job: (jobId: string) => Effect.Effect<Job | undefined>
  readonly jobs: Effect.Effect<ReadonlyArray<Job>>
  readonly status: Effect.Effect<AggregatorStatus>
}>()("review-aggregator/ReviewAggregator") {
  static readonly layer = Layer.effect(ReviewAggregator, Effect.gen(function*() {
    const config = yield* AppConfig
    const tracer = yield* JobTracer
    const kafka = yield* KafkaClient
    const coPartitioned = config.partitionAssignment === "co-partitioned"
    // Every book a task made, by task id; readers see only those of tasks held now.
    const made = new Map<number, JobBook>()
    const held = new Map<number, JobBook>()
    const hold = (tasks: ReadonlyArray<{ readonly taskId: number }>) => {
      for (const { taskId } of tasks) {
        const book = made.get(taskId)
        if (book !== undefined) held.set(taskId, book)
      }
    }
    const task = reviewTask({
      settings: config,
      newTraceparent: (jobId, now, parent) => tracer.start(jobId, now, parent),
      startedAt: yield* Clock.currentTimeMillis,
      onBook: (book, taskId) => {
        made.set(taskId, book)
      },
      perPartition: coPartitioned ? { repartitioned: !config.inputKeyedByJob } : undefined
    })
    const books = () => [...held.values()]
    const findJob = (jobId: string): readonly [JobBook, Job] | undefined => {
      for (const book of held.values()) {
        const job = book.job(jobId)
        if (job !== undefined) return [book, job]
      }
      return undefined
    }
    const observeMetrics = ReviewMetrics.makeObserver()

    /** Metrics and job traces from one handled event. */
    const observe = (event: Runtime.HandledEvent<ReviewEvent>) =>
      Effect.gen(function*() {
        const counted = { transform: 0, analysis: 0 }
        let duplicates = 0
        let lateRecords = 0
        const finished: Array<ReviewMetrics.BatchObservation["finished"][number]> = []
        const changed: Array<string> = []
        for (const e of event.events) {
          if (e._tag === "Counted") counted[e.step]++
          else if (e._tag === "Duplicate") duplicates++
          else if (e._tag === "Late") lateRecords++
          else if (e._tag === "JobFinished") finished.push({ jobId: e.jobId, step: e.step, status: e.status, reason: e.reason, expected: e.expected, actual: e.actual })
          else changed.push(...e.jobIds)
        }
        const book = made.get(event.task.taskId)!
        for (const jobId of changed) {
          const job = book.job(jobId)
          if (job !== undefined) tracer.sync(jobId, job.stages, job.traceparent)
        }
        if (event.input !== undefined) yield* linkJobTraces(changed, (id) => book.job(id)?.traceparent)
        yield* observeMetrics({
          input: event.input,
          now: event.now,
          outputs: event.records,
          dlqTopic: config.dlqTopic,
          counted,
          duplicates,
          lateRecords,
          finished,
          // State sizes are measured on ticks only: counting jobs on every event is wasted work.
          state: event.input === undefined ? stateSize(books()) : undefined
        })
      })

    let restored = false
    const restoredTasks = (tasks: ReadonlyArray<{ readonly taskId: number }>) =>
      Effect.sync(() => {
        hold(tasks)
        restored = true
        // Stage spans of restored jobs continue their trace; those already written are not written again.
        for (const { taskId } of tasks) for (const job of made.get(taskId)?.jobs() ?? []) tracer.restored(job.jobId, job.stages)
      })
    const runReview = (onRestored: Effect.Effect<void>, shutdownGraceMs?: number) =>
      Runtime.run<ReviewEvent>({
        applicationId: config.applicationId,
        dlqTopic: config.dlqTopic,
        guarantee: config.processingGuarantee,
        shutdownGraceMs,
        alignment: alignmentSettings(config),
        metricsPrefix: "review_aggregator",
        assignment: config.partitionAssignment,
        task,
        observe,
        onRestored: (tasks) =>
          // Scaled out, the member holds no task yet: it is ready once its first assignment is restored.
          coPartitioned ? Effect.void : Effect.andThen(restoredTasks(tasks), onRestored),
        ...(coPartitioned
          ? {
            onAssigned: (tasks) =>
              Effect.suspend(() => {
                const first = !restored
                return Effect.andThen(restoredTasks(tasks), first ? onRestored : Effect.void)
              }),
            onRevoked: (tasks) =>
              Effect.sync(() => {
                for (const { taskId } of tasks) {
                  held.delete(taskId)
                  made.delete(taskId)
                }
              })
          }
          : {})
      }).pipe(Effect.provideService(KafkaClient, kafka))

    const run = (onRestored: Effect.Effect<void>, shutdownGraceMs?: number, topicPartitions?: number) => {
      if (!RepartitionStage.runsRepartition(config)) return runReview(onRestored, shutdownGraceMs)
      // Either stage failing stops both: they are one service, and its failure must show.
      const repartition = Effect.scoped(RepartitionStage.run(config, topicPartitions, shutdownGraceMs)).pipe(Effect.provideService(KafkaClient, kafka))
      return Effect.all([repartition, Effect.scoped(runReview(onRestored, shutdownGraceMs))], { concurrency: 2, discard: true })
    }

    return ReviewAggregator.of({
      run,
      restored: Effect.sync(() => restored),
      job: (jobId) => Effect.sync(() => {
        const found = findJob(jobId)
        return found === undefined ? undefined : forReaders(found[0], found[1])
      }),
      jobs: Effect.sync(() => books().flatMap((book) => book.jobs().map((job) => forReaders(book, job)))),
      status: Effect.sync(() => {
        const { running, finished, pendingJoins } = stateSize(books())
        return { jobs: running + finished, unfinishedJobs: running, pendingJoins }
      })
    })
  }))
}

/**
 * A job as readers (HTTP, replay) see it: stage deadlines, kept on the task's active
 * clock, shown as the wall-clock times they fall at if the service stays caught up.
 */
const forReaders = (book: JobBook, job: Job): Job => {
  const states = { ...job.stages.states }
  for (const step of job.stages.order) {
    const state = states[step]
    if (state.deadline !== undefined) states[step] = { ...state, deadline: book.wallClockOf(state.deadline) }
  }
  return { ...job, stages: { ...job.stages, states } }
}

const stateSize = (books: ReadonlyArray<JobBook>) => {
  let running = 0
  let finished = 0
  let pendingJoins = 0
  for (const book of books) {
    for (const job of book.jobs()) job.stages.ended === undefined ? running++ : finished++
    pendingJoins += book.pendingJoins
  }
  return { running, finished, pendingJoins }
}

/** Links the event's span to the traces of (up to 32 of) the jobs it touched. */
const linkJobTraces = (jobIds: Iterable<string>, traceparentOf: (jobId: string) => string | undefined) =>
  Effect.gen(function*() {
    const span = yield* Effect.option(Effect.currentSpan)
    if (span._tag === "None") return
    const links: Array<Tracer.SpanLink> = []
    for (const jobId of jobIds) {
      const ids = parseTraceparent(traceparentOf(jobId))
      if (ids !== undefined) links.push({ span: Tracer.externalSpan(ids), attributes: { "job.id": jobId } })
      if (links.length === 32) break
    }
    if (links.length > 0) span.value.addLinks(links)
  })
