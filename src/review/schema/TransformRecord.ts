/**
 * A review as the Spark transform stage writes it (SPEC 3.1): lenient on input, and
 * normalised into `TransformReview`, whose field order is the joined row's.
 */
import { Schema } from "effect"
import { Flag, Id, Keywords, LenientInt, LenientNumber, optionalNullable } from "./Lenient.ts"

const Bit = Schema.Literals([0, 1])
type Bit = 0 | 1

/** What the transform topic carries. `category` is the Spark job's name for `tag`. */
export const TransformRecordInput = Schema.Struct({
  job_id: Id,
  review_id: Id,
  product_id: optionalNullable(Schema.String),
  title: optionalNullable(Schema.String),
  tag: optionalNullable(Schema.String),
  category: optionalNullable(Schema.String),
  review_count: optionalNullable(LenientInt),
  sales_price: optionalNullable(LenientInt),
  final_price: optionalNullable(LenientInt),
  rating: optionalNullable(LenientNumber),
  review_date: optionalNullable(Schema.String),
  review_text: optionalNullable(Schema.String),
  clean_text: optionalNullable(Schema.String),
  keywords: optionalNullable(Keywords),
  review_help_count: optionalNullable(LenientInt),
  crawled_at: optionalNullable(Schema.String),
  is_coupang_trial: optionalNullable(Flag),
  is_empty_review: optionalNullable(Flag),
  is_valid_rating: optionalNullable(Flag),
  is_valid_date: optionalNullable(Flag),
  has_content: optionalNullable(Flag),
  is_valid: optionalNullable(Flag),
  invalid_reason: optionalNullable(Schema.Array(Schema.String)),
  year: optionalNullable(LenientInt),
  month: optionalNullable(LenientInt),
  day: optionalNullable(LenientInt),
  quarter: optionalNullable(LenientInt),
  yyyymm: optionalNullable(Schema.String),
  yyyymmdd: optionalNullable(Schema.String),
  weekday: optionalNullable(Schema.String)
})
export type TransformRecordInput = typeof TransformRecordInput.Type

const NullableString = Schema.NullOr(Schema.String)
const NullableInt = Schema.NullOr(Schema.Int)

/** The normalised review; keys in SPEC 3.1 order, flags always 0|1. */
export const TransformReview = Schema.Struct({
  job_id: Schema.String,
  review_id: Schema.String,
  product_id: NullableString,
  title: NullableString,
  tag: NullableString,
  review_count: NullableInt,
  sales_price: NullableInt,
  final_price: NullableInt,
  rating: Schema.NullOr(Schema.Finite),
  review_date: NullableString,
  review_text: NullableString,
  clean_text: NullableString,
  keywords: Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Array(Schema.String)])),
  review_help_count: NullableInt,
  crawled_at: NullableString,
  is_coupang_trial: Bit,
  is_empty_review: Bit,
  is_valid_rating: Bit,
  is_valid_date: Bit,
  has_content: Bit,
  is_valid: Bit,
  invalid_reason: Schema.NullOr(Schema.Array(Schema.String)),
  year: NullableInt,
  month: NullableInt,
  day: NullableInt,
  quarter: NullableInt,
  yyyymm: NullableString,
  yyyymmdd: NullableString,
  weekday: NullableString
})
export type TransformReview = typeof TransformReview.Type

const TRIAL_PREFIX = "쿠팡체험단"
const bit = (b: boolean): Bit => (b ? 1 : 0)

/** `yyyy-MM-dd` naming a real calendar day, as Spark's `to_date(..., "yyyy-MM-dd")` accepts. */
export const isIsoCalendarDate = (s: string | null | undefined): boolean => {
  if (s === null || s === undefined) return false
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s)
  if (m === null) return false
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const date = new Date(Date.UTC(y, mo - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d
}

/** Fills absent flags the way the Spark job derives them; present flags are kept. */
export const normaliseTransform = (r: TransformRecordInput): TransformReview => {
  const text = r.review_text ?? null
  const rating = r.rating ?? null
  const isEmpty = r.is_empty_review ?? bit(text === null || text.trim() === "")
  const hasContent = r.has_content ?? bit(isEmpty === 0)
  const validRating = r.is_valid_rating ?? bit(rating !== null && rating >= 0 && rating <= 5)
  const validDate = r.is_valid_date ?? bit(isIsoCalendarDate(r.review_date))
  return {
    job_id: r.job_id,
    review_id: r.review_id,
    product_id: r.product_id ?? null,
    title: r.title ?? null,
    tag: r.tag ?? r.category ?? null,
    review_count: r.review_count ?? null,
    sales_price: r.sales_price ?? null,
    final_price: r.final_price ?? null,
    rating,
    review_date: r.review_date ?? null,
    review_text: text,
    clean_text: r.clean_text ?? null,
    keywords: r.keywords ?? {},
    review_help_count: r.review_help_count ?? null,
    crawled_at: r.crawled_at ?? null,
    is_coupang_trial: r.is_coupang_trial ?? bit(text !== null && text.startsWith(TRIAL_PREFIX)),
    is_empty_review: isEmpty,
    is_valid_rating: validRating,
    is_valid_date: validDate,
    has_content: hasContent,
    is_valid: r.is_valid ?? bit(hasContent === 1 && validRating === 1 && validDate === 1),
    invalid_reason: r.invalid_reason ?? null,
    year: r.year ?? null,
    month: r.month ?? null,
    day: r.day ?? null,
    quarter: r.quarter ?? null,
    yyyymm: r.yyyymm ?? null,
    yyyymmdd: r.yyyymmdd ?? null,
    weekday: r.weekday ?? null
  }
}
