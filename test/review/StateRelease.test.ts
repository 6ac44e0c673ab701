/**
 * State that grows with reviews is held only while needed: a finished job keeps its
 * per-job state and compact fingerprints of its ids; retention then removes it all,
 * and the changelog says so with tombstones.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { analysisRecord, transformReview } from "../support/Arbitraries.ts"
import { newBook } from "../support/Book.ts"

const N = 5_000

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
    expect(tombstones).toHaveLength(N)
    book.tick(500)
    expect(book.job("big")).toBeDefined()
    const evicted = book.tick(1_001)
    expect(book.job("big")).toBeUndefined()
    expect(frozen.size).toBe(0)
    expect(evicted.changelog.filter((r) => r.value === null).map((r) => String(r.key))).toContain("job|big")
  })
})
