/** Edge cases of the job book found in review: ids containing `|`, redelivered unusable records. */
import { describe, expect, it } from "@effect/vitest"
import type { Decoded } from "../../src/kernel/source/TypedSource.ts"
import type { AnalysisRecord } from "../../src/review/schema/AnalysisRecord.ts"
import type { ControlRecordInput } from "../../src/review/schema/ControlRecord.ts"
import type { TransformReview } from "../../src/review/schema/TransformRecord.ts"
import { newBook, ok, source } from "../support/Book.ts"
import fc from "fast-check"
import { analysisRecord, transformReview } from "../support/Arbitraries.ts"

const transform = (jobId: string, reviewId: string): TransformReview => ({ ...fc.sample(transformReview(jobId, fc.constant(reviewId)), 1)[0]! })
const analysis = (jobId: string, reviewId: string): AnalysisRecord => ({ ...fc.sample(analysisRecord(jobId, fc.constant(reviewId)), 1)[0]! })
const collection = (jobId: string, expected: number): Decoded<ControlRecordInput> =>
  ok({ job_id: jobId, status: "done", step: "collection", expected_count: expected })

describe("JobBook edge cases", () => {
  it("never joins two different reviews whose job_id|review_id strings coincide", () => {
    const book = newBook()
    book.transform(ok(transform("a|b", "c")), 0, 0)
    book.analysis(ok(analysis("a", "b|c")), 0, 0)
    const { records } = book.endBatch(0)
    expect(records.filter((r) => r.topic === "rows")).toEqual([])
    expect(book.pendingJoins).toBe(2)
    const closed = book.tick(1_000).records.filter((r) => r.topic === "dlq")
    expect(closed.map((r) => r.headers?.["dlq.job_id"]).sort()).toEqual(["a", "a|b"])
  })

  it("counts an unusable record without a review_id once, however often it is delivered", () => {
    const book = newBook()
    book.control(collection("j", 3), 0)
    book.transform(ok(transform("j", "r1")), 0, 0)
    const noId = { job_id: "j", rating: 3 }
    const redelivered = source("in", JSON.stringify(noId))
    const bad: Decoded<TransformReview> = {
      ok: false,
      reason: { type: "schema", message: "review_id: Missing key", jobId: "j" },
      source: redelivered,
      groupId: "j",
      entityId: undefined
    }
    book.transform(bad, 0, 0)
    book.transform(bad, 0, 0)
    book.endBatch(0)
    const job = book.job("j")!
    expect(job.quality.transform.invalid).toBe(1)
    expect(job.stages.ended, "1 usable + 1 unusable of 3: still running").toBeUndefined()
    // A different unusable record without an id does count.
    book.transform({ ...bad, source: source("in", JSON.stringify(noId)) }, 0, 0)
    book.endBatch(1)
    expect(book.job("j")!.stages.ended).toMatchObject({ stage: "transform", status: "failed" })
  })

  it("gives dead letters of a known job the job's traceparent, keeping an original one", () => {
    const book = newBook()
    book.transform(ok(transform("t", "r1")), 0, 0)
    const r2 = transform("t", "r2")
    const traced = { ...ok(r2), source: { ...source("in", JSON.stringify(r2)), headers: { traceparent: "00-11111111111111111111111111111111-2222222222222222-01" } } }
    book.transform(traced, 0, 0)
    book.endBatch(0)
    const dlq = book.tick(1_000).records.filter((r) => r.topic === "dlq")
    const byReview = new Map(dlq.map((r) => [JSON.parse(String(r.value)).review_id, r.headers?.["traceparent"]]))
    expect(byReview.get("r1")).toBe(book.job("t")!.traceparent)
    expect(byReview.get("r2")).toBe("00-11111111111111111111111111111111-2222222222222222-01")
  })
})
