/**
 * Sentiment counts for all analysed reviews and for the trial / regular split. A review
 * whose split is not known yet counts in `all` only; its split is added when known.
 */
import { counts, struct, type Monoid } from "../../kernel/monoid/Monoids.ts"
import type { Sentiment } from "../schema/Lenient.ts"
import type { SentimentSplit } from "../schema/OutputRecords.ts"
import { percentage } from "./Rounding.ts"

/** Index 0 positive, 1 negative, 2 neutral. */
export type SentimentCounts = ReadonlyArray<number>

export interface SentimentStats {
  readonly all: SentimentCounts
  readonly trial: SentimentCounts
  readonly regular: SentimentCounts
}

const Counts = counts(3)
export const SentimentStats: Monoid<SentimentStats> = struct<SentimentStats>({ all: Counts, trial: Counts, regular: Counts })

export const sentimentIndex: Readonly<Record<Sentiment, number>> = { positive: 0, negative: 1, neutral: 2 }
export const sentimentOfIndex: ReadonlyArray<Sentiment> = ["positive", "negative", "neutral"]

const one = (sentiment: Sentiment): SentimentCounts => {
  const c = [0, 0, 0]
  c[sentimentIndex[sentiment]] = 1
  return c
}
const none: SentimentCounts = [0, 0, 0]

/** An analysed review; `trial` undefined while its split is unknown. */
export const ofAnalysis = (sentiment: Sentiment, trial: boolean | undefined): SentimentStats => ({
  all: one(sentiment),
  trial: trial === true ? one(sentiment) : none,
  regular: trial === false ? one(sentiment) : none
})

/** The split of an already counted review, once the transform record tells it. */
export const ofResolvedSplit = (sentiment: Sentiment, trial: boolean): SentimentStats => ({
  all: none,
  trial: trial ? one(sentiment) : none,
  regular: trial ? none : one(sentiment)
})

export const renderSplit = (c: SentimentCounts): SentimentSplit => {
  const [positive = 0, negative = 0, neutral = 0] = c
  const n = positive + negative + neutral
  return {
    positive,
    negative,
    neutral,
    positivePct: percentage(positive, n),
    negativePct: percentage(negative, n),
    neutralPct: percentage(neutral, n)
  }
}
