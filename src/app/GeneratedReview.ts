/**
 * One generated review as the Spark transform and the LLM analysis stages write it,
 * in a lenient form picked at random, with the facts the generator's truth counts.
 */
import {
  closings, emptySummary, phrases, sentimentWords, tagsOf, TRIAL_PREFIX, unknownSentiments, weekdays,
  type Phrase, type Product, type Tone
} from "./KoreanText.ts"

export type Sentiment = "positive" | "negative" | "neutral"

export type Json = Record<string, unknown>

/** mulberry32: tiny, fast, and good enough for test data. */
export const random = (seed: number) => {
  let s = seed >>> 0
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    chance: (p: number) => next() < p,
    pick: <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]!
  }
}
export type Random = ReturnType<typeof random>

const byTone = (tone: Tone) => phrases.filter((p) => p.tone === tone)
const phrasesByTone: Record<Tone, ReadonlyArray<Phrase>> = { [-1]: byTone(-1), 0: byTone(0), 1: byTone(1) }

const pickRating = (r: Random): number => {
  const u = r.next()
  return u < 0.45 ? 5 : u < 0.7 ? 4 : u < 0.8 ? 3 : u < 0.87 ? 2 : u < 0.94 ? 1 : u < 0.97 ? 4.5 : 3.5
}

/** Numbers as numbers, sometimes as the numeric strings some upstream versions write. */
const lenientNumber = (r: Random, n: number): number | string => (r.chance(0.15) ? String(n) : n)

const dayMs = 86_400_000
const crawlDay = Date.UTC(2026, 10, 23)

const dateFields = (r: Random) => {
  const d = new Date(crawlDay - r.int(45) * dayMs)
  const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]
  const mm = String(m).padStart(2, "0")
  const dd = String(day).padStart(2, "0")
  if (r.chance(0.02)) {
    const raw = r.chance(0.5) ? `${y}/${mm}/${dd}` : "3일 전"
    return { review_date: raw, valid: false, year: null, month: null, day: null, quarter: null, yyyymm: null, yyyymmdd: null, weekday: null }
  }
  return {
    review_date: `${y}-${mm}-${dd}`, valid: true, year: y, month: m, day, quarter: Math.ceil(m / 3),
    yyyymm: `${y}${mm}`, yyyymmdd: `${y}${mm}${dd}`, weekday: weekdays[d.getUTCDay()]!
  }
}

/** keyword -> tag, sometimes tag arrays; the whole map sometimes JSON-encoded, null or absent. */
const keywordsField = (r: Random, chosen: ReadonlyArray<Phrase>): { readonly present: boolean; readonly value?: unknown } => {
  const map: Record<string, string | Array<string>> = {}
  for (const p of chosen) {
    const other = tagsOf(p.keyword).find((t) => t !== p.tag)
    map[p.keyword] = !r.chance(0.2) ? p.tag : other !== undefined && r.chance(0.5) ? [p.tag, other] : [p.tag]
  }
  const u = r.next()
  if (u < 0.65) return { present: true, value: map }
  if (u < 0.85) return { present: true, value: JSON.stringify(map) }
  return u < 0.93 ? { present: true, value: null } : { present: false }
}

export interface JobContext {
  readonly jobId: string
  readonly product: Product
  readonly productId: string
  readonly productReviews: number
  readonly idWidth: number
  readonly trialShare: number
  readonly emptyShare: number
  readonly nullRatingShare: number
}

export interface Review {
  readonly transform: Json
  readonly analysis: Json
  readonly flags: { readonly empty: boolean; readonly trial: boolean; readonly valid: boolean; readonly rating: number | null }
  readonly sentiment: Sentiment
}

