/**
 * What the review aggregator persists to its compacted changelog after each batch or
 * tick, and how a JobBook is rebuilt from it. Keys:
 *   job|<job>                 job snapshot (lifecycle, stats, quality)
 *   review|["<job>","<review>"]  index flags of one review while the job runs
 *   join|["<job>","<review>"]    buffered join sides with their source bytes
 *   frozen|<job>|<side>|<n>   fingerprint chunks of a finished job
 * Two ids in one key are JSON-encoded so no pair of ids can share a key (ids may contain
 * `|`). Values carry their ids, so nothing is parsed out of keys.
 */
import type { OutgoingRecord } from "../kernel/kafka/KafkaPort.ts"
import type { BufferedKey } from "../kernel/join/SessionJoin.ts"
import * as Changelog from "../kernel/state/Changelog.ts"
import { FingerprintSet } from "../kernel/state/FingerprintSet.ts"
import type { SourceRef } from "../kernel/source/DeadLetter.ts"
import type { Job } from "./Job.ts"
import { reviewKey } from "./JoinedRow.ts"
import type { Activity } from "./Activity.ts"
import type { Held, JobBook, Left, Right } from "./JobBook.ts"
import { decodeSnapshot, encodeSnapshot } from "./JobSnapshot.ts"

const CHUNK = 50_000
type Side = "transform" | "analysis"
const sides: ReadonlyArray<Side> = ["transform", "analysis"]

const chunkCount = (set: FingerprintSet) => Math.ceil(set.size / CHUNK)

const b64 = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString("base64"))
const unb64 = (s: string | null) => (s === null ? null : new Uint8Array(Buffer.from(s, "base64")))

interface EncodedSource {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly headers: SourceRef["headers"]
  readonly value: { readonly text: string } | { readonly bytes: string | null }
  readonly index: number | null
}

const encodeSource = (s: SourceRef): EncodedSource => ({
  ...s,
  key: b64(s.key),
  value: typeof s.value === "string" ? { text: s.value } : { bytes: b64(s.value) },
  index: s.index ?? null
})
const decodeSource = (s: EncodedSource): SourceRef => ({
  ...s,
  key: unb64(s.key),
  value: "text" in s.value ? s.value.text : unb64(s.value.bytes),
  index: s.index ?? undefined
})

const encodeHeld = <V>(p: { readonly value: Held<V>; readonly recordTimestamp: number } | undefined) =>
  p === undefined ? null : { value: p.value.value, source: encodeSource(p.value.source), recordTimestamp: p.recordTimestamp }
const decodeHeld = <V>(p: ReturnType<typeof encodeHeld<V>>) =>
  p === null ? undefined : { value: { value: p.value, source: decodeSource(p.source) }, recordTimestamp: p.recordTimestamp }

export const changelogRecords = (topic: string, book: JobBook, activity: Activity): ReadonlyArray<OutgoingRecord> => {
  const out: Array<OutgoingRecord> = []
  for (const jobId of activity.changedJobs) {
    const job = book.job(jobId)
    if (job === undefined) continue
    const frozen = job.frozen === undefined ? null : { transform: chunkCount(job.frozen.transform), analysis: chunkCount(job.frozen.analysis) }
    out.push(Changelog.put(topic, `job|${jobId}`, encodeSnapshot(job, frozen)))
  }
  for (const [jobId, reviewIds] of activity.changedReviews) {
    const reviews = book.job(jobId)?.reviews
    if (reviews === undefined) continue
    for (const id of reviewIds) out.push(Changelog.put(topic, `review|${reviewKey(jobId, id)}`, JSON.stringify([jobId, id, reviews.get(id) ?? 0])))
  }
  for (const [jobId, reviewIds] of activity.releasedReviews) {
    for (const id of reviewIds) out.push(Changelog.remove(topic, `review|${reviewKey(jobId, id)}`))
    const frozen = book.job(jobId)?.frozen
    if (frozen === undefined) continue
    for (const side of sides) {
      const bytes = frozen[side].toBytes()
      for (let i = 0; i < chunkCount(frozen[side]); i++) {
        const chunk = Buffer.from(bytes.buffer, bytes.byteOffset + i * CHUNK * 8, Math.min(CHUNK * 8, bytes.byteLength - i * CHUNK * 8))
        out.push(Changelog.put(topic, `frozen|${jobId}|${side}|${i}`, JSON.stringify([jobId, side, i, chunk.toString("base64")])))
      }
    }
  }
  for (const key of activity.changedJoinKeys) {
    const buffered = book.joinState(key)
    out.push(buffered === undefined
      ? Changelog.remove(topic, `join|${key}`)
      : Changelog.put(topic, `join|${key}`, JSON.stringify({ key, group: buffered.group, lastActivity: buffered.lastActivity, left: encodeHeld(buffered.left), right: encodeHeld(buffered.right) })))
  }
  for (const [jobId, job] of activity.evictedJobs) {
    out.push(Changelog.remove(topic, `job|${jobId}`))
    for (const side of sides) {
      const n = job.frozen === undefined ? 0 : chunkCount(job.frozen[side])
      for (let i = 0; i < n; i++) out.push(Changelog.remove(topic, `frozen|${jobId}|${side}|${i}`))
    }
  }
  return out
}

/** Rebuilds jobs (with their live index or frozen ids) and join buffers from compacted changelog entries. */
export const restoreFrom = (book: JobBook, entries: ReadonlyMap<string, string>, now: number): { readonly jobs: number; readonly joins: number } => {
  const snapshots = new Map<string, ReturnType<typeof decodeSnapshot>>()
  const reviews = new Map<string, Map<string, number>>()
  const chunks = new Map<string, Array<readonly [number, Buffer]>>()
  const joins: Array<readonly [string, BufferedKey<Left, Right>]> = []
  for (const [key, value] of entries) {
    const kind = key.slice(0, key.indexOf("|"))
    if (kind === "job") {
      const s = decodeSnapshot(value)
      snapshots.set(s.job.jobId, s)
    } else if (kind === "review") {
      const [jobId, reviewId, flags] = JSON.parse(value) as [string, string, number]
      let index = reviews.get(jobId)
      if (index === undefined) reviews.set(jobId, index = new Map())
      index.set(reviewId, flags)
    } else if (kind === "frozen") {
      const [jobId, side, i, data] = JSON.parse(value) as [string, Side, number, string]
      const k = `${jobId}|${side}`
      chunks.set(k, [...(chunks.get(k) ?? []), [i, Buffer.from(data, "base64")]])
    } else if (kind === "join") {
      const j = JSON.parse(value)
      joins.push([j.key, { group: j.group, lastActivity: j.lastActivity, left: decodeHeld(j.left), right: decodeHeld(j.right) }])
    }
  }
  const frozenSide = (jobId: string, side: Side) => {
    const parts = (chunks.get(`${jobId}|${side}`) ?? []).slice().sort(([a], [b]) => a - b).map(([, b]) => b)
    return FingerprintSet.fromBytes(Buffer.concat(parts))
  }
  const jobs: Array<Job> = [...snapshots.values()].map(({ job, frozenChunks }) =>
    frozenChunks === null
      ? { ...job, reviews: reviews.get(job.jobId) ?? new Map(), frozen: undefined }
      : { ...job, reviews: undefined, frozen: { transform: frozenSide(job.jobId, "transform"), analysis: frozenSide(job.jobId, "analysis") } }
  )
  book.restore(jobs, joins, now)
  return { jobs: jobs.length, joins: joins.length }
}
