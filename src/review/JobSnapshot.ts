/**
 * JSON form of a job's state for the changelog. Maps become entry arrays; the live
 * review index and the frozen fingerprints are stored under keys of their own (see
 * JobChangelog), so a snapshot stays small however many reviews a job has.
 */
import type { Job } from "./Job.ts"
import type { JobStats } from "./stats/JobAggregate.ts"
import type { KeywordStats, KeywordTags } from "./stats/KeywordStats.ts"
import type { TransformStats } from "./stats/TransformStats.ts"

export const SNAPSHOT_VERSION = 1

type Entries = ReadonlyArray<readonly [string, number]>

interface EncodedKeywordTags {
  readonly all: Entries
  readonly trial: Entries
  readonly regular: Entries
}

type EncodedStats = Omit<JobStats, "transform"> & {
  readonly transform: Omit<TransformStats, "keywords"> & { readonly keywords: ReadonlyArray<readonly [string, EncodedKeywordTags]> }
}

export interface JobSnapshot {
  readonly v: number
  readonly job: Omit<Job, "stats" | "reviews" | "frozen"> & { readonly stats: EncodedStats }
  /** Number of fingerprint chunks per side once finished. */
  readonly frozenChunks: { readonly transform: number; readonly analysis: number } | null
}

const encodeKeywords = (k: KeywordStats): EncodedStats["transform"]["keywords"] =>
  [...k].map(([keyword, tags]) => [keyword, { all: [...tags.all], trial: [...tags.trial], regular: [...tags.regular] }] as const)

const decodeKeywords = (k: EncodedStats["transform"]["keywords"]): KeywordStats =>
  new Map(k.map(([keyword, tags]): [string, KeywordTags] => [keyword, { all: new Map(tags.all), trial: new Map(tags.trial), regular: new Map(tags.regular) }]))

export const encodeSnapshot = (job: Job, frozenChunks: JobSnapshot["frozenChunks"]): string => {
  const { reviews: _reviews, frozen: _frozen, stats, ...rest } = job
  const snapshot: JobSnapshot = {
    v: SNAPSHOT_VERSION,
    job: { ...rest, stats: { ...stats, transform: { ...stats.transform, keywords: encodeKeywords(stats.transform.keywords) } } },
    frozenChunks
  }
  return JSON.stringify(snapshot, (_k, v) => (v === undefined ? null : v))
}

/** Undoes `encodeSnapshot`; `null`s written for absent optional fields become `undefined` again. */
export const decodeSnapshot = (text: string): { readonly job: Omit<Job, "reviews" | "frozen">; readonly frozenChunks: JobSnapshot["frozenChunks"] } => {
  const snapshot = JSON.parse(text, (_k, v) => (v === null ? undefined : v)) as JobSnapshot
  if (snapshot.v !== SNAPSHOT_VERSION) throw new Error(`unsupported job snapshot version ${snapshot.v}`)
  const { stats, ...rest } = snapshot.job
  return {
    job: { ...rest, stats: { ...stats, transform: { ...stats.transform, keywords: decodeKeywords(stats.transform.keywords) } } },
    frozenChunks: snapshot.frozenChunks ?? null
  }
}
