/**
 * Two lives of the review task around a restart, for changelog compatibility: the first
 * leaves waiting join sides (one a batch element, one with odd spacing and headers), a
 * rejected record, a running and a finished job; the second completes and repeats them.
 */
import type { OutgoingRecord } from "../../src/kernel/kafka/KafkaPort.ts"
import { renderAggregate } from "../../src/review/stats/JobAggregate.ts"
import type { BookDriver } from "./Book.ts"

const review = (jobId: string, reviewId: string, extra: Record<string, unknown> = {}) =>
  ({ job_id: jobId, review_id: reviewId, rating: 4, review_text: "좋아요", review_date: "2026-11-20", keywords: { "배송": "빠름" }, ...extra })
const analysis = (jobId: string, reviewId: string, sentiment = "긍정") => ({ job_id: jobId, review_id: reviewId, sentiment, summary: "요약" })

export const firstLife = (book: BookDriver): void => {
  book.control({ job_id: "j", status: "done", step: "collection", expected_count: 6 })
  book.control({ job_id: "f", status: "done", step: "collection", expected_count: 1 })
  book.transform(review("j", "r1"), { key: "r1", headers: { "x-origin": "spark" } })
  book.transform({ job_id: "j", reviews: [review("j", "r0", { rating: 5 }), { review_id: "r3", rating: "2", is_coupang_trial: true, keywords: "{\"소음\":[\"큼\",\"불만\"]}" }] }, {
    key: "\"j\"",
    headers: { "x-batch": "7", "x-note": "줄\n바꿈" }
  })
  book.transform("{ \"job_id\" : \"j\",\n  \"review_id\":\"r2\", \"rating\": \"4.5\" , \"review_text\":\"쿠팡체험단 좋아요\" }", { key: "r2" })
  book.analysis(analysis("j", "r1"))
  book.analysis(analysis("j", "r0", "중립"))
  book.transform({ job_id: "j", rating: 3 })
  book.transform(review("f", "f1"))
  book.analysis(analysis("f", "f1", "부정"))
  book.endBatch(100)
}

/** Everything the second life writes (outputs, not changelog), in order. */
export const secondLife = (book: BookDriver): ReadonlyArray<OutgoingRecord> => {
  const out: Array<OutgoingRecord> = []
  book.analysis(analysis("j", "r2", "부정"), { offset: 100 })
  book.transform(review("j", "r1"), { offset: 101 })
  book.transform(review("f", "f1"), { offset: 102 })
  book.transform(review("f", "f9"), { offset: 103 })
  out.push(...book.endBatch(200).records)
  out.push(...book.tick(200 + book.settings.windowInactivityMs + 1).records)
  return out
}

const text = (v: string | Uint8Array | null | undefined) => (v == null ? null : typeof v === "string" ? v : Buffer.from(v).toString("utf8"))

/** Records as plain JSON (texts), to compare and to store as a fixture. */
export const plain = (records: ReadonlyArray<OutgoingRecord>) =>
  records.map((r) => ({ topic: r.topic, key: text(r.key), value: text(r.value), headers: r.headers ?? {} }))

/** What the jobs stand at: aggregate, quality and outcome. */
export const jobsSummary = (book: BookDriver) =>
  book.book.jobs().map((job) => ({
    jobId: job.jobId,
    aggregate: renderAggregate(job.jobId, job.stats, false, new Date(0)),
    quality: job.quality,
    ended: job.stages.ended ?? null,
    pendingJoins: book.pendingJoins
  }))
