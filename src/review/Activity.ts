/** What a batch or tick of the JobBook did besides its output records; feeds metrics, tracing and the changelog. */
import type { Job } from "./Job.ts"
import type { Decision } from "./JobLifecycle.ts"


export interface Activity {
  duplicates: number
  lateRecords: number
  /** Distinct usable records counted, per side. */
  counted: { transform: number; analysis: number }
  readonly changedJobs: Set<string>
  readonly evictedJobs: Map<string, Job>
  readonly finished: Array<{ readonly jobId: string; readonly decision: Decision }>
  /** Review ids whose index flags changed, per job. */
  readonly changedReviews: Map<string, Set<string>>
  /** Join keys whose buffered sides changed (added, joined or closed). */
  readonly changedJoinKeys: Set<string>
  /** Review ids released when their job finished, per job. */
  readonly releasedReviews: Map<string, ReadonlyArray<string>>
}

export const newActivity = (): Activity => ({
  duplicates: 0,
  lateRecords: 0,
  counted: { transform: 0, analysis: 0 },
  changedJobs: new Set(),
  evictedJobs: new Map(),
  finished: [],
  changedReviews: new Map(),
  changedJoinKeys: new Set(),
  releasedReviews: new Map()
})

