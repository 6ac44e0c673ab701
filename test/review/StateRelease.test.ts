/**
 * State that grows with reviews is held only while needed: a finished job keeps its
 * per-job state and compact fingerprints of its ids; retention then removes it all,
 * and the changelog says so with tombstones (a few per job: per-review state is written
 * in chunks per job and batch).
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { analysisRecord, transformReview } from "../support/Arbitraries.ts"
import { newBook } from "../support/Book.ts"

const N = 5_000

/** Keys whose last changelog record is a value: what a compacted changelog still holds. */
const liveKeys = (changelog: ReadonlyArray<{ readonly key: unknown; readonly value: unknown }>, prefix: string) => {
  const last = new Map<string, boolean>()
  for (const r of changelog) if (String(r.key).startsWith(prefix)) last.set(String(r.key), r.value !== null)
  return [...last].filter(([, live]) => live).map(([key]) => key)
}

describe("per-review state", () => {
  it("is released when the job finishes and the job itself after JOB_RETENTION_MS", () => {
    const book = newBook({ jobRetentionMs: 1_000 })
    const reviews = book.harness.store(book.specs.reviews)
    const frozen = book.harness.store(book.specs.frozen)
    book.control({ job_id: "big", status: "done", step: "collection", expected_count: N })
    fc.sample(transformReview("big", fc.constant("")), N).forEach((r, i) => book.transform({ ...r, review_id: `r${i}` }))
    book.endBatch(0)
    expect(reviews.size).toBe(N)
    expect(book.pendingJoins).toBe(N)
    expect(liveKeys(book.harness.changelog, "review|").length, "the index of a batch is one record per job").toBe(1)
    const joinChunks = liveKeys(book.harness.changelog, "join|").length
    expect(joinChunks > 0 && joinChunks < N / 50, `waiting join sides are a few chunks (size-bound), not one record each: ${joinChunks}`).toBe(true)
    fc.sample(analysisRecord("big", fc.constant("")), N).forEach((a, i) => book.analysis({ ...a, review_id: `r${i}` }))
    const { changelog } = book.endBatch(1)
    const job = book.job("big")!
    expect(job.stages.ended).toMatchObject({ stage: "aggregation", status: "done" })
    expect(reviews.size, "live review index released").toBe(0)
    expect(book.pendingJoins, "join buffers released").toBe(0)
    const fingerprints = [...frozen.group("big")]
    expect(fingerprints.reduce((n, [[, side], set]) => n + (side === "transform" ? set.size : 0), 0)).toBe(N)
    expect(fingerprints.reduce((n, [, set]) => n + set.byteLength, 0), "8 bytes per counted id and side").toBe(16 * N)
    const tombstones = changelog.filter((r) => r.value === null && String(r.key).startsWith("review|"))
    expect(tombstones, "one tombstone per chunk, not per review").toHaveLength(1)
    expect(liveKeys(book.harness.changelog, "review|"), "nothing of the index is left in the compacted changelog").toEqual([])
    expect(liveKeys(book.harness.changelog, "join|"), "nor of the join buffers").toEqual([])
    const restarted = book.harness.restart()
    expect(restarted.skipped).toBe(0)
    expect(book.harness.store(book.specs.reviews).size, "a restart restores no index").toBe(0)
    expect(book.pendingJoins, "nor join buffers").toBe(0)
    book.tick(500)
    expect(book.job("big")).toBeDefined()
    const evicted = book.tick(1_001)
    expect(book.job("big")).toBeUndefined()
    expect(book.harness.store(book.specs.frozen).size).toBe(0)
    expect(evicted.changelog.filter((r) => r.value === null).map((r) => String(r.key))).toContain("job|big")
  })
})
