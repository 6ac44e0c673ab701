/** Counts, rating averages and distributions, and keywords of a job's transform records. */
import { struct, sum, type Monoid } from "../../kernel/monoid/Monoids.ts"
import type { TransformReview } from "../schema/TransformRecord.ts"
import { KeywordStats, ofReview as keywordsOfReview } from "./KeywordStats.ts"
import { RatingStats, ofRating } from "./RatingStats.ts"

export interface TransformStats {
  readonly total: number
  readonly valid: number
  readonly empty: number
  readonly trial: number
  readonly ratingAll: RatingStats
  readonly ratingNonEmpty: RatingStats
  readonly ratingTrial: RatingStats
  readonly ratingRegular: RatingStats
  readonly ratingEmpty: RatingStats
  readonly keywords: KeywordStats
}

export const TransformStats: Monoid<TransformStats> = struct<TransformStats>({
  total: sum,
  valid: sum,
  empty: sum,
  trial: sum,
  ratingAll: RatingStats,
  ratingNonEmpty: RatingStats,
  ratingTrial: RatingStats,
  ratingRegular: RatingStats,
  ratingEmpty: RatingStats,
  keywords: KeywordStats
})

const none = RatingStats.initialValue

/** One distinct usable transform record's contribution. */
export const ofReview = (r: TransformReview): TransformStats => {
  const rating = ofRating(r.rating)
  const isEmpty = r.is_empty_review === 1
  const isTrial = r.is_coupang_trial === 1
  return {
    total: 1,
    valid: r.is_valid,
    empty: r.is_empty_review,
    trial: r.is_coupang_trial,
    ratingAll: rating,
    ratingNonEmpty: isEmpty ? none : rating,
    ratingTrial: isTrial ? rating : none,
    ratingRegular: isTrial ? none : rating,
    ratingEmpty: isEmpty ? rating : none,
    keywords: keywordsOfReview(r.keywords, isEmpty, isTrial)
  }
}
