/**
 * The service's metrics (SPEC 8), as Effect metrics: served as Prometheus text on
 * /metrics and exported over OTLP when telemetry is on. Names follow Prometheus
 * conventions (`_total` counters, base units).
 */
import { Effect, Metric } from "effect"
import type { OutgoingRecord, RecordBatch } from "../kernel/kafka/KafkaPort.ts"

const prefix = "review_aggregator"

export const recordsIn = Metric.counter(`${prefix}_records_in_total`, { description: "Kafka records consumed, by topic", incremental: true })
export const reviewsCounted = Metric.counter(`${prefix}_reviews_counted_total`, { description: "Distinct usable reviews counted, by side (rate() gives reviews/s)", incremental: true })
export const recordToAggregateLatency = Metric.histogram(`${prefix}_record_to_aggregate_latency_seconds`, {
  description: "Time from a record's Kafka timestamp to its aggregate update",
  boundaries: Metric.exponentialBoundaries({ start: 0.005, factor: 2, count: 16 })
})
export const jobsFinished = Metric.counter(`${prefix}_jobs_finished_total`, { description: "Jobs finished, by deciding step and status", incremental: true })
export const jobCompletionRatio = Metric.gauge(`${prefix}_job_completion_ratio`, { description: "Share of finished jobs that completed (done) since start" })
export const jobCountAccuracy = Metric.histogram(`${prefix}_job_count_accuracy_ratio`, {
  description: "actual / expected distinct transform records of each finished job",
  boundaries: [0.5, 0.8, 0.9, 0.95, 0.99, 1, 1.01, 1.05, 1.1, 1.5]
})
export const dlqRecords = Metric.counter(`${prefix}_dlq_records_total`, { description: "Dead-lettered records, by error type", incremental: true })
export const duplicates = Metric.counter(`${prefix}_duplicates_total`, { description: "Repeated review ids (counted once)", incremental: true })
export const lateRecords = Metric.counter(`${prefix}_late_records_total`, { description: "New reviews for finished jobs", incremental: true })
export const consumerLag = Metric.gauge(`${prefix}_consumer_lag_records`, { description: "High watermark minus next offset, by topic and partition" })
export const stateJobs = Metric.gauge(`${prefix}_state_jobs`, { description: "Jobs held in state, by phase" })
export const statePendingJoins = Metric.gauge(`${prefix}_state_pending_join_keys`, { description: "Join keys waiting for their other side" })

export interface BatchObservation {
  readonly batch: RecordBatch | undefined
  readonly now: number
  readonly outputs: ReadonlyArray<OutgoingRecord>
  readonly dlqTopic: string
  readonly counted: { readonly transform: number; readonly analysis: number }
  readonly duplicates: number
  readonly lateRecords: number
  readonly finished: ReadonlyArray<{ readonly step: string; readonly status: string; readonly expected: number | undefined; readonly actual: number }>
  /** Sizes of the state, when they were measured for this observation. */
  readonly state: { readonly running: number; readonly finished: number; readonly pendingJoins: number } | undefined
}

/** An observer with its own tally of finished jobs (for the completion ratio). */
export const makeObserver = () => {
  let doneJobs = 0
  let finishedJobs = 0
  return (o: BatchObservation) => Effect.gen(function*() {
    if (o.batch !== undefined && o.batch.records.length > 0) {
      const { topic, partition, records } = o.batch
      yield* Metric.update(Metric.withAttributes(recordsIn, { topic }), records.length)
      for (const r of records) yield* Metric.update(recordToAggregateLatency, Math.max(0, (o.now - r.timestamp) / 1000))
      if (o.batch.highWatermark !== undefined) {
        const next = records[records.length - 1]!.offset + 1
        yield* Metric.update(Metric.withAttributes(consumerLag, { topic, partition: String(partition) }), Math.max(0, o.batch.highWatermark - next))
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
  })
}
