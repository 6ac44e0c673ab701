/**
 * Per-job index of reviews seen, one small integer of flags per review id. It dedupes
 * each input topic, remembers a transform's trial flag and an analysis's sentiment until
 * the other side resolves the sentiment split, and tracks data-quality failures. When
 * the job finishes it freezes into two FingerprintSets (8 bytes a review) that answer
 * only "was this id counted?" for late-record detection.
 */
import { FingerprintSet, FingerprintSetBuilder } from "../kernel/state/FingerprintSet.ts"
import type { Sentiment } from "./schema/Lenient.ts"
import { sentimentIndex, sentimentOfIndex } from "./stats/SentimentStats.ts"

export const Flags = {
  transform: 1,
  transformTrial: 2,
  analysis: 4,
  /** Analysis counted in `all` only, waiting for the transform record to tell its split. */
  splitPending: 8,
  transformInvalid: 16,
  analysisInvalid: 32
} as const
const SENTIMENT_SHIFT = 8

export const withSentiment = (flags: number, s: Sentiment): number => flags | (sentimentIndex[s] << SENTIMENT_SHIFT)
export const sentimentOf = (flags: number): Sentiment => sentimentOfIndex[(flags >> SENTIMENT_SHIFT) & 3]!
export const has = (flags: number, flag: number): boolean => (flags & flag) !== 0

export interface FrozenReviews {
  readonly transform: FingerprintSet
  readonly analysis: FingerprintSet
}

/** Freezes an index handed over one review at a time (a job's index may hold a million). */
export class IndexFreezer {
  private readonly transform = new FingerprintSetBuilder()
  private readonly analysis = new FingerprintSetBuilder()

  add(reviewId: string, flags: number): void {
    if (has(flags, Flags.transform)) this.transform.add(reviewId)
    if (has(flags, Flags.analysis)) this.analysis.add(reviewId)
  }

  build(): FrozenReviews {
    return { transform: this.transform.build(), analysis: this.analysis.build() }
  }
}
