/**
 * The input decoders' fast path: the shapes upstreams actually write (SPEC 3.1, 3.2),
 * checked and normalised by hand instead of by the Schema interpreter, which costs more
 * than parsing the JSON. It only ever says yes: anything it is not sure of returns
 * undefined, and the Schema decides (and words the dead letter). Property tests check
 * that every yes is the Schema's own answer.
 */
import type { JsonObject } from "../../kernel/source/JsonMessage.ts"
import type { AnalysisRecord } from "./AnalysisRecord.ts"
import { NUMERIC_TEXT, type Sentiment, sentimentWords } from "./Lenient.ts"
import { isIsoCalendarDate, type TransformReview } from "./TransformRecord.ts"

/** Returned by field readers when the field needs the Schema. */
const UNSURE = Symbol("unsure")
type Unsure = typeof UNSURE

const isId = (v: unknown): v is string => typeof v === "string" && v.length > 0

const string = (v: unknown): string | null | Unsure =>
  v === undefined || v === null ? null : typeof v === "string" ? v : UNSURE

const numericText = (v: string): number | Unsure => {
  if (!NUMERIC_TEXT.test(v)) return UNSURE
  const n = Number(v)
  return Number.isFinite(n) ? n : UNSURE
}

const number = (v: unknown): number | null | Unsure =>
  v === undefined || v === null
    ? null
    : typeof v === "number"
    ? (Number.isFinite(v) ? v : UNSURE)
    : typeof v === "string"
    ? numericText(v)
    : UNSURE

const int = (v: unknown): number | null | Unsure => {
  const n = number(v)
  return n === null || n === UNSURE || Number.isSafeInteger(n) ? n : UNSURE
}

/** A 0|1 flag (or a Spark boolean); undefined when absent or null (to be derived). */
const flag = (v: unknown): 0 | 1 | undefined | Unsure =>
  v === undefined || v === null ? undefined : v === 0 || v === 1 ? v : v === true ? 1 : v === false ? 0 : UNSURE

const isStringArray = (v: unknown): v is ReadonlyArray<string> => {
  if (!Array.isArray(v)) return false
  for (const s of v) if (typeof s !== "string") return false
  return true
}

type KeywordMap = TransformReview["keywords"]

const keywordMap = (v: unknown): KeywordMap | Unsure => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return UNSURE
  // A parsed `__proto__` key is an own property the Schema copies with care: leave it to the Schema.
  if (Object.hasOwn(v, "__proto__")) return UNSURE
  const map = v as Record<string, unknown>
  for (const keyword in map) {
    const tags = map[keyword]
    if (typeof tags !== "string" && !isStringArray(tags)) return UNSURE
  }
  return map as KeywordMap
}

const keywords = (v: unknown): KeywordMap | Unsure => {
  if (v === undefined || v === null) return {}
  if (typeof v !== "string") return keywordMap(v)
  try {
    return keywordMap(JSON.parse(v))
  } catch {
    return UNSURE
  }
}

const stringArray = (v: unknown): ReadonlyArray<string> | null | Unsure =>
  v === undefined || v === null ? null : isStringArray(v) ? v : UNSURE

const sentiment = (v: unknown): Sentiment | Unsure => {
  if (typeof v !== "string") return UNSURE
  const word = v.trim().toLowerCase()
  return Object.hasOwn(sentimentWords, word) ? sentimentWords[word]! : UNSURE
}

const TRIAL_PREFIX = "쿠팡체험단"
const bit = (b: boolean): 0 | 1 => (b ? 1 : 0)

