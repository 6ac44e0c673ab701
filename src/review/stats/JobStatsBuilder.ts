/**
 * A batch's statistics of one job, built in place: what each counted record adds, in
 * mutable counters, turned into one immutable JobStats at batch end. Equal to combining
 * every record's own JobStats with the monoid, without a new Map per record.
 */
import type { Sentiment } from "../schema/Lenient.ts"
import type { TransformReview } from "../schema/TransformRecord.ts"
import type { JobStats } from "./JobAggregate.ts"
import type { KeywordTags } from "./KeywordStats.ts"
import { bucketOf, isRated, type RatingStats } from "./RatingStats.ts"
import { sentimentIndex } from "./SentimentStats.ts"

class Rating {
  rated = 0
  sumMicros = 0
  readonly buckets = [0, 0, 0, 0, 0]

  add(rating: number): void {
    this.rated++
    this.sumMicros += Math.round(rating * 1_000_000)
    this.buckets[bucketOf(rating) - 1]!++
  }

  build(): RatingStats {
    return { rated: this.rated, sumMicros: this.sumMicros, buckets: this.buckets }
  }
}

interface Tags {
  readonly all: Map<string, number>
  readonly trial: Map<string, number>
  readonly regular: Map<string, number>
}

const bump = (tags: Map<string, number>, tag: string) => tags.set(tag, (tags.get(tag) ?? 0) + 1)

export class JobStatsBuilder {
  private total = 0
  private valid = 0
  private empty = 0
  private trial = 0
  private readonly ratingAll = new Rating()
  private readonly ratingNonEmpty = new Rating()
  private readonly ratingTrial = new Rating()
  private readonly ratingRegular = new Rating()
  private readonly ratingEmpty = new Rating()
  private readonly keywords = new Map<string, Tags>()
  private analyzed = 0
  private readonly sentiment = { all: [0, 0, 0], trial: [0, 0, 0], regular: [0, 0, 0] }

  /** A distinct usable transform record. */
  addReview(r: TransformReview): void {
    const isEmpty = r.is_empty_review === 1
    const isTrial = r.is_coupang_trial === 1
    this.total++
    this.valid += r.is_valid
    this.empty += r.is_empty_review
    this.trial += r.is_coupang_trial
    if (isRated(r.rating)) {
      this.ratingAll.add(r.rating)
      ;(isEmpty ? this.ratingEmpty : this.ratingNonEmpty).add(r.rating)
      ;(isTrial ? this.ratingTrial : this.ratingRegular).add(r.rating)
    }
    if (isEmpty) return
    for (const keyword in r.keywords) {
      const value = r.keywords[keyword]!
      let tags = this.keywords.get(keyword)
      if (tags === undefined) this.keywords.set(keyword, tags = { all: new Map(), trial: new Map(), regular: new Map() })
      const split = isTrial ? tags.trial : tags.regular
      if (typeof value === "string") {
        bump(tags.all, value)
        bump(split, value)
      } else {
        for (const tag of value) {
          bump(tags.all, tag)
          bump(split, tag)
        }
      }
    }
  }

  /** An analysed review (`countAll`), or only its split once known (not `countAll`); `trial` undefined while unknown. */
  addSentiment(sentiment: Sentiment, trial: boolean | undefined, countAll: boolean): void {
    const i = sentimentIndex[sentiment]
    if (countAll) {
      this.analyzed++
      this.sentiment.all[i]!++
    }
    if (trial === true) this.sentiment.trial[i]!++
    if (trial === false) this.sentiment.regular[i]!++
  }

  build(): JobStats {
    const keywords = new Map<string, KeywordTags>()
    for (const [keyword, tags] of this.keywords) keywords.set(keyword, tags)
    return {
      transform: {
        total: this.total,
        valid: this.valid,
        empty: this.empty,
        trial: this.trial,
        ratingAll: this.ratingAll.build(),
        ratingNonEmpty: this.ratingNonEmpty.build(),
        ratingTrial: this.ratingTrial.build(),
        ratingRegular: this.ratingRegular.build(),
        ratingEmpty: this.ratingEmpty.build(),
        keywords
      },
      analyzed: this.analyzed,
      sentiment: this.sentiment
    }
  }
}
