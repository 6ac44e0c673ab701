/**
 * The review domain on the kernel's stream processor: decodes each input topic with its
 * typed source, feeds the JobBook, and hands back what to write. It also answers
 * queries about jobs (HTTP, replay) from the same state.
 */
import { Clock, Context, Effect, Layer, Tracer } from "effect"
import type { OutgoingRecord, RecordBatch } from "../kernel/kafka/KafkaPort.ts"
import type { StepOutput } from "../kernel/runtime/StreamProcessor.ts"
import { deadLetter, sourceRefOf } from "../kernel/source/DeadLetter.ts"
import { decodeRecord } from "../kernel/source/TypedSource.ts"
import { AppConfig, changelogTopic } from "../config/AppConfig.ts"
import * as ReviewMetrics from "../observability/ReviewMetrics.ts"
import { JobTracer } from "../observability/Telemetry.ts"
import { parseTraceparent } from "../observability/TraceContext.ts"
import * as Changelog from "../kernel/state/Changelog.ts"
import { changelogRecords, restoreFrom } from "./JobChangelog.ts"
import { usable, type Job } from "./Job.ts"
import type { Activity } from "./Activity.ts"
import { JobBook } from "./JobBook.ts"
import { PRODUCER_HEADER } from "./JobOutputs.ts"
import { analysisCodec, controlCodec, transformCodec } from "./ReviewCodecs.ts"

export interface AggregatorStatus {
  readonly jobs: number
  readonly unfinishedJobs: number
  readonly pendingJoins: number
}

export class ReviewAggregator extends Context.Service<ReviewAggregator, {
  readonly handleBatch: (batch: RecordBatch) => Effect.Effect<StepOutput>
  readonly tick: Effect.Effect<StepOutput>
  readonly job: (jobId: string) => Effect.Effect<Job | undefined>
  readonly jobs: Effect.Effect<ReadonlyArray<Job>>
  readonly status: Effect.Effect<AggregatorStatus>
}>()("review-aggregator/ReviewAggregator") {
  static readonly layer = Layer.effect(ReviewAggregator, Effect.gen(function*() {
    const config = yield* AppConfig
    const tracer = yield* JobTracer
    const book = new JobBook(config, (jobId, now, parent) => tracer.start(jobId, now, parent), yield* Clock.currentTimeMillis)
    const stateTopic = changelogTopic(config)

    // SPEC 7: state is restored from the changelog before any record is processed.
    const restored = restoreFrom(book, yield* Changelog.restore(stateTopic), yield* Clock.currentTimeMillis)
    yield* Effect.logInfo(`restored ${restored.jobs} jobs and ${restored.joins} buffered join keys from ${stateTopic}`)

    const observeMetrics = ReviewMetrics.makeObserver()
    /** State-size gauges are refreshed on ticks only: counting jobs on every batch is wasted work. */
    const stateSize = () => {
      let running = 0
      let finished = 0
      for (const job of book.allJobs()) job.stages.ended === undefined ? running++ : finished++
      return { running, finished, pendingJoins: book.pendingJoins }
    }
    const observe = (batch: RecordBatch | undefined, now: number, records: ReadonlyArray<OutgoingRecord>, activity: Activity) =>
      observeMetrics({
        batch,
        now,
        outputs: records,
        dlqTopic: config.dlqTopic,
        counted: activity.counted,
        duplicates: activity.duplicates,
        lateRecords: activity.lateRecords,
        finished: activity.finished.flatMap(({ jobId }) => {
          const job = book.job(jobId)
          const ended = job?.stages.ended
          return job === undefined || ended === undefined
            ? []
            : [{ jobId, step: ended.stage, status: ended.status, reason: ended.message, expected: job.expected, actual: usable(job, "transform") }]
        }),
        state: batch === undefined ? stateSize() : undefined
      })

    const finish = (result: { readonly records: ReadonlyArray<OutgoingRecord>; readonly activity: Activity }): StepOutput => {
      for (const jobId of result.activity.changedJobs) {
        const job = book.job(jobId)
        if (job !== undefined) tracer.sync(jobId, job.stages, job.traceparent)
      }
      return { records: result.records, changelog: changelogRecords(stateTopic, book, result.activity) }
    }

    const handleRecords = (batch: RecordBatch, now: number): ReadonlyArray<OutgoingRecord> => {
      const failures: Array<OutgoingRecord> = []
      for (const record of batch.records) {
        try {
          if (batch.topic === config.transformTopic) {
            for (const d of decodeRecord(transformCodec, record)) book.transform(d, record.timestamp, now)
          } else if (batch.topic === config.analysisTopic) {
            for (const d of decodeRecord(analysisCodec, record)) book.analysis(d, record.timestamp, now)
          } else if (batch.topic === config.controlTopic) {
            // SPEC 3.3: this service's own control messages are not re-processed.
            if (record.headers[PRODUCER_HEADER] === config.applicationId) continue
            for (const d of decodeRecord(controlCodec, record)) book.control(d, now)
          }
        } catch (cause) {
          failures.push(deadLetter(config.dlqTopic, sourceRefOf(record), {
            type: "processing",
            message: `unexpected failure while handling the record: ${cause instanceof Error ? cause.message : String(cause)}`
          }))
        }
      }
      return failures
    }

    return ReviewAggregator.of({
      handleBatch: Effect.fn("ReviewAggregator.handleBatch")(function*(batch: RecordBatch) {
        yield* Effect.annotateCurrentSpan({ "messaging.destination.name": batch.topic, "messaging.batch.message_count": batch.records.length })
        const now = yield* Clock.currentTimeMillis
        const failures = handleRecords(batch, now)
        const result = book.endBatch(now)
        yield* linkJobTraces(result.activity.changedJobs, (id) => book.job(id)?.traceparent)
        const output = finish(result)
        const records = failures.length === 0 ? output.records : [...failures, ...output.records]
        yield* observe(batch, now, records, result.activity)
        return { ...output, records }
      }),
      tick: Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const result = book.tick(now)
        yield* observe(undefined, now, result.records, result.activity)
        return finish(result)
      }),
      job: (jobId) => Effect.sync(() => book.job(jobId)),
      jobs: Effect.sync(() => [...book.allJobs()]),
      status: Effect.sync(() => {
        let unfinished = 0
        let total = 0
        for (const job of book.allJobs()) {
          total++
          if (job.stages.ended === undefined) unfinished++
        }
        return { jobs: total, unfinishedJobs: unfinished, pendingJoins: book.pendingJoins }
      }),
    })
  }))
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
