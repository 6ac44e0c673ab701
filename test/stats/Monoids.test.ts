/** The per-job statistics are commutative monoids: order and grouping never change a result. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { Monoid } from "../../src/kernel/monoid/Monoids.ts"
import { JobStats } from "../../src/review/stats/JobAggregate.ts"
import { KeywordStats, ofReview as keywordsOf } from "../../src/review/stats/KeywordStats.ts"
import { ofRating, RatingStats } from "../../src/review/stats/RatingStats.ts"
import { ofAnalysis, ofResolvedSplit, SentimentStats } from "../../src/review/stats/SentimentStats.ts"
import { ofReview, TransformStats } from "../../src/review/stats/TransformStats.ts"
import { keywords, rating, transformReview } from "../support/Arbitraries.ts"

const laws = <A>(name: string, monoid: Monoid<A>, arb: fc.Arbitrary<A>) =>
  describe(`${name} is a commutative monoid`, () => {
    it("has an identity", () =>
      fc.assert(fc.property(arb, (a) => {
        expect(monoid.combine(monoid.initialValue, a)).toEqual(a)
        expect(monoid.combine(a, monoid.initialValue)).toEqual(a)
      })))
    it("is associative", () =>
      fc.assert(fc.property(arb, arb, arb, (a, b, c) => {
        expect(monoid.combine(monoid.combine(a, b), c)).toEqual(monoid.combine(a, monoid.combine(b, c)))
      })))
    it("is commutative", () =>
      fc.assert(fc.property(arb, arb, (a, b) => {
        expect(monoid.combine(a, b)).toEqual(monoid.combine(b, a))
      })))
  })

/** Arbitrary values of a monoid: sums of 0..5 single-record contributions. */
const sums = <A>(monoid: Monoid<A>, one: fc.Arbitrary<A>) =>
  fc.array(one, { maxLength: 5 }).map((xs) => xs.reduce(monoid.combine, monoid.initialValue))

const sentiment = fc.constantFrom("positive" as const, "negative" as const, "neutral" as const)
const oneSentiment = fc.oneof(
  fc.tuple(sentiment, fc.constantFrom(true, false, undefined)).map(([s, t]) => ofAnalysis(s, t)),
  fc.tuple(sentiment, fc.boolean()).map(([s, t]) => ofResolvedSplit(s, t))
)
const review = transformReview("job", fc.string())

laws("RatingStats", RatingStats, sums(RatingStats, rating.map(ofRating)))
laws("KeywordStats", KeywordStats, sums(KeywordStats, fc.tuple(keywords, fc.boolean(), fc.boolean()).map(([k, e, t]) => keywordsOf(k, e, t))))
laws("SentimentStats", SentimentStats, sums(SentimentStats, oneSentiment))
laws("TransformStats", TransformStats, sums(TransformStats, review.map(ofReview)))
laws(
  "JobStats",
  JobStats,
  sums(JobStats, fc.tuple(review, oneSentiment).map(([r, s]) => ({ transform: ofReview(r), analyzed: 1, sentiment: s })))
)
