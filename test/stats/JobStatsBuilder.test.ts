/**
 * The per-batch builder counts exactly what the monoid does: building a batch's records
 * in mutable counters equals combining each record's own statistics.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { JobStats } from "../../src/review/stats/JobAggregate.ts"
import { JobStatsBuilder } from "../../src/review/stats/JobStatsBuilder.ts"
import { ofAnalysis, ofResolvedSplit } from "../../src/review/stats/SentimentStats.ts"
import { ofReview } from "../../src/review/stats/TransformStats.ts"
import { transformReview } from "../support/Arbitraries.ts"

const sentiment = fc.constantFrom("positive" as const, "negative" as const, "neutral" as const)
const contribution = fc.oneof(
  transformReview("job", fc.string()).map((review) => ({ kind: "review" as const, review })),
  fc.record({ kind: fc.constant("analysis" as const), sentiment, trial: fc.constantFrom(true, false, undefined) }),
  fc.record({ kind: fc.constant("split" as const), sentiment, trial: fc.boolean() })
)

describe("JobStatsBuilder", () => {
  it("builds the same statistics as combining every record's own", () =>
    fc.assert(fc.property(fc.array(contribution, { maxLength: 30 }), (batch) => {
      const builder = new JobStatsBuilder()
      let expected = JobStats.initialValue
      for (const c of batch) {
        if (c.kind === "review") {
          builder.addReview(c.review)
          expected = JobStats.combine(expected, { ...JobStats.initialValue, transform: ofReview(c.review) })
        } else if (c.kind === "analysis") {
          builder.addSentiment(c.sentiment, c.trial, true)
          expected = JobStats.combine(expected, { ...JobStats.initialValue, analyzed: 1, sentiment: ofAnalysis(c.sentiment, c.trial) })
        } else {
          builder.addSentiment(c.sentiment, c.trial, false)
          expected = JobStats.combine(expected, { ...JobStats.initialValue, sentiment: ofResolvedSplit(c.sentiment, c.trial) })
        }
      }
      expect(builder.build()).toEqual(expected)
    })))
})
