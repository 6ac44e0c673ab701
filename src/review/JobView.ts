/** A job as the HTTP surface shows it: stage statuses, counts and the current aggregate. */
import { usable, type Job } from "./Job.ts"
import { renderAggregate, type JobAggregate } from "./stats/JobAggregate.ts"

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())

export interface JobView {
  readonly job_id: string
  readonly outcome: string
  readonly expected_count: number | null
  readonly first_seen_at: string | null
  readonly finished_at: string | null
  readonly traceparent: string
  readonly stages: Record<string, { status: string; started_at: string | null; deadline: string | null; ended_at: string | null; message: string | null }>
  readonly counts: Record<"transform" | "analysis", { usable: number; invalid: number; duplicates: number }>
  readonly aggregate: JobAggregate
}

export const outcomeOf = (job: Job): string => {
  const ended = job.stages.ended
  if (ended !== undefined) return ended.status === "done" ? "done" : `${ended.stage} ${ended.status}`
  return `running: ${job.stages.order.find((s) => job.stages.states[s].status === "running") ?? "?"}`
}

export const jobView = (job: Job, now: number): JobView => ({
  job_id: job.jobId,
  outcome: outcomeOf(job),
  expected_count: job.expected ?? null,
  first_seen_at: iso(job.firstSeenAt),
  finished_at: iso(job.finishedAt),
  traceparent: job.traceparent,
  stages: Object.fromEntries(job.stages.order.map((s) => {
    const st = job.stages.states[s]
    return [s, { status: st.status, started_at: iso(st.startedAt), deadline: st.status === "running" ? iso(st.deadline) : null, ended_at: iso(st.endedAt), message: st.message ?? null }]
  })),
  counts: {
    transform: { usable: usable(job, "transform"), invalid: job.quality.transform.invalid, duplicates: job.quality.transform.duplicates },
    analysis: { usable: usable(job, "analysis"), invalid: job.quality.analysis.invalid, duplicates: job.quality.analysis.duplicates }
  },
  aggregate: renderAggregate(job.jobId, job.stats, job.stages.ended !== undefined, new Date(now))
})
