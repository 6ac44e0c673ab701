/**
 * What one run of one case on one path measured, as the suite's JSON document carries it,
 * and the figures derived from the raw counts (rates, per-record and per-review values).
 */
import type { CaseName, ModeName, PathName } from "./BenchArgs.ts"
import type { CaseSize, InputTally } from "./BenchCase.ts"

export interface Throughput {
  readonly seconds: number
  readonly recordsPerSecond: number
  readonly cpuMicrosPerRecord: number
}

export interface RunResult {
  readonly path: PathName
  /** On the wire: the service's PARTITION_ASSIGNMENT (in process the review task runs alone). */
  readonly mode?: ModeName
  readonly case: CaseName
  readonly size: CaseSize
  readonly input: InputTally & { readonly partitions?: number }
  /** The review service: the task in process, or the service process on the wire. */
  readonly service: Throughput & {
    /** Transform and analysis messages the service read (on the wire: its records_in_total of those topics). */
    readonly messagesRead: number
    /** RSS when the measured part began (in process: before the first batch; wire: at the first records read). */
    readonly baselineRssBytes: number
    readonly peakRssBytes: number
    readonly rssSamples: number
    /** The kernel's high-water mark of the process's RSS (maxRSS / VmHWM), whole life. */
    readonly maxRssBytes: number
    /** On the wire: where the review task's consuming loop spent the timed part (its /metrics). */
    readonly loop?: LoopSplit | undefined
  }
  readonly floor: Throughput & {
    readonly what: string
    /** Transform and analysis messages the floor read. */
    readonly messagesRead: number
    /** Review records the floor counted (in process: envelope elements too; on the wire: not decoded, so 0). */
    readonly recordsCounted: number
  }
  /** service records/s over floor records/s. */
  readonly ratio: number
  readonly changelog: {
    readonly topics: ReadonlyArray<string>
    /** On the wire: partitions of the changelog topics (enough that the mock keeps most records). */
    readonly partitions?: number
    /** On the wire: each store's share of the changelog bytes (by key prefix), largest first. */
    readonly shareByStore?: Readonly<Record<string, number>>
    readonly records: number
    readonly bytes: number
    readonly recordsPerReview: number
    readonly bytesPerReview: number
    readonly bytesPerInputByte: number
    /** On the wire, when the mock cluster dropped old records: bytes extrapolated from those kept. */
    readonly bytesExtrapolated: boolean
  }
  readonly outcome: {
    readonly jobs: number
    /** Jobs per final `step/status` the service wrote. */
    readonly statuses: Readonly<Record<string, number>>
  }
  /**
   * In process only: heap after full GCs, at the start, halfway through the input (jobs
   * still running: what their per-review state costs), when the jobs finished, after retention.
   */
  readonly heap?: {
    readonly baselineBytes: number
    readonly halfwayBytes: number
    /** Reviews whose analysis record had been handled at the halfway measurement. */
    readonly halfwayReviews: number
    readonly afterFinishBytes: number
    readonly afterEvictionBytes: number
    readonly evicted: boolean
  }
}

/**
 * The review task's consuming loop over a run: events handled and the seconds handling
 * them (before their writes), waiting for input and for the previous write, and the
 * seconds of each write step (which run beside the handling of the next event).
 */
export interface LoopSplit {
  readonly events: number
  readonly handlingSeconds: number
  readonly inputWaitSeconds: number
  readonly writeWaitSeconds: number
  readonly writeStepSeconds: { readonly outputs: number; readonly changelog: number; readonly commit: number }
}

/** The messages of the review inputs (the control topic also holds what the service writes). */
export const reviewMessages = (input: InputTally): number => input.perTopic.transform.messages + input.perTopic.analysis.messages

export const throughput = (records: number, seconds: number, cpuMicros: number): Throughput => ({
  seconds,
  recordsPerSecond: seconds > 0 ? records / seconds : 0,
  cpuMicrosPerRecord: records > 0 ? cpuMicros / records : 0
})

export const changelogFigures = (
  topics: ReadonlyArray<string>,
  records: number,
  bytes: number,
  size: CaseSize,
  input: InputTally,
  bytesExtrapolated: boolean
): RunResult["changelog"] => ({
  topics,
  records,
  bytes,
  recordsPerReview: records / size.reviews,
  bytesPerReview: bytes / size.reviews,
  bytesPerInputByte: bytes / input.bytes,
  bytesExtrapolated
})

/** The job's final status as the service writes it to the control topic, or undefined for another message. */
export const finalStatus = (control: { readonly step?: unknown; readonly status?: unknown }): string | undefined =>
  control.step === "aggregation" || control.status === "failed" || control.status === "timeout"
    ? `${String(control.step)}/${String(control.status)}`
    : undefined
