/**
 * A job's statistics (one monoid of transform and analysis parts) and its rendering to
 * the `OUTPUT_AGG_TOPIC` shape of SPEC 5.2.
 */
import { struct, sum, type Monoid } from "../../kernel/monoid/Monoids.ts"
import type { JobAggregate } from "../schema/OutputRecords.ts"
import { renderKeywordAnalysis } from "./KeywordStats.ts"
import { average, distribution } from "./RatingStats.ts"
import { renderSplit, SentimentStats } from "./SentimentStats.ts"
import { TransformStats } from "./TransformStats.ts"

export interface JobStats {
  readonly transform: TransformStats
  readonly analyzed: number
  readonly sentiment: SentimentStats
}

export const JobStats: Monoid<JobStats> = struct<JobStats>({
  transform: TransformStats,
  analyzed: sum,
  sentiment: SentimentStats
})

export const renderAggregate = (jobId: string, stats: JobStats, isFinal: boolean, updatedAt: Date): JobAggregate => {
  const t = stats.transform
  return {
    job_id: jobId,
    transform_stats: {
      total_reviews: t.total,
      valid_reviews: t.valid,
      empty_reviews: t.empty,
      coupang_trial_reviews: t.trial,
      avg_rating: average(t.ratingAll),
      avg_rating_excluding_empty: average(t.ratingNonEmpty),
      avg_rating_coupang_trial: average(t.ratingTrial),
      avg_rating_regular: average(t.ratingRegular),
      rating_distribution: {
        all: distribution(t.ratingAll),
        coupang_trial: distribution(t.ratingTrial),
        regular: distribution(t.ratingRegular),
        empty_review: distribution(t.ratingEmpty)
      },
      keyword_analysis: renderKeywordAnalysis(t.keywords)
    },
    analysis_stats: {
      total_analyzed: stats.analyzed,
      all_sentiment: renderSplit(stats.sentiment.all),
      coupang_trial_sentiment: renderSplit(stats.sentiment.trial),
      regular_sentiment: renderSplit(stats.sentiment.regular)
    },
    is_final: isFinal,
    updated_at: updatedAt.toISOString()
  }
}

export type { JobAggregate }
