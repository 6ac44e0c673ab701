/** What the review task tells its observers (metrics, logs, tracing) about a handled event. */
import type { CountedStep } from "./Job.ts"
import type { Step } from "./schema/ControlRecord.ts"

export type ReviewEvent =
  | { readonly _tag: "Counted"; readonly step: CountedStep }
  | { readonly _tag: "Duplicate" }
  | { readonly _tag: "Late" }
  /** Jobs whose state changed in the event (their stage spans may need to follow). */
  | { readonly _tag: "JobsChanged"; readonly jobIds: ReadonlyArray<string> }
  | {
    readonly _tag: "JobFinished"
    readonly jobId: string
    readonly step: Step
    readonly status: "done" | "failed" | "timeout"
    readonly reason: string | undefined
    readonly expected: number | undefined
    readonly actual: number
  }

// Per-record events are shared constants: counting a record allocates nothing.
export const counted: Readonly<Record<CountedStep, ReviewEvent>> = {
  transform: { _tag: "Counted", step: "transform" },
  analysis: { _tag: "Counted", step: "analysis" }
}
export const duplicate: ReviewEvent = { _tag: "Duplicate" }
export const late: ReviewEvent = { _tag: "Late" }
