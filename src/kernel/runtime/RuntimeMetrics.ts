/**
 * What the runtime measures of every task, as Effect metrics (served by whatever exports
 * the application's metrics): store sizes, restore progress, batch handling time, the
 * active clock, and where the consuming loop's time goes besides handling (its waits,
 * its write steps). Names carry the application's prefix; every series exists from the
 * start (a write step's once it has run).
 */
import { Effect, Metric } from "effect"
import type { WriteStep } from "./StreamProcessor.ts"
import type { RestoreReport } from "./TaskRestore.ts"

export const make = (prefix: string) => {
  const storeEntries = Metric.gauge(`${prefix}_store_entries`, {
    description: "Entries held in each state store of each task",
    attributes: { unit: "{entry}" }
  })
  const restoreRecords = Metric.counter(`${prefix}_restore_records_total`, {
    description: "Changelog records read at restore, by outcome (applied, skipped: undecodable, torn: dropped from an event cut short)",
    incremental: true,
    attributes: { unit: "{record}" }
  })
  const restoring = Metric.gauge(`${prefix}_restoring_tasks`, {
    description: "Tasks whose state is being restored (readiness waits for 0)",
    attributes: { unit: "{task}" }
  })
  const batchSeconds = Metric.histogram(`${prefix}_batch_processing_seconds`, {
    description: "Time to handle one batch in memory (decode, state, outputs), before writing it",
    boundaries: Metric.exponentialBoundaries({ start: 0.0005, factor: 2, count: 16 }),
    attributes: { unit: "s" }
  })
  const activeSeconds = Metric.gauge(`${prefix}_active_time_seconds`, {
    description: "Each task's active clock: time caught up with its inputs (deadlines run on it)",
    attributes: { unit: "s" }
  })
  const waitSeconds = Metric.counter(`${prefix}_wait_seconds_total`, {
    description: "Time the consuming loop waited, by what for: input (nothing to handle: no batch fetched, or a partition holding the cut back) or write (the previous write still under way). Beside batch_processing_seconds, it tells whether the member is bound by its input, its writes or its CPU",
    incremental: true,
    attributes: { unit: "s" }
  })
  const writeStepSeconds = Metric.histogram(`${prefix}_write_step_seconds`, {
    description: "Time of each attempt of a write step (outputs, changelog, commit; transaction under exactly_once_v2), from the call to the broker's answer as the event loop sees it",
    boundaries: Metric.exponentialBoundaries({ start: 0.0005, factor: 2, count: 16 }),
    attributes: { unit: "s" }
  })
  const pausedPartitions = Metric.gauge(`${prefix}_paused_input_partitions`, {
    description: "Input partitions this member does not fetch for now: read more than MAX_TASK_LEAD_MS of record time ahead of the slowest one with unread records",
    attributes: { unit: "{partition}" }
  })

  const outcomes = ["applied", "skipped", "torn"] as const
  const waits = ["input", "write"] as const

  return {
    /** Every series at 0 before anything happened. */
    register: (task: string, stores: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        for (const store of stores) yield* Metric.update(Metric.withAttributes(storeEntries, { task, store }), 0)
        for (const outcome of outcomes) yield* Metric.update(Metric.withAttributes(restoreRecords, { task, outcome }), 0)
        yield* Metric.update(Metric.withAttributes(restoring, { task }), 0)
        yield* Metric.value(batchSeconds)
      }),
    restoring: (task: string, count: number) => Metric.update(Metric.withAttributes(restoring, { task }), count),
    restored: (task: string, report: RestoreReport) =>
      Effect.gen(function*() {
        const applied = report.records - report.skipped - report.torn
        yield* Metric.update(Metric.withAttributes(restoreRecords, { task, outcome: "applied" }), applied)
        yield* Metric.update(Metric.withAttributes(restoreRecords, { task, outcome: "skipped" }), report.skipped)
        yield* Metric.update(Metric.withAttributes(restoreRecords, { task, outcome: "torn" }), report.torn)
      }),
    /** A task this member no longer holds: its gauges read 0 (its counters keep what they counted). */
    dropped: (task: string, stores: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        for (const store of stores) yield* Metric.update(Metric.withAttributes(storeEntries, { task, store }), 0)
        yield* Metric.update(Metric.withAttributes(restoring, { task }), 0)
        yield* Metric.update(Metric.withAttributes(activeSeconds, { task }), 0)
      }),
    batchHandled: (seconds: number) => Metric.update(batchSeconds, seconds),
    /** Both wait series at 0 (once per runtime: they are the member's, not a task's). */
    registerWaits: Effect.forEach(waits, (what) => Metric.update(Metric.withAttributes(waitSeconds, { what }), 0), { discard: true }),
    waited: (what: (typeof waits)[number], seconds: number) => Metric.update(Metric.withAttributes(waitSeconds, { what }), seconds),
    writeStep: (step: WriteStep, seconds: number) => Metric.update(Metric.withAttributes(writeStepSeconds, { step }), seconds),
    /** The member's input partitions paused by flow control (0 from the start). */
    pausedPartitions: (count: number) => Metric.update(pausedPartitions, count),
    state: (task: string, stores: ReadonlyArray<{ readonly name: string; readonly size: number }>, activeMs: number) =>
      Effect.gen(function*() {
        for (const s of stores) yield* Metric.update(Metric.withAttributes(storeEntries, { task, store: s.name }), s.size)
        yield* Metric.update(Metric.withAttributes(activeSeconds, { task }), activeMs / 1000)
      })
  }
}

/** The metrics of one runtime, by name prefix. */
export type RuntimeMetrics = ReturnType<typeof make>
