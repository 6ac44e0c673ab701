/**
 * What each counted record of a batch adds to its job's statistics, kept in the
 * `batch-stats` scratch store until batch end, then folded into one JobStats delta. A
 * list linked backwards, one small cell per record: a record that fails part-way is
 * undone like any store write (the previous head comes back), and nothing per record
 * combines statistics.
 */
import { Schema } from "effect"
import type { Sentiment } from "../schema/Lenient.ts"
import type { TransformReview } from "../schema/TransformRecord.ts"
import type { JobStats } from "../stats/JobAggregate.ts"
import { JobStatsBuilder } from "../stats/JobStatsBuilder.ts"

export interface Contribution {
  /** A counted transform record. */
  readonly review: TransformReview | undefined
  /** A sentiment: of a counted analysis record (`countAll`), or of one whose split became known. */
  readonly sentiment: Sentiment | undefined
  readonly trial: boolean | undefined
  readonly countAll: boolean
  readonly previous: Contribution | undefined
}

export const ContributionSchema: Schema.Codec<Contribution, any> = Schema.declare(
  (u: unknown): u is Contribution => typeof u === "object" && u !== null && "previous" in u,
  { expected: "batch contributions (scratch state, never written)" }
)

/** The statistics of every contribution of the list. */
export const fold = (head: Contribution | undefined): JobStats => {
  const builder = new JobStatsBuilder()
  for (let c = head; c !== undefined; c = c.previous) {
    if (c.review !== undefined) builder.addReview(c.review)
    if (c.sentiment !== undefined) builder.addSentiment(c.sentiment, c.trial, c.countAll)
  }
  return builder.build()
}
