/**
 * Issue 3: state that grows with reviews is held only while needed. A finished job keeps
 * per-job state and compact fingerprints of its ids; retention then removes it all.
 */
import { describe, expect, it } from "@effect/vitest"
import { newBook, ok } from "../support/Book.ts"
import type { Decoded } from "../../src/kernel/source/TypedSource.ts"
import type { ControlRecordInput } from "../../src/review/schema/ControlRecord.ts"
import { transformReview, analysisRecord } from "../support/Arbitraries.ts"
import fc from "fast-check"

const N = 5_000

describe("per-review state", () => {
  it("is released when the job finishes and the job itself after JOB_RETENTION_MS", () => {
    const book = newBook({ jobRetentionMs: 1_000 })
    const collection: Decoded<ControlRecordInput> = ok({ job_id: "big", status: "done", step: "collection", expected_count: N })
    book.control(collection, 0)
    const transforms = fc.sample(transformReview("big", fc.constant("")), N).map((r, i) => ({ ...r, review_id: `r${i}` }))
    const analyses = fc.sample(analysisRecord("big", fc.constant("")), N).map((r, i) => ({ ...r, review_id: `r${i}` }))
    transforms.forEach((r) => book.transform(ok(r), 0, 0))
    book.endBatch(0)
    expect(book.job("big")!.reviews!.size).toBe(N)
    expect(book.pendingJoins).toBe(N)
    analyses.forEach((a) => book.analysis(ok(a), 0, 0))
    const { activity } = book.endBatch(1)
    const job = book.job("big")!
    expect(job.stages.ended).toMatchObject({ stage: "aggregation", status: "done" })
    expect(job.reviews, "live review index released").toBeUndefined()
    expect(book.pendingJoins, "join buffers released").toBe(0)
    expect(job.frozen!.transform.size).toBe(N)
    expect(job.frozen!.transform.byteLength, "8 bytes per counted id").toBe(8 * N)
    expect(activity.releasedReviews.get("big")).toHaveLength(N)
    book.tick(500)
    expect(book.job("big")).toBeDefined()
    const evicted = book.tick(1_001).activity
    expect(book.job("big")).toBeUndefined()
    expect([...evicted.evictedJobs.keys()]).toEqual(["big"])
  })
})
