/**
 * The service's metrics (SPEC 8), as Effect metrics: served as Prometheus text on
 * /metrics and exported over OTLP when telemetry is on. Names follow Prometheus
 * conventions (`_total` counters, base units); the `unit` attribute carries the unit
 * to OTLP (Prometheus output leaves it out). Every series with known labels exists from
 * start-up with 0, so dashboards and `rate()` work before the first batch.
 */
import { Effect, Layer, Metric } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { ReviewDeadLetterTypes as DeadLetterTypes } from "../review/DeadLetterTypes.ts"
import type { OutgoingRecord } from "../kernel/kafka/KafkaPort.ts"
import type { InputEvent } from "../kernel/runtime/InputEvent.ts"
import { Statuses, Steps } from "../review/schema/ControlRecord.ts"
import { type FinishedJob, makeOperationsLog } from "./OperationsLog.ts"

const prefix = "review_aggregator"

export const recordsIn = Metric.counter(`${prefix}_records_in_total`, { description: "Kafka records consumed, by topic", incremental: true, attributes: { unit: "{record}" } })
export const reviewsCounted = Metric.counter(`${prefix}_reviews_counted_total`, { description: "Distinct usable reviews counted, by side (rate() gives reviews/s)", incremental: true, attributes: { unit: "{review}" } })
export const recordToAggregateLatency = Metric.histogram(`${prefix}_record_to_aggregate_latency_seconds`, {
  description: "Time from a record's Kafka timestamp to its aggregate update",
  boundaries: Metric.exponentialBoundaries({ start: 0.005, factor: 2, count: 16 }),
  attributes: { unit: "s" }
})
export const jobsFinished = Metric.counter(`${prefix}_jobs_finished_total`, { description: "Jobs finished, by deciding step and status", incremental: true, attributes: { unit: "{job}" } })
export const jobCompletionRatio = Metric.gauge(`${prefix}_job_completion_ratio`, { description: "Share of finished jobs that completed (done) since start; 1 before any job finished", attributes: { unit: "1" } })
export const jobCountAccuracy = Metric.histogram(`${prefix}_job_count_accuracy_ratio`, {
  description: "actual / expected distinct transform records of each finished job",
  boundaries: [0.5, 0.8, 0.9, 0.95, 0.99, 1, 1.01, 1.05, 1.1, 1.5],
  attributes: { unit: "1" }
})
export const dlqRecords = Metric.counter(`${prefix}_dlq_records_total`, { description: "Dead-lettered records, by error type", incremental: true, attributes: { unit: "{record}" } })
export const duplicates = Metric.counter(`${prefix}_duplicates_total`, { description: "Repeated review ids (counted once)", incremental: true, attributes: { unit: "{record}" } })
export const lateRecords = Metric.counter(`${prefix}_late_records_total`, { description: "New reviews for finished jobs", incremental: true, attributes: { unit: "{record}" } })
export const consumerLag = Metric.gauge(`${prefix}_consumer_lag_records`, { description: "High watermark at the last fetch minus the next offset to process, by topic and partition", attributes: { unit: "{record}" } })
export const stateJobs = Metric.gauge(`${prefix}_state_jobs`, { description: "Jobs held in state, by phase", attributes: { unit: "{job}" } })
export const statePendingJoins = Metric.gauge(`${prefix}_state_pending_join_keys`, { description: "Join keys waiting for their other side", attributes: { unit: "{key}" } })

/** Creates every series whose labels are known before any record arrives, at 0. */
export const registerSeries = Effect.gen(function*() {
  const config = yield* AppConfig
  for (const topic of [config.transformTopic, config.analysisTopic, config.controlTopic]) {
    yield* Metric.update(Metric.withAttributes(recordsIn, { topic }), 0)
  }
  for (const side of ["transform", "analysis"]) yield* Metric.update(Metric.withAttributes(reviewsCounted, { side }), 0)
  for (const step of Steps) {
    for (const status of Statuses) {
      // Only the last step can finish a job as done.
      if (status !== "done" || step === Steps[Steps.length - 1]) yield* Metric.update(Metric.withAttributes(jobsFinished, { step, status }), 0)
    }
  }
  for (const type of DeadLetterTypes) yield* Metric.update(Metric.withAttributes(dlqRecords, { error_type: type }), 0)
  yield* Metric.update(duplicates, 0)
  yield* Metric.update(lateRecords, 0)
  yield* Metric.update(jobCompletionRatio, 1)
  yield* Metric.value(recordToAggregateLatency)
  yield* Metric.value(jobCountAccuracy)
  yield* Metric.update(Metric.withAttributes(stateJobs, { phase: "running" }), 0)
  yield* Metric.update(Metric.withAttributes(stateJobs, { phase: "finished" }), 0)
  yield* Metric.update(statePendingJoins, 0)
})

