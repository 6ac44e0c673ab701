/** Edge cases of the job book found in review: ids containing `|`, redelivered unusable records, trace context. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { analysisRecord, transformReview } from "../support/Arbitraries.ts"
import { newBook } from "../support/Book.ts"

const transform = (jobId: string, reviewId: string) => fc.sample(transformReview(jobId, fc.constant(reviewId)), 1)[0]!
const analysis = (jobId: string, reviewId: string) => fc.sample(analysisRecord(jobId, fc.constant(reviewId)), 1)[0]!
const text = (v: string | Uint8Array | null) => (typeof v === "string" ? v : new TextDecoder().decode(v ?? new Uint8Array()))
const collection = (jobId: string, expected: number) => ({ job_id: jobId, status: "done", step: "collection", expected_count: expected })

describe("JobBook edge cases", () => {
  it("never joins two different reviews whose job_id|review_id strings coincide", () => {
    const book = newBook()
    book.transform(transform("a|b", "c")).analysis(analysis("a", "b|c"))
    const { records } = book.endBatch(0)
    expect(records.filter((r) => r.topic === "rows")).toEqual([])
    expect(book.pendingJoins).toBe(2)
    const closed = book.tick(1_000).records.filter((r) => r.topic === "dlq")
    expect(closed.map((r) => r.headers?.["dlq.job_id"]).sort()).toEqual(["a", "a|b"])
  })

  it("counts an unusable record without a review_id once, however often it is delivered", () => {
    const book = newBook()
    book.control(collection("j", 3)).transform(transform("j", "r1"))
    const noId = { job_id: "j", rating: 3 }
    // The same record (same coordinates) delivered twice.
    book.transform(noId, { offset: 1_000 }).transform(noId, { offset: 1_000 })
    const { records } = book.endBatch(0)
    expect(records.filter((r) => r.topic === "dlq").map((r) => r.headers?.["dlq.error.message"])).toEqual([
      "review_id: Missing key",
      "review_id: Missing key"
    ])
    const job = book.job("j")!
    expect(job.quality.transform.invalid).toBe(1)
    expect(job.stages.ended, "1 usable + 1 unusable of 3: still running").toBeUndefined()
    // A different unusable record without an id does count.
    book.transform(noId, { offset: 1_001 })
    book.endBatch(1)
    expect(book.job("j")!.stages.ended).toMatchObject({ stage: "transform", status: "failed" })
  })

  it("gives dead letters of a known job the job's traceparent, keeping an original one", () => {
    const book = newBook()
    book.transform(transform("t", "r1"))
    book.transform(transform("t", "r2"), { headers: { traceparent: "00-11111111111111111111111111111111-2222222222222222-01" } })
    book.endBatch(0)
    const dlq = book.tick(1_000).records.filter((r) => r.topic === "dlq")
    const byReview = new Map(dlq.map((r) => [JSON.parse(text(r.value)).review_id, r.headers?.["traceparent"]]))
    expect(byReview.get("r1")).toBe(book.job("t")!.traceparent)
    expect(byReview.get("r2")).toBe("00-11111111111111111111111111111111-2222222222222222-01")
  })
})
