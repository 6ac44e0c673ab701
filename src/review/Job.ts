/**
 * One job's state: its stages, its statistics (an immutable monoid value) and its data
 * quality. An immutable value; the per-review index lives in a store of its own.
 * Counts that decide the lifecycle are derived from the statistics, never kept twice.
 */
import * as OrderedStages from "../kernel/lifecycle/OrderedStages.ts"
import { Steps, type Status, type Step } from "./schema/ControlRecord.ts"
import { JobStats } from "./stats/JobAggregate.ts"

export type CountedStep = "transform" | "analysis"

export interface StepQuality {
  /** Distinct records of this step that could not be used. */
  readonly invalid: number
  readonly duplicates: number
  readonly firstInvalid: string | undefined
}

export interface Job {
  readonly jobId: string
  readonly firstSeenAt: number
  /** W3C traceparent of the job's trace; every output of the job carries it. */
  readonly traceparent: string
  readonly expected: number | undefined
  readonly stages: OrderedStages.Stages<Step>
  readonly stats: JobStats
  readonly quality: Readonly<Record<CountedStep, StepQuality>>
  readonly upstreamFailure: { readonly step: Step; readonly status: Exclude<Status, "done">; readonly message: string } | undefined
  /** Changed since its aggregate was last published. */
  readonly unpublished: boolean
  readonly finishedAt: number | undefined
}

const noQuality: StepQuality = { invalid: 0, duplicates: 0, firstInvalid: undefined }

/** `activeTime`: the clock deadlines are measured on (see JobLifecycle). */
export const newJob = (jobId: string, now: number, timeoutMs: number, traceparent: string, activeTime = now): Job => ({
  jobId,
  firstSeenAt: now,
  traceparent,
  expected: undefined,
  stages: OrderedStages.start(Steps, now, timeoutMs, activeTime),
  stats: JobStats.initialValue,
  quality: { transform: noQuality, analysis: noQuality },
  upstreamFailure: undefined,
  unpublished: false,
  finishedAt: undefined
})

export const usable = (job: Job, step: CountedStep): number =>
  step === "transform" ? job.stats.transform.total : job.stats.analyzed

export const isFinished = (job: Job): boolean => job.stages.ended !== undefined

export const withQuality = (job: Job, step: CountedStep, f: (q: StepQuality) => StepQuality): Job =>
  ({ ...job, quality: { ...job.quality, [step]: f(job.quality[step]) } })
