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
  /** Consumes until interrupted (closing the scope leaves the group). */
  readonly run: Effect.Effect<void, KafkaError, Scope.Scope>
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
        if (event.batch !== undefined) yield* linkJobTraces(changed, (id) => book!.job(id)?.traceparent)
        yield* observeMetrics({
          batch: event.batch,
          now: event.now,
          outputs: event.records,
          dlqTopic: config.dlqTopic,
          counted,
          duplicates,
          lateRecords,
          finished,
          // State sizes are measured on ticks only: counting jobs on every batch is wasted work.
          state: event.batch === undefined ? stateSize(book!) : undefined
        })
      })

    const runtime = yield* Runtime.make({
      applicationId: config.applicationId,
      dlqTopic: config.dlqTopic,
      guarantee: config.processingGuarantee,
      task,
      observe,
      // Stage spans of restored jobs continue their trace; those already written are not written again.
      onRestored: () => Effect.sync(() => {
        for (const job of book!.jobs()) tracer.restored(job.jobId, job.stages)
      })
    })
    const current = () => book!

    return ReviewAggregator.of({
      run: Effect.provideService(runtime.run, KafkaClient, kafka),
      job: (jobId) => Effect.sync(() => current().job(jobId)),
      jobs: Effect.sync(() => current().jobs()),
      status: Effect.sync(() => {
        const jobs = current().jobs()
        return { jobs: jobs.length, unfinishedJobs: jobs.filter((j) => j.stages.ended === undefined).length, pendingJoins: current().pendingJoins }
      })
    })
  }))
}

const stateSize = (book: JobBook) => {
  let running = 0
  let finished = 0
  for (const job of book.jobs()) job.stages.ended === undefined ? running++ : finished++
  return { running, finished, pendingJoins: book.pendingJoins }
}

/** Links the batch's span to the traces of (up to 32 of) the jobs it touched. */
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
