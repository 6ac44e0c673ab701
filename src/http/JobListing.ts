/**
 * The order and pages in which jobs are listed (GET /jobs and the status page): running
 * jobs first, newest first, then finished jobs, most recently finished first. Jobs are
 * kept for JOB_RETENTION_MS, so lists are paged and only a page is rendered.
 */
import type { Job } from "../review/Job.ts"

export const defaultLimit = 50
export const maxLimit = 500

const byListingOrder = (a: Job, b: Job): number => {
  const aRunning = a.stages.ended === undefined
  const bRunning = b.stages.ended === undefined
  if (aRunning !== bRunning) return aRunning ? -1 : 1
  const aAt = aRunning ? a.firstSeenAt : a.finishedAt ?? a.stages.ended!.at
  const bAt = bRunning ? b.firstSeenAt : b.finishedAt ?? b.stages.ended!.at
  return bAt - aAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0)
}

export const listingOrder = (jobs: Iterable<Job>): Array<Job> => [...jobs].sort(byListingOrder)

export interface PageRequest {
  readonly limit: number
  readonly offset: number
}

/** Reads `limit` and `offset` query parameters; a bad value is an error message for a 400. */
export const pageRequest = (params: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>): PageRequest | string => {
  const read = (name: string, fallback: number, max: number): number | string => {
    const raw = params[name]
    if (raw === undefined) return fallback
    const text = typeof raw === "string" ? raw : raw[0] ?? ""
    const n = Number(text)
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) return `${name} must be a non-negative integer, got '${text}'`
    return Math.min(n, max)
  }
  const limit = read("limit", defaultLimit, maxLimit)
  const offset = read("offset", 0, Number.MAX_SAFE_INTEGER)
  if (typeof limit === "string") return limit
  if (typeof offset === "string") return offset
  if (limit === 0) return "limit must be at least 1"
  return { limit, offset }
}

export interface JobPage<A> {
  readonly total: number
  readonly running: number
  readonly offset: number
  readonly limit: number
  readonly jobs: ReadonlyArray<A>
}

/** One page of the jobs in listing order, each rendered with `render`. */
export const jobPage = <A>(jobs: Iterable<Job>, request: PageRequest, render: (job: Job) => A): JobPage<A> => {
  const ordered = listingOrder(jobs)
  let running = 0
  for (const job of ordered) if (job.stages.ended === undefined) running++
  return {
    total: ordered.length,
    running,
    offset: request.offset,
    limit: request.limit,
    jobs: ordered.slice(request.offset, request.offset + request.limit).map(render)
  }
}
