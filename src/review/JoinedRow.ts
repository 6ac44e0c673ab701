/** The joined row of SPEC 4: every transform field in SPEC 3.1 order, then summary and sentiment. */
import type { AnalysisRecord } from "./schema/AnalysisRecord.ts"
import type { JoinedRow } from "./schema/OutputRecords.ts"
import type { TransformReview } from "./schema/TransformRecord.ts"

export type { JoinedRow }

/** The row's message key (SPEC 4). Not unique when ids contain `|`: never used to index state. */
export const joinKey = (jobId: string, reviewId: string): string => `${jobId}|${reviewId}`

/** An unambiguous key of one review of one job, for state (join buffers, changelog keys). */
export const reviewKey = (jobId: string, reviewId: string): string => JSON.stringify([jobId, reviewId])

/** `job|review` again, for messages people read. */
export const describeReviewKey = (key: string): string => (JSON.parse(key) as Array<string>).join("|")

/** Field by field rather than a spread: one object of a fixed shape, built without a generic copy. */
export const joinRow = (t: TransformReview, analysis: AnalysisRecord): JoinedRow => ({
  job_id: t.job_id,
  review_id: t.review_id,
  product_id: t.product_id,
  title: t.title,
  tag: t.tag,
  review_count: t.review_count,
  sales_price: t.sales_price,
  final_price: t.final_price,
  rating: t.rating,
  review_date: t.review_date,
  review_text: t.review_text,
  clean_text: t.clean_text,
  keywords: t.keywords,
  review_help_count: t.review_help_count,
  crawled_at: t.crawled_at,
  is_coupang_trial: t.is_coupang_trial,
  is_empty_review: t.is_empty_review,
  is_valid_rating: t.is_valid_rating,
  is_valid_date: t.is_valid_date,
  has_content: t.has_content,
  is_valid: t.is_valid,
  invalid_reason: t.invalid_reason,
  year: t.year,
  month: t.month,
  day: t.day,
  quarter: t.quarter,
  yyyymm: t.yyyymm,
  yyyymmdd: t.yyyymmdd,
  weekday: t.weekday,
  summary: analysis.summary ?? null,
  sentiment: analysis.sentiment
})