export const makeReview = (r: Random, job: JobContext, i: number): Review => {
  const reviewId = `r${String(i + 1).padStart(job.idWidth, "0")}`
  const empty = r.chance(job.emptyShare)
  const trial = !empty && r.chance(job.trialShare)
  const rating = r.chance(job.nullRatingShare) ? null : pickRating(r)
  const tone: Tone = rating === null ? r.pick([-1, 0, 1] as const) : rating >= 4 ? 1 : rating <= 2.5 ? -1 : 0
  const chosen: Array<Phrase> = []
  if (!empty || r.chance(0.3)) {
    for (let n = 1 + r.int(3); n > 0; n--) {
      const p = r.chance(0.75) ? r.pick(phrasesByTone[tone]) : r.pick(phrases)
      if (!chosen.some((c) => c.keyword === p.keyword)) chosen.push(p)
    }
  }
  const closing = r.chance(0.4) ? r.pick(closings) : undefined
  const body = [...chosen.map((p) => p.text), ...(closing === undefined ? [] : [closing.text])].join(". ")
  const text = empty ? r.pick(["", "", null, "   "]) : trial ? `${TRIAL_PREFIX} ${body}` : body
  const score = empty ? tone : chosen.reduce<number>((s, p) => s + p.tone, closing?.tone ?? 0)
  const sentiment = r.chance(0.1)
    ? r.pick(["positive", "negative", "neutral"] as const)
    : score > 0 ? "positive" : score < 0 ? "negative" : "neutral"
  const date = dateFields(r)
  const validRating = rating !== null && rating >= 0 && rating <= 5
  const valid = !empty && validRating && date.valid
  const flagStyle = r.next()
  const flag = (b: boolean) => (flagStyle < 0.6 ? (b ? 1 : 0) : b)
  const flags = flagStyle < 0.8
    ? {
      is_coupang_trial: flag(trial), is_empty_review: flag(empty), is_valid_rating: flag(validRating),
      is_valid_date: flag(date.valid), has_content: flag(!empty), is_valid: flag(valid)
    }
    : {} // absent: the aggregator derives them the way Spark does
  const keywords = keywordsField(r, chosen)
  const transform: Json = {
    job_id: job.jobId,
    review_id: reviewId,
    product_id: job.productId,
    title: job.product.title,
    [r.chance(0.2) ? "category" : "tag"]: job.product.category,
    review_count: lenientNumber(r, job.productReviews),
    sales_price: lenientNumber(r, job.product.salesPrice),
    final_price: lenientNumber(r, job.product.finalPrice),
    rating: rating === null ? null : lenientNumber(r, rating),
    review_date: date.review_date,
    review_text: text,
    clean_text: text === null ? null : text.replace(/[.,!?~]/g, "").replace(/\s+/g, " ").trim(),
    ...(keywords.present ? { keywords: keywords.value } : {}),
    review_help_count: r.int(50),
    crawled_at: "2026-11-24T01:02:03Z",
    ...flags,
    invalid_reason: [
      ...(empty ? ["empty_review"] : []), ...(validRating ? [] : ["invalid_rating"]), ...(date.valid ? [] : ["invalid_date"])
    ],
    year: date.year, month: date.month, day: date.day, quarter: date.quarter,
    yyyymm: date.yyyymm, yyyymmdd: date.yyyymmdd, weekday: date.weekday
  }
  const trialStyle = r.next()
  const analysis: Json = {
    job_id: job.jobId,
    review_id: reviewId,
    summary: text === null || text.trim() === "" ? emptySummary : `요약: ${body}`,
    sentiment: r.pick(sentimentWords[sentiment]),
    ...(trialStyle < 0.6 ? { is_coupang_trial: trial ? 1 : 0 } : trialStyle < 0.7 ? { is_coupang_trial: trial } : {})
  }
  return { transform, analysis, flags: { empty, trial, valid, rating }, sentiment }
}

/** Undecodable variants of a transform record (SPEC 3.1 `schema` failures), applied in turn. */
export const spoilers: ReadonlyArray<(t: Json) => void> = [
  (t) => void (t["rating"] = "다섯"),
  (t) => void (t["keywords"] = 42),
  (t) => void (t["rating"] = "4점"),
  (t) => void (t["keywords"] = "{배송: 빠름"),
  (t) => void (t["is_coupang_trial"] = "Y"),
  (t) => void (t["review_count"] = "많음")
]

/** An analysis record no decoder accepts: unknown sentiment, or none. */
export const garbled = (analysis: Json, n: number): Json => {
  const { sentiment: _sentiment, ...rest } = analysis
  return n % 4 === 3 ? rest : { ...rest, sentiment: unknownSentiments[n % unknownSentiments.length] }
}

