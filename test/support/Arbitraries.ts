/** fast-check generators of the review domain's normalised records. */
import fc from "fast-check"
import type { AnalysisRecord } from "../../src/review/schema/AnalysisRecord.ts"
import type { TransformReview } from "../../src/review/schema/TransformRecord.ts"

const bit = fc.constantFrom<0 | 1>(0, 1)
const keyword = fc.constantFrom("배송", "가격", "품질", "소음", "냄새", "색상", "내구성", "사용 편의성", "디자인", "향", "맛", "포장")
const tag = fc.constantFrom("만족", "불만", "보통", "빠름", "느림", "비쌈", "저렴", "조용함")

export const keywords = fc.dictionary(keyword, fc.oneof(tag, fc.array(tag, { minLength: 1, maxLength: 3 })), { maxKeys: 5 })

/** Ratings around the edges of SPEC 5.1: null, out of range, halves, non-halves. */
export const rating = fc.oneof(
  fc.constant(null),
  fc.constantFrom(0, 0.5, 1, 1.5, 2, 2.5, 3, 3.49, 3.5, 4, 4.5, 5, 5.5, 10),
  fc.double({ min: 0, max: 6, noNaN: true })
)

export const transformReview = (jobId: string, reviewId: fc.Arbitrary<string>): fc.Arbitrary<TransformReview> =>
  fc.record({
    review_id: reviewId,
    rating,
    keywords,
    is_coupang_trial: bit,
    is_empty_review: bit,
    is_valid: bit
  }).map((r) => ({
    job_id: jobId,
    review_id: r.review_id,
    product_id: null,
    title: null,
    tag: null,
    review_count: null,
    sales_price: null,
    final_price: null,
    rating: r.rating,
    review_date: "2026-11-20",
    review_text: r.is_empty_review === 1 ? "" : "좋아요",
    clean_text: null,
    keywords: r.keywords,
    review_help_count: null,
    crawled_at: null,
    is_coupang_trial: r.is_coupang_trial,
    is_empty_review: r.is_empty_review,
    is_valid_rating: 1,
    is_valid_date: 1,
    has_content: r.is_empty_review === 1 ? 0 : 1,
    is_valid: r.is_valid,
    invalid_reason: null,
    year: null,
    month: null,
    day: null,
    quarter: null,
    yyyymm: null,
    yyyymmdd: null,
    weekday: null
  }))

export const analysisRecord = (jobId: string, reviewId: fc.Arbitrary<string>): fc.Arbitrary<AnalysisRecord> =>
  fc.record({
    review_id: reviewId,
    sentiment: fc.constantFrom("positive" as const, "negative" as const, "neutral" as const),
    trial: fc.constantFrom<0 | 1 | undefined>(0, 1, undefined)
  }).map(({ review_id, sentiment, trial }) => ({
    job_id: jobId,
    review_id,
    sentiment,
    summary: "요약",
    ...(trial === undefined ? {} : { is_coupang_trial: trial })
  }))

/** Splits a list into consecutive non-empty batches at the given cut points. */
export const splitAt = <A>(items: ReadonlyArray<A>, cuts: ReadonlyArray<number>): Array<Array<A>> => {
  const points = [...new Set(cuts.map((c) => c % (items.length + 1)))].sort((a, b) => a - b)
  const out: Array<Array<A>> = []
  let start = 0
  for (const p of [...points, items.length]) {
    if (p > start) out.push(items.slice(start, p))
    start = Math.max(start, p)
  }
  return out
}

/** One decoded record for a JobBook: a transform or an analysis record of job "job". */
export type BookInput = { readonly side: "t"; readonly r: TransformReview } | { readonly side: "a"; readonly r: AnalysisRecord }

/** Records of job "job" over review ids r0..r<maxReview>, so ids repeat across and within topics. */
export const bookInputs = (maxReview: number, maxLength: number): fc.Arbitrary<Array<BookInput>> => {
  const reviewId = fc.integer({ min: 0, max: maxReview }).map((n) => `r${n}`)
  return fc.array(
    fc.oneof(
      transformReview("job", reviewId).map((r): BookInput => ({ side: "t", r })),
      analysisRecord("job", reviewId).map((r): BookInput => ({ side: "a", r }))
    ),
    { maxLength }
  )
}