/** `TransformRecordInput` decoded and `normaliseTransform`ed, or undefined: ask the Schema. */
export const fastTransform = (r: JsonObject): TransformReview | undefined => {
  const jobId = r["job_id"]
  const reviewId = r["review_id"]
  if (!isId(jobId) || !isId(reviewId)) return undefined
  const productId = string(r["product_id"])
  const title = string(r["title"])
  const tag = string(r["tag"])
  const category = string(r["category"])
  const reviewCount = int(r["review_count"])
  const salesPrice = int(r["sales_price"])
  const finalPrice = int(r["final_price"])
  const rating = number(r["rating"])
  const reviewDate = string(r["review_date"])
  const text = string(r["review_text"])
  const cleanText = string(r["clean_text"])
  const kw = keywords(r["keywords"])
  const helpCount = int(r["review_help_count"])
  const crawledAt = string(r["crawled_at"])
  const trial = flag(r["is_coupang_trial"])
  const empty = flag(r["is_empty_review"])
  const validRatingFlag = flag(r["is_valid_rating"])
  const validDateFlag = flag(r["is_valid_date"])
  const hasContentFlag = flag(r["has_content"])
  const validFlag = flag(r["is_valid"])
  const invalidReason = stringArray(r["invalid_reason"])
  const year = int(r["year"])
  const month = int(r["month"])
  const day = int(r["day"])
  const quarter = int(r["quarter"])
  const yyyymm = string(r["yyyymm"])
  const yyyymmdd = string(r["yyyymmdd"])
  const weekday = string(r["weekday"])
  if (
    productId === UNSURE || title === UNSURE || tag === UNSURE || category === UNSURE || reviewCount === UNSURE ||
    salesPrice === UNSURE || finalPrice === UNSURE || rating === UNSURE || reviewDate === UNSURE || text === UNSURE ||
    cleanText === UNSURE || kw === UNSURE || helpCount === UNSURE || crawledAt === UNSURE || trial === UNSURE ||
    empty === UNSURE || validRatingFlag === UNSURE || validDateFlag === UNSURE || hasContentFlag === UNSURE ||
    validFlag === UNSURE || invalidReason === UNSURE || year === UNSURE || month === UNSURE || day === UNSURE ||
    quarter === UNSURE || yyyymm === UNSURE || yyyymmdd === UNSURE || weekday === UNSURE
  ) return undefined
  // As normaliseTransform derives absent flags.
  const isEmpty = empty ?? bit(text === null || text.trim() === "")
  const hasContent = hasContentFlag ?? bit(isEmpty === 0)
  const validRating = validRatingFlag ?? bit(rating !== null && rating >= 0 && rating <= 5)
  const validDate = validDateFlag ?? bit(isIsoCalendarDate(reviewDate))
  return {
    job_id: jobId,
    review_id: reviewId,
    product_id: productId,
    title,
    tag: tag ?? category,
    review_count: reviewCount,
    sales_price: salesPrice,
    final_price: finalPrice,
    rating,
    review_date: reviewDate,
    review_text: text,
    clean_text: cleanText,
    keywords: kw,
    review_help_count: helpCount,
    crawled_at: crawledAt,
    is_coupang_trial: trial ?? bit(text !== null && text.startsWith(TRIAL_PREFIX)),
    is_empty_review: isEmpty,
    is_valid_rating: validRating,
    is_valid_date: validDate,
    has_content: hasContent,
    is_valid: validFlag ?? bit(hasContent === 1 && validRating === 1 && validDate === 1),
    invalid_reason: invalidReason,
    year,
    month,
    day,
    quarter,
    yyyymm,
    yyyymmdd,
    weekday
  }
}

/** `AnalysisRecord` decoded (optional keys present exactly when the input has them), or undefined: ask the Schema. */
export const fastAnalysis = (r: JsonObject): AnalysisRecord | undefined => {
  const jobId = r["job_id"]
  const reviewId = r["review_id"]
  if (!isId(jobId) || !isId(reviewId)) return undefined
  const s = sentiment(r["sentiment"])
  if (s === UNSURE) return undefined
  const summary = r["summary"]
  const trial = r["is_coupang_trial"]
  if (summary !== undefined && summary !== null && typeof summary !== "string") return undefined
  const trialFlag = flag(trial)
  if (trialFlag === UNSURE) return undefined
  const out: { -readonly [K in keyof AnalysisRecord]: AnalysisRecord[K] } = { job_id: jobId, review_id: reviewId, sentiment: s }
  if (summary !== undefined) out.summary = summary
  if (trial !== undefined) out.is_coupang_trial = trialFlag ?? null
  return out
}
