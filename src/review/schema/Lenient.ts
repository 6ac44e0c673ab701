/**
 * Field codecs that accept what the real upstreams write (Spark booleans, numeric
 * strings, JSON-encoded keyword maps, Korean sentiment words) and decode to the strict
 * shapes every output uses.
 */
import { Schema, SchemaTransformation } from "effect"

/** Optional field that may also be `null`; both mean "absent". */
export const optionalNullable = <S extends Schema.Top>(schema: S) => Schema.optionalKey(Schema.NullOr(schema))

const Bit = Schema.Literals([0, 1])

/** A 0|1 flag; Spark writes booleans. */
export const Flag = Schema.Union([
  Bit,
  Schema.Boolean.pipe(Schema.decodeTo(Bit, SchemaTransformation.transform({
    decode: (b: boolean) => (b ? 1 : 0) as 0 | 1,
    encode: (bit) => bit === 1
  })))
])

/** What a numeric string looks like (blanks around it allowed). */
export const NUMERIC_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/

/** A decimal number written as a string; blank or other text is rejected (not read as 0). */
const NumericString = Schema.String.check(
  Schema.isPattern(NUMERIC_TEXT, { message: "Expected a number or a numeric string" })
).pipe(Schema.decodeTo(Schema.Finite, SchemaTransformation.transform({
  decode: (s: string) => Number(s),
  encode: (n) => String(n)
})))

/** A finite number, or a string holding one (`"4.5"`). */
export const LenientNumber = Schema.Union([Schema.Finite, NumericString])

/** An integer, or a string holding one (`"120"`). */
export const LenientInt = Schema.Union([Schema.Int, NumericString.check(Schema.isInt())])

const KeywordMap = Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Array(Schema.String)]))

/** keyword -> tag (or tags); the whole map may arrive JSON-encoded. */
export const Keywords = Schema.Union([KeywordMap, Schema.fromJsonString(KeywordMap)])
export type Keywords = typeof KeywordMap.Type

export const sentimentWords: Readonly<Record<string, Sentiment>> = {
  positive: "positive",
  pos: "positive",
  "긍정": "positive",
  negative: "negative",
  neg: "negative",
  "부정": "negative",
  neutral: "neutral",
  neu: "neutral",
  "중립": "neutral"
}

export const Sentiments = ["positive", "negative", "neutral"] as const
export type Sentiment = (typeof Sentiments)[number]

/** Sentiment in English or the LLM stage's Korean, any case, surrounding blanks ignored. */
export const SentimentWord = Schema.String.check(
  Schema.makeFilter((s: string) =>
    sentimentWords[s.trim().toLowerCase()] !== undefined ||
    `unknown sentiment "${s}" (expected positive|negative|neutral, pos|neg|neu or 긍정|부정|중립)`
  )
).pipe(Schema.decodeTo(Schema.Literals(Sentiments), SchemaTransformation.transform<Sentiment, string>({
  decode: (s) => sentimentWords[s.trim().toLowerCase()]!,
  encode: (s) => s
})))

/** Non-empty identifier string (job_id, review_id). */
export const Id = Schema.NonEmptyString
