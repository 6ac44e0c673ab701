/**
 * The review service on the kernel's task runtime: builds the review task, restores its
 * state from the changelog, feeds metrics and job traces from what each event did, and
 * answers queries about jobs (HTTP, replay) with immutable snapshots.
 */
import { Clock, Context, Effect, Layer, Tracer } from "effect"
import type { Scope } from "effect"
import type { KafkaError } from "../kernel/kafka/KafkaPort.ts"
import { KafkaClient } from "../kernel/kafka/KafkaPort.ts"
import * as Runtime from "../kernel/runtime/Runtime.ts"
import { AppConfig } from "../config/AppConfig.ts"
import * as ReviewMetrics from "../observability/ReviewMetrics.ts"
import { JobTracer } from "../observability/Telemetry.ts"
import { parseTraceparent } from "../observability/TraceContext.ts"
import type { Job } from "./Job.ts"
import type { JobBook } from "./JobBook.ts"
import type { ReviewEvent } from "./ReviewEvent.ts"
import { reviewTask } from "./ReviewTask.ts"

export interface AggregatorStatus {
  readonly jobs: number
  readonly unfinishedJobs: number
  readonly pendingJoins: number
}

export class ReviewAggregator extends Context.Service<ReviewAggregator, {
  /**
   * Joins the group, restores state once this instance holds the partitions, runs
   * `onRestored`, then consumes until interrupted (closing the scope leaves the group).
   */
  readonly run: (onRestored: Effect.Effect<void>, shutdownGraceMs?: number) => Effect.Effect<void, KafkaError, Scope.Scope>
  /** False until the state is restored. */
  readonly restored: Effect.Effect<boolean>
  readonly job: (jobId: string) => Effect.Effect<Job | undefined>
  readonly jobs: Effect.Effect<ReadonlyArray<Job>>
  readonly status: Effect.Effect<AggregatorStatus>
}>()("review-aggregator/ReviewAggregator") {
  static readonly layer = Layer.effect(ReviewAggregator, Effect.gen(function*() {
    const config = yield* AppConfig
    const tracer = yield* JobTracer
    const kafka = yield* KafkaClient
    let book: JobBook | undefined
    const task = reviewTask({
      settings: config,
      newTraceparent: (jobId, now, parent) => tracer.start(jobId, now, parent),
      startedAt: yield* Clock.currentTimeMillis,
      onBook: (b) => {
        book = b
      }
    })
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
        for (const jobId of changed) {
          const job = book!.job(jobId)
          if (job !== undefined) tracer.sync(jobId, job.stages, job.traceparent)
        }
        if (event.input !== undefined) yield* linkJobTraces(changed, (id) => book!.job(id)?.traceparent)
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
          state: event.input === undefined ? stateSize(book!) : undefined
        })
      })

    let restored = false
    const run = (onRestored: Effect.Effect<void>, shutdownGraceMs?: number) =>
      Runtime.run({
        applicationId: config.applicationId,
        dlqTopic: config.dlqTopic,
        guarantee: config.processingGuarantee,
        shutdownGraceMs,
        alignment: { idleMs: config.maxTaskIdleMs, maxEventRecords: config.eventMaxRecords, maxEventBytes: config.eventMaxBytes },
        metricsPrefix: "review_aggregator",
        task,
        observe,
        onRestored: () =>
          Effect.andThen(Effect.sync(() => {
            restored = true
            // Stage spans of restored jobs continue their trace; those already written are not written again.
            for (const job of book!.jobs()) tracer.restored(job.jobId, job.stages)
          }), onRestored)
      }).pipe(Effect.provideService(KafkaClient, kafka))

    return ReviewAggregator.of({
      run,
      restored: Effect.sync(() => restored),
      job: (jobId) => Effect.sync(() => {
        const job = book?.job(jobId)
        return job === undefined ? undefined : forReaders(book!, job)
      }),
      jobs: Effect.sync(() => (book?.jobs() ?? []).map((job) => forReaders(book!, job))),
      status: Effect.sync(() => {
        const jobs = book?.jobs() ?? []
        return { jobs: jobs.length, unfinishedJobs: jobs.filter((j) => j.stages.ended === undefined).length, pendingJoins: book?.pendingJoins ?? 0 }
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

const stateSize = (book: JobBook) => {
  let running = 0
  let finished = 0
  for (const job of book.jobs()) job.stages.ended === undefined ? running++ : finished++
  return { running, finished, pendingJoins: book.pendingJoins }
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
