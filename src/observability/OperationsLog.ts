/**
 * What an operator reads in the logs: one line per job outcome (done, failed, timeout)
 * with its reason and counts, and dead-lettering summarized: at most one line per
 * interval, with counts per error type and source topic.
 */
import { Context, Effect } from "effect"
import type { OutgoingRecord } from "../kernel/kafka/KafkaPort.ts"

/**
 * Whether these lines are written: on in the service (Logging.withServiceLogging turns
 * it on), off by default so the replay and demo commands keep their own console output.
 */
export const OperationsLogEnabled = Context.Reference<boolean>("review-aggregator/OperationsLogEnabled", { defaultValue: () => false })

export interface FinishedJob {
  readonly jobId: string
  readonly step: string
  readonly status: string
  readonly reason: string | undefined
  readonly expected: number | undefined
  readonly actual: number
}

export interface Observation {
  readonly now: number
  readonly outputs: ReadonlyArray<OutgoingRecord>
  readonly dlqTopic: string
  readonly finished: ReadonlyArray<FinishedJob>
}

/** Dead letters per source topic, then per error type. */
export type DeadLetterCounts = Record<string, Record<string, number>>

export const jobOutcome = (job: FinishedJob) => {
  const counts = `${job.actual}${job.expected === undefined ? "" : `/${job.expected}`} reviews`
  const message = job.status === "done"
    ? `job ${job.jobId} done (${counts})`
    : `job ${job.jobId} ${job.status} at ${job.step} (${counts})${job.reason === undefined ? "" : `: ${job.reason}`}`
  const log = job.status === "done" ? Effect.logInfo(message) : Effect.logWarning(message)
  return log.pipe(Effect.annotateLogs({
    event: "job_finished",
    job_id: job.jobId,
    step: job.step,
    status: job.status,
    ...(job.reason === undefined ? {} : { reason: job.reason }),
    ...(job.expected === undefined ? {} : { expected_count: job.expected }),
    actual_count: job.actual
  }))
}

const deadLetterSummary = (counts: DeadLetterCounts, total: number, sinceMs: number | undefined) =>
  Effect.logWarning(`dead-lettered ${total} record${total === 1 ? "" : "s"}`).pipe(Effect.annotateLogs({
    event: "dead_letters",
    total,
    by_source_topic: counts,
    ...(sinceMs === undefined ? {} : { window_seconds: Math.round(sinceMs / 1000) })
  }))

/**
 * A log writer with its own DLQ tally. The first dead letter after a quiet interval is
 * reported at once; later ones wait for the interval to pass (checked on every
 * observation, and the pipeline observes at least on each clock tick).
 */
export const makeOperationsLog = (dlqSummaryIntervalMs = 60_000) => {
  let pending: DeadLetterCounts = {}
  let pendingTotal = 0
  let lastSummaryAt = Number.NEGATIVE_INFINITY
  return (o: Observation) => Effect.gen(function*() {
    if (!(yield* OperationsLogEnabled)) return
    for (const job of o.finished) yield* jobOutcome(job)
    for (const r of o.outputs) {
      if (r.topic !== o.dlqTopic) continue
      const source = r.headers?.["dlq.source.topic"] ?? "unknown"
      const type = r.headers?.["dlq.error.type"] ?? "unknown"
      const bySource = (pending[source] ??= {})
      bySource[type] = (bySource[type] ?? 0) + 1
      pendingTotal++
    }
    if (pendingTotal > 0 && o.now - lastSummaryAt >= dlqSummaryIntervalMs) {
      yield* deadLetterSummary(pending, pendingTotal, Number.isFinite(lastSummaryAt) ? o.now - lastSummaryAt : undefined)
      pending = {}
      pendingTotal = 0
      lastSummaryAt = o.now
    }
  })
}
