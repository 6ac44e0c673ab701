/**
 * SPEC 5.3/5.4 rules: when each step of a job is done, failed or timed out. Pure: takes
 * a job and the time, returns the job with its stages moved on and what was decided.
 */
import * as OrderedStages from "../kernel/lifecycle/OrderedStages.ts"
import { usable, type CountedStep, type Job } from "./Job.ts"
import type { Step } from "./schema/ControlRecord.ts"

export type Decision =
  | { readonly _tag: "StepDone"; readonly step: CountedStep }
  | { readonly _tag: "JobDone" }
  | { readonly _tag: "JobFailed"; readonly step: Step; readonly status: "failed" | "timeout"; readonly reason: string }

const countedSteps: ReadonlyArray<CountedStep> = ["transform", "analysis"]

/**
 * A count that can no longer come right: above expected (checked for every counted step,
 * done or not), or short because of unusable records (checked for the running step only,
 * so that steps fail in order and the outcome does not depend on which topic is read first).
 */
const countFailure = (job: Job, step: CountedStep, expected: number, runningStep: Step): string | undefined => {
  const actual = usable(job, step)
  if (actual > expected && job.stages.states[step].status !== "waiting") return `expected ${expected} ${step} records, got ${actual}`
  if (step !== runningStep) return undefined
  const q = job.quality[step]
  if (q.invalid > 0 && actual + q.invalid >= expected) {
    return `data quality: ${q.invalid} invalid records (first: ${q.firstInvalid ?? "unknown"})`
  }
  return undefined
}

/**
 * `now` stamps what is decided. `decisionTime` (at most `now`) is how far the inputs have
 * been read: a step completes only once everything is read, since a record not read yet
 * is not missing. `activeTime` is the clock deadlines are measured on (time spent down or
 * behind does not count).
 */
export const evaluate = (
  job: Job,
  now: number,
  timeoutMs: number,
  decisionTime = now,
  activeTime = decisionTime
): readonly [Job, ReadonlyArray<Decision>] => {
  let stages = job.stages
  const decisions: Array<Decision> = []
  const fail = (step: Step, status: "failed" | "timeout", reason: string) => {
    stages = OrderedStages.end(stages, step, status, reason, now)
    decisions.push({ _tag: "JobFailed", step, status, reason })
  }
  while (stages.ended === undefined) {
    const stage = OrderedStages.running(stages)
    const expected = job.expected
    if (stage === "collection" && expected !== undefined) {
      stages = OrderedStages.complete(stages, "collection", now, timeoutMs, activeTime)
      continue
    }
    if (job.upstreamFailure !== undefined) {
      fail(job.upstreamFailure.step, job.upstreamFailure.status, job.upstreamFailure.message)
      break
    }
    if (stage === undefined) break
    if (stage === "collection") {
      if (OrderedStages.overdue(stages, activeTime) !== undefined) {
        fail("collection", "timeout", `no collection done message within ${timeoutMs} ms of the job's first record`)
      }
      break
    }
    if (expected === undefined) break
    const failed = countedSteps.map((s) => [s, countFailure({ ...job, stages }, s, expected, stage)] as const).find(([, r]) => r !== undefined)
    if (failed !== undefined) {
      fail(failed[0], "failed", failed[1]!)
      break
    }
    if (stage === "aggregation") {
      stages = OrderedStages.complete(stages, "aggregation", now, timeoutMs, activeTime)
      decisions.push({ _tag: "JobDone" })
      break
    }
    // Completing a step makes later records of it late: only once everything that stood
    // in the inputs has been read, so the verdict does not depend on arrival order.
    if (usable(job, stage) === expected && decisionTime >= now) {
      stages = OrderedStages.complete(stages, stage, now, timeoutMs, activeTime)
      decisions.push({ _tag: "StepDone", step: stage })
      continue
    }
    if (OrderedStages.overdue(stages, activeTime) !== undefined) {
      fail(stage, "timeout", `deadline of ${timeoutMs} ms passed with ${usable(job, stage)} of ${expected} ${stage} records`)
    }
    break
  }
  return [stages === job.stages ? job : { ...job, stages }, decisions]
}
