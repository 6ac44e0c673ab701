/** The decoders' fast path says yes only with the Schema's own answer, and says it for what upstreams write. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Result, Schema } from "effect"
import { generateJobLines } from "../../src/app/ReviewGenerator.ts"
import type { JsonObject } from "../../src/kernel/source/JsonMessage.ts"
import * as Source from "../../src/kernel/source/Source.ts"
import { AnalysisRecord } from "../../src/review/schema/AnalysisRecord.ts"
import { fastAnalysis, fastTransform } from "../../src/review/schema/FastPath.ts"
import { normaliseTransform, TransformRecordInput } from "../../src/review/schema/TransformRecord.ts"
import { joinRow } from "../../src/review/JoinedRow.ts"
import { JoinedRow } from "../../src/review/schema/OutputRecords.ts"

// The Schema alone, as the sources decode what the fast path leaves to it.
const schemaTransform = Source.make({ topic: "t", schema: TransformRecordInput, map: normaliseTransform }).decodeElement
const schemaAnalysis = Source.make({ topic: "a", schema: AnalysisRecord }).decodeElement

const anyJson = fc.oneof(
  fc.constantFrom(undefined, null, true, false, 0, 1, -0, 2, -1, 0.5, 4.5, 1e21, 2 ** 53, -(2 ** 53) - 2, 1e308),
  fc.constantFrom("", " ", "4", " 4.5 ", "-3", "+7", "1e3", "1e400", ".5", "5.", "0x10", "다섯", "4,5", "\u00a07\u00a0", "2026-11-03"),
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.constantFrom([], ["a"], ["a", 1], [null], {}, { a: 1 })
)
const keywordsValue = fc.oneof(
  anyJson,
  fc.dictionary(fc.constantFrom("품질", "소음", "a", "constructor", "__proto__", "1"), fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), anyJson)),
  fc.constantFrom('{"품질":"만족"}', '{"a":["x","y"]}', '{"a":1}', "[]", "{", '"x"', "null", '{"__proto__":"x"}')
)
const sentimentValue = fc.oneof(
  fc.constantFrom("positive", " NEG ", "Neutral", "긍정", "부정 ", "중립", "pos", "neu", "constructor", "toString", "__proto__", "happy", ""),
  anyJson
)

// Mostly well-formed values (so that many records pass), now and then anything.
const mostly = <A>(good: fc.Arbitrary<A>) => fc.oneof({ arbitrary: good, weight: 30 }, { arbitrary: anyJson, weight: 1 })
const str = mostly(fc.oneof(fc.string(), fc.constant(null)))
const int = mostly(fc.oneof(fc.integer(), fc.constantFrom(null, "120", " 7 ", "1e3", "4.0", "-0")))
const num = mostly(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(null, "4.5", ".5", "5.", "1e400")))
const flag = mostly(fc.constantFrom(0, 1, -0, true, false, null))

const transformFields = {
  job_id: mostly(fc.constantFrom("j1", "j2")), review_id: mostly(fc.constantFrom("r1", "r2")), product_id: str, title: str,
  tag: str, category: str, review_count: int, sales_price: int, final_price: int, rating: num,
  review_date: mostly(fc.constantFrom("2026-11-03", "2026-02-30", "2026/11/03", null)),
  review_text: mostly(fc.oneof(fc.string(), fc.constantFrom("쿠팡체험단 좋아요", "   ", null))), clean_text: str,
  keywords: mostly(keywordsValue), review_help_count: int, crawled_at: str, is_coupang_trial: flag, is_empty_review: flag,
  is_valid_rating: flag, is_valid_date: flag, has_content: flag, is_valid: flag,
  invalid_reason: mostly(fc.oneof(fc.constant(null), fc.array(fc.string(), { maxLength: 2 }))), year: int, month: int, day: int,
  quarter: int, yyyymm: str, yyyymmdd: str, weekday: str, extra: anyJson
}
const analysisFields = {
  job_id: mostly(fc.constantFrom("j1", "j2")), review_id: mostly(fc.constantFrom("r1", "r2")), sentiment: sentimentValue,
  summary: str, is_coupang_trial: flag, extra: anyJson
}

/** Records as JSON.parse gives them: absent keys absent, never `undefined` values. */
const record = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.record(fields, { requiredKeys: [] }).map((r) => JSON.parse(JSON.stringify(r)) as JsonObject)

