/**
 * Shapes of what this service writes (SPEC 3.3, 4, 5.2): joined rows, per-job aggregates
 * and control messages. The output types are derived from these schemas, and tests decode
 * every output record with them.
 */
import { Schema } from "effect"
import { Sentiments } from "./Lenient.ts"
import { Statuses, Steps } from "./ControlRecord.ts"
import { TransformReview } from "./TransformRecord.ts"

export const JoinedRow = Schema.Struct({
  ...TransformReview.fields,
  summary: Schema.NullOr(Schema.String),
  sentiment: Schema.Literals(Sentiments)
})
export type JoinedRow = typeof JoinedRow.Type

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
/** Rounded half-up to 2 decimals (SPEC 5.1). */
const Rounded = Schema.Finite

const Distribution = Schema.Struct({ "1": Count, "2": Count, "3": Count, "4": Count, "5": Count })
const TagShare = Schema.Struct({ tag: Schema.String, count: Count, percentage: Rounded })
const KeywordAnalysis = Schema.Struct({
  keyword: Schema.String,
  all_tags: Schema.Array(TagShare),
  coupang_tags: Schema.Array(TagShare),
  regular_tags: Schema.Array(TagShare)
})
const SentimentSplit = Schema.Struct({
  positive: Count,
  negative: Count,
  neutral: Count,
  positivePct: Rounded,
  negativePct: Rounded,
  neutralPct: Rounded
})

export const JobAggregate = Schema.Struct({
  job_id: Schema.String,
  transform_stats: Schema.Struct({
    total_reviews: Count,
    valid_reviews: Count,
    empty_reviews: Count,
    coupang_trial_reviews: Count,
    avg_rating: Rounded,
    avg_rating_excluding_empty: Rounded,
    avg_rating_coupang_trial: Rounded,
    avg_rating_regular: Rounded,
    rating_distribution: Schema.Struct({ all: Distribution, coupang_trial: Distribution, regular: Distribution, empty_review: Distribution }),
    keyword_analysis: Schema.Array(KeywordAnalysis).check(Schema.isMaxLength(10))
  }),
  analysis_stats: Schema.Struct({
    total_analyzed: Count,
    all_sentiment: SentimentSplit,
    coupang_trial_sentiment: SentimentSplit,
    regular_sentiment: SentimentSplit
  }),
  is_final: Schema.Boolean,
  updated_at: Schema.String
})
export type JobAggregate = typeof JobAggregate.Type
export type KeywordAnalysis = typeof KeywordAnalysis.Type
export type TagShare = typeof TagShare.Type
export type SentimentSplit = typeof SentimentSplit.Type

const IsoUtc = Schema.String.check(Schema.isPattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/))

/** A control message as this service writes it; `error_message` only on failed/timeout. */
export const ControlMessage = Schema.Struct({
  job_id: Schema.String,
  status: Schema.Literals(Statuses),
  step: Schema.Literals(Steps),
  expected_count: Schema.NullOr(Count),
  actual_count: Schema.NullOr(Count),
  timestamp: IsoUtc,
  error_message: Schema.optionalKey(Schema.String)
}).check(Schema.makeFilter((m) =>
  (m.status === "done") === (m.error_message === undefined) || "error_message is present exactly when status is failed or timeout"
))
export type ControlMessage = typeof ControlMessage.Type
