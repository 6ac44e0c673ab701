/**
 * The job's positional changelog text: every job the book can reach (running, finished,
 * failed upstream, timed out, with quality problems) reads back as the very same job,
 * the JSON form written before still reads back, and a damaged record is refused with a
 * reason instead of being half-read.
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import * as ValueCodec from "../../src/kernel/store/ValueCodec.ts"
import type { Job } from "../../src/review/Job.ts"
import { jobText } from "../../src/review/state/JobText.ts"
import { bookInputs } from "../support/Arbitraries.ts"
import { newBook } from "../support/Book.ts"

const ending = fc.constantFrom("running", "upstream-failed", "timed-out", "finished")

/** The job "job" after the inputs, ended one of several ways. */
const jobAfter = (inputs: ReadonlyArray<{ readonly side: "t" | "a"; readonly r: unknown }>, expected: number, end: string): Job => {
  const book = newBook()
  book.control({ job_id: "job", status: "done", step: "collection", expected_count: expected })
  for (const input of inputs) {
    if (input.side === "t") book.transform(input.r)
    else book.analysis(input.r)
  }
  book.transform({ job_id: "job", review_id: "bad", rating: "not a rating" })
  book.endBatch(1)
  if (end === "upstream-failed") book.control({ job_id: "job", status: "failed", step: "analysis", error_message: "LLM 쿼터 초과" })
  if (end === "timed-out") book.tick(book.settings.timeoutMs + 10)
  if (end === "finished") book.control({ job_id: "job", status: "done", step: "analysis" })
  book.endBatch(2)
  return book.job("job")!
}

const jsonCodec = (book = newBook()) => ValueCodec.make({ ...book.specs.jobs, text: undefined })
const textCodec = (book = newBook()) => ValueCodec.make(book.specs.jobs)

const decoded = (result: Result.Result<{ readonly value: Job }, string>): Job => {
  if (Result.isFailure(result)) throw new Error(result.failure)
  return result.success.value
}

describe("a job's changelog text", () => {
  it("reads back as the same job, however the job stands", () => {
    const seen = new Set<string>()
    fc.assert(fc.property(bookInputs(8, 30), fc.integer({ min: 1, max: 10 }), ending, (inputs, expected, end) => {
      const job = jobAfter(inputs, expected, end)
      seen.add(job.stages.ended === undefined ? "running" : `${job.stages.ended.stage}/${job.stages.ended.status}`)
      if (job.upstreamFailure !== undefined) seen.add("upstream failure")
      const text = jobText.encode(job)
      expect(decoded(textCodec().decode(textCodec().encode(job, 0)))).toEqual(job)
      expect(Result.getOrThrow(jobText.decode(text))).toEqual(job)
      // Map order is part of what is kept, so a restored job re-encodes to the same text.
      expect(jobText.encode(Result.getOrThrow(jobText.decode(text)))).toBe(text)
    }))
    const kinds = [...seen].map((k) => k.replace(/^\w+\//, ""))
    expect(new Set(kinds), "the runs reached every kind of job").toEqual(new Set(["running", "upstream failure", "failed", "timeout"]))
  }, 60_000)

  it("reads back a finished job", () => {
    const book = newBook()
    book.control({ job_id: "job", status: "done", step: "collection", expected_count: 2 })
    for (const id of ["r1", "r2"]) {
      book.transform({ job_id: "job", review_id: id, rating: 5, review_text: "좋아요", keywords: { "배송": "빠름" } })
      book.analysis({ job_id: "job", review_id: id, sentiment: "긍정" })
    }
    book.endBatch(1)
    const job = book.job("job")!
    expect(job.stages.ended?.status).toBe("done")
    expect(job.finishedAt).toBeDefined()
    expect(decoded(textCodec().decode(textCodec().encode(job, 0)))).toEqual(job)
  })

  it("is read alongside the JSON form written before it, which gives the same job", () => {
    const job = jobAfter([], 3, "finished")
    const old = jsonCodec().encode(job, 0)
    expect(old.startsWith("{\"v\":2,")).toBe(true)
    expect(decoded(textCodec().decode(old))).toEqual(job)
    expect(textCodec().encode(job, 0).startsWith("2|[")).toBe(true)
  })

  it("is at most 60% of the JSON form for a job with keyword analysis", () => {
    const reviews = Array.from({ length: 40 }, (_, i) => ({
      side: "t" as const,
      r: { job_id: "job", review_id: `r${i}`, rating: 1 + (i % 5), review_text: "좋아요", is_coupang_trial: i % 3 === 0 ? 1 : 0, keywords: { "배송": i % 2 ? "빠름" : "느림", "가격": ["저렴", "만족"], "품질": "보통" } }
    }))
    const job = jobAfter(reviews, 40, "running")
    expect(job.stats.transform.keywords.size).toBe(3)
    const text = Buffer.byteLength(textCodec().encode(job, 0))
    const json = Buffer.byteLength(jsonCodec().encode(job, 0))
    expect(text / json).toBeLessThan(0.6)
  })

  it("refuses a damaged record with the reason", () => {
    const job = jobAfter([], 3, "running")
    const row = JSON.parse(jobText.encode(job)) as Array<any>
    const refused = (mutate: (row: Array<any>) => void): string => {
      const copy = structuredClone(row)
      mutate(copy)
      const result = jobText.decode(JSON.stringify(copy))
      if (Result.isSuccess(result)) throw new Error("a damaged job was read")
      return result.failure
    }
    const truncated = jobText.decode("[\"job\", 1")
    expect(Result.isFailure(truncated) && truncated.failure).toMatch(/^job is not JSON/)
    expect(refused((r) => r.pop())).toMatch(/^job: /)
    expect(refused((r) => { r[4][1][1] = "finished" })).toMatch(/^job: /)
    expect(refused((r) => { r[5][4] = [1, 2] })).toMatch(/^job: /)
    expect(refused((r) => { r[4][2][0] = "collection" })).toMatch(/each of collection, transform, analysis, aggregation once/)
    expect(refused((r) => { r[4].pop() })).toMatch(/each of collection, transform, analysis, aggregation once/)
  })
})