/** The series above, registered for the lifetime of the layer's user (the service). */
export const layer: Layer.Layer<never, never, AppConfig> = Layer.effectDiscard(registerSeries)

export interface BatchObservation {
  /** The input records of the event, undefined for clock work. */
  readonly input: InputEvent | undefined
  readonly now: number
  readonly outputs: ReadonlyArray<OutgoingRecord>
  readonly dlqTopic: string
  readonly counted: { readonly transform: number; readonly analysis: number }
  readonly duplicates: number
  readonly lateRecords: number
  readonly finished: ReadonlyArray<FinishedJob>
  /** Sizes of the state, when they were measured for this observation. */
  readonly state: { readonly running: number; readonly finished: number; readonly pendingJoins: number } | undefined
}

/**
 * An observer with its own tally of finished jobs (for the completion ratio) and the
 * operations log (job outcomes, DLQ summaries). Lag is published for the partitions an
 * observation read (a gauge keeps its value until the next one), as new as the last
 * fetch's high watermark. Not republishing every known partition matters scaled out: the
 * observer runs once per task and event, and there are partitions x topics series.
 */
export const makeObserver = (options: { readonly dlqSummaryIntervalMs?: number } = {}) => {
  let doneJobs = 0
  let finishedJobs = 0
  const operationsLog = makeOperationsLog(options.dlqSummaryIntervalMs)
  return (o: BatchObservation) => Effect.gen(function*() {
    if (o.input !== undefined) {
      const perTopic = new Map<string, number>()
      for (const r of o.input.records) {
        perTopic.set(r.topic, (perTopic.get(r.topic) ?? 0) + 1)
        yield* Metric.update(recordToAggregateLatency, Math.max(0, (o.now - r.timestamp) / 1000))
      }
      for (const [topic, n] of perTopic) yield* Metric.update(Metric.withAttributes(recordsIn, { topic }), n)
      for (const { topic, partition, nextOffset, highWatermark } of o.input.partitions) {
        if (highWatermark === undefined) continue
        yield* Metric.update(Metric.withAttributes(consumerLag, { topic, partition: String(partition) }), Math.max(0, highWatermark - nextOffset))
      }
    }
    if (o.counted.transform > 0) yield* Metric.update(Metric.withAttributes(reviewsCounted, { side: "transform" }), o.counted.transform)
    if (o.counted.analysis > 0) yield* Metric.update(Metric.withAttributes(reviewsCounted, { side: "analysis" }), o.counted.analysis)
    for (const r of o.outputs) {
      if (r.topic === o.dlqTopic) yield* Metric.update(Metric.withAttributes(dlqRecords, { error_type: r.headers?.["dlq.error.type"] ?? "unknown" }), 1)
    }
    if (o.duplicates > 0) yield* Metric.update(duplicates, o.duplicates)
    if (o.lateRecords > 0) yield* Metric.update(lateRecords, o.lateRecords)
    for (const f of o.finished) {
      finishedJobs++
      if (f.status === "done") doneJobs++
      yield* Metric.update(Metric.withAttributes(jobsFinished, { step: f.step, status: f.status }), 1)
      if (f.expected !== undefined && f.expected > 0) yield* Metric.update(jobCountAccuracy, f.actual / f.expected)
    }
    if (finishedJobs > 0) yield* Metric.update(jobCompletionRatio, doneJobs / finishedJobs)
    if (o.state !== undefined) {
      yield* Metric.update(Metric.withAttributes(stateJobs, { phase: "running" }), o.state.running)
      yield* Metric.update(Metric.withAttributes(stateJobs, { phase: "finished" }), o.state.finished)
      yield* Metric.update(statePendingJoins, o.state.pendingJoins)
    }
    yield* operationsLog(o)
  })
}

/** Consumer lag per partition as last published (for the status page). */
export const currentLag = Effect.map(Metric.snapshot, (snapshots) =>
  snapshots.flatMap((s) =>
    s.id === consumerLag.id && s.type === "Gauge" && s.attributes !== undefined
      ? [{ topic: String(s.attributes["topic"]), partition: Number(s.attributes["partition"]), records: Number((s.state as Metric.GaugeState<number>).value) }]
      : []))