const accepted = { count: 0 }
const agrees = <A>(fast: (r: JsonObject) => A | undefined, schema: (r: JsonObject) => Result.Result<A, string>) => (r: JsonObject) => {
  const quick = fast(r)
  if (quick === undefined) return
  accepted.count++
  const full = schema(r)
  if (Result.isFailure(full)) throw new Error(`fast path accepted what the Schema rejects (${full.failure}): ${JSON.stringify(r)}`)
  // Equal values (numbers by Object.is), the same keys present, in the same order: rows are written in this order.
  // (Not toStrictEqual: it reads a keyword named "constructor" as the object's class.)
  expect(quick).toEqual(full.success)
  expect(Object.keys(quick as object)).toEqual(Object.keys(full.success as object))
  expect(JSON.stringify(quick)).toBe(JSON.stringify(full.success))
}

describe("decoder fast path", () => {
  it("accepts a transform record only as the Schema decodes and normalises it", () => {
    accepted.count = 0
    fc.assert(fc.property(record(transformFields), agrees(fastTransform, schemaTransform)), { numRuns: 3000 })
    // The property is not vacuous: a good share of the records took the fast path.
    expect(accepted.count).toBeGreaterThan(300)
  })

  it("accepts an analysis record only as the Schema decodes it", () => {
    accepted.count = 0
    fc.assert(fc.property(record(analysisFields), agrees(fastAnalysis, schemaAnalysis)), { numRuns: 3000 })
    expect(accepted.count).toBeGreaterThan(300)
  })

  it("takes every record the generator writes (its lenient forms included), with the Schema's result", () => {
    let transforms = 0
    let analyses = 0
    for (const line of generateJobLines({ jobId: "j", reviews: 2_000, seed: 5 })) {
      if (line.topic === "control") continue
      const r = JSON.parse(line.value) as JsonObject
      const fast = line.topic === "transform" ? fastTransform(r) : fastAnalysis(r)
      expect(fast, line.value).toBeDefined()
      agrees<unknown>(line.topic === "transform" ? fastTransform : fastAnalysis, line.topic === "transform" ? schemaTransform : schemaAnalysis)(r)
      if (line.topic === "transform") transforms++
      else analyses++
    }
    expect([transforms, analyses]).toEqual([2_000, 2_000])
  })

  it("leaves what it cannot vouch for to the Schema", () => {
    expect(fastTransform({ job_id: "j", review_id: "r", rating: "다섯" })).toBeUndefined()
    expect(fastTransform({ job_id: "j", review_id: "r", keywords: JSON.parse('{"__proto__":"x"}') })).toBeUndefined()
    expect(fastAnalysis({ job_id: "j", review_id: "r", sentiment: "constructor" })).toBeUndefined()
    expect(fastAnalysis({ job_id: "", review_id: "r", sentiment: "positive" })).toBeUndefined()
  })

  it("builds joined rows with the JoinedRow Schema's fields in its order (rows skip the Schema's encoder)", () => {
    const t = fastTransform({ job_id: "j", review_id: "r", rating: 4, keywords: { a: "b" } })!
    const row = joinRow(t, fastAnalysis({ job_id: "j", review_id: "r", sentiment: "긍정" })!)
    expect(Object.keys(row)).toEqual(Object.keys(JoinedRow.fields))
    expect(Schema.encodeSync(Schema.toCodecJson(JoinedRow))(row)).toEqual(row)
  })
})
