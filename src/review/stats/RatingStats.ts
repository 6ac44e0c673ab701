/**
 * Rating accumulator of one split of reviews: how many are rated, their exact sum and
 * their 1..5 distribution. Sums are kept in integer millionths so that combining is
 * exactly associative and commutative (float addition is not).
 */
import { counts, struct, sum, type Monoid } from "../../kernel/monoid/Monoids.ts"
import { round2 } from "./Rounding.ts"

export interface RatingStats {
  readonly rated: number
  readonly sumMicros: number
  /** Index 0..4 holds buckets "1".."5". */
  readonly buckets: ReadonlyArray<number>
}

export const RatingStats: Monoid<RatingStats> = struct<RatingStats>({ rated: sum, sumMicros: sum, buckets: counts(5) })

/** SPEC 5.1: rated when finite and 1 <= rating <= 5. */
export const isRated = (rating: number | null): rating is number =>
  rating !== null && Number.isFinite(rating) && rating >= 1 && rating <= 5

/** Bucket of a rated review: floor(rating + 0.5), i.e. 1..5. */
export const bucketOf = (rating: number): number => Math.floor(rating + 0.5)

export const ofRating = (rating: number | null): RatingStats => {
  if (!isRated(rating)) return RatingStats.initialValue
  const buckets = [0, 0, 0, 0, 0]
  buckets[bucketOf(rating) - 1] = 1
  return { rated: 1, sumMicros: Math.round(rating * 1_000_000), buckets }
}

export const average = (s: RatingStats): number => (s.rated === 0 ? 0 : round2(s.sumMicros / 1_000_000 / s.rated))

export const distribution = (s: RatingStats): Record<"1" | "2" | "3" | "4" | "5", number> => ({
  "1": s.buckets[0] ?? 0,
  "2": s.buckets[1] ?? 0,
  "3": s.buckets[2] ?? 0,
  "4": s.buckets[3] ?? 0,
  "5": s.buckets[4] ?? 0
})
