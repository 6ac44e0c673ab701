/** SPEC 3: what the decoders accept from real upstreams, and how they say no. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { ConsumedRecord } from "../../src/kernel/kafka/KafkaPort.ts"
import { decode as decodeRecord, type Decoded } from "../../src/kernel/source/Source.ts"
import { reviewSources } from "../../src/review/ReviewSources.ts"

const sources = reviewSources({ transformTopic: "in", analysisTopic: "in", controlTopic: "in" })
const transformCodec = sources.transform
const analysisCodec = sources.analysis
const controlCodec = sources.control

const record = (value: string | Uint8Array | null, topic = "in"): ConsumedRecord => ({
  topic,
  partition: 2,
  offset: 41,
  timestamp: 0,
  key: new TextEncoder().encode("key"),
  value: typeof value === "string" ? new TextEncoder().encode(value) : value,
  headers: { h: "v" }
})

const one = <A>(decoded: ReadonlyArray<Decoded<A>>): Decoded<A> => {
  expect(decoded).toHaveLength(1)
  return decoded[0]!
}
const value = <A>(d: Decoded<A>): A => {
  if (d._tag === "Failure") throw new Error(`expected success, got ${d.failure.reason.type}: ${d.failure.reason.message}`)
  return d.success.value
}
const failure = <A>(d: Decoded<A>) => {
  if (d._tag === "Success") throw new Error("expected a failure")
  return d.failure
}

describe("message framing", () => {
  it("calls bytes that are not UTF-8 invalid_json instead of decoding replacement characters", () => {
    const f = failure(one(decodeRecord(transformCodec, record(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])))))
    expect(f.reason.type).toBe("invalid_json")
    expect(f.reason.message).toMatch(/UTF-8/)
  })

  it("calls unparseable text invalid_json and a JSON non-object schema", () => {
    expect(failure(one(decodeRecord(transformCodec, record("not json at all")))).reason.type).toBe("invalid_json")
    expect(failure(one(decodeRecord(transformCodec, record("[1,2,3]")))).reason).toMatchObject({ type: "schema", message: expect.stringMatching(/array/) })
    expect(failure(one(decodeRecord(transformCodec, record(null)))).reason.type).toBe("invalid_json")
  })

  it("splits a batch envelope; elements take the envelope's job_id and fail one by one with their index", () => {
    const decoded = decodeRecord(transformCodec, record(JSON.stringify({
      job_id: "j1",
      reviews: [{ review_id: "a" }, { review_id: "b", job_id: "j2" }, { review_id: "c", rating: "five" }, 7]
    })))
    expect(decoded).toHaveLength(4)
    expect(value(decoded[0]!)).toMatchObject({ job_id: "j1", review_id: "a" })
    expect(value(decoded[1]!)).toMatchObject({ job_id: "j2", review_id: "b" })
    const bad = failure(decoded[2]!)
    expect(bad.reason).toMatchObject({ type: "schema", headers: { "dlq.job_id": "j1" } })
    expect(bad.source.index).toBe(2)
    expect(bad.reason.message).toMatch(/^rating: /)
    expect(bad.raw?.["review_id"]).toBe("c")
    // The dead letter of an element is that element's own JSON, not the envelope.
    expect(bad.source.value).toBe(JSON.stringify({ review_id: "c", rating: "five" }))
    expect(failure(decoded[3]!).reason).toMatchObject({ type: "schema" })
    expect(failure(decoded[3]!).source.index).toBe(3)
  })

  it("accepts an analysis envelope under results", () => {
    const decoded = decodeRecord(analysisCodec, record(JSON.stringify({ job_id: "j", results: [{ review_id: "a", sentiment: "긍정" }] })))
    expect(value(one(decoded))).toMatchObject({ job_id: "j", review_id: "a", sentiment: "positive" })
  })
})

describe("transform record", () => {
  const decode = (v: unknown) => one(decodeRecord(transformCodec, record(JSON.stringify(v))))

  it("requires job_id and review_id as non-empty strings", () => {
    expect(failure(decode({ review_id: "r" })).reason.message).toMatch(/^job_id: /)
    expect(failure(decode({ job_id: "j", review_id: "" })).reason.message).toMatch(/^review_id: /)
    expect(failure(decode({ job_id: "j", review_id: 5 })).reason.message).toMatch(/^review_id: /)
  })

  it("accepts Spark booleans, numeric strings, category for tag and a JSON-encoded keyword map", () => {
    const r = value(decode({
      job_id: "j", review_id: "r", category: "가전", rating: "4.5", review_count: "12", is_coupang_trial: true,
      is_empty_review: false, keywords: JSON.stringify({ "소음": "조용함", "배송": ["빠름", "만족"] }), star_rating: 2
    }))
    expect(r).toMatchObject({ tag: "가전", rating: 4.5, review_count: 12, is_coupang_trial: 1, is_empty_review: 0 })
    expect(r.keywords).toEqual({ "소음": "조용함", "배송": ["빠름", "만족"] })
    expect(r).not.toHaveProperty("category")
    expect(r).not.toHaveProperty("star_rating")
  })

  it("derives absent flags the way the Spark job does", () => {
    expect(value(decode({ job_id: "j", review_id: "r", review_text: "쿠팡체험단 이벤트로 받은 상품", rating: 4, review_date: "2026-11-20" }))).toMatchObject({
      is_coupang_trial: 1, is_empty_review: 0, has_content: 1, is_valid_rating: 1, is_valid_date: 1, is_valid: 1, keywords: {}
    })
    expect(value(decode({ job_id: "j", review_id: "r", review_text: "  ", rating: null, review_date: "2026-02-30" }))).toMatchObject({
      is_coupang_trial: 0, is_empty_review: 1, has_content: 0, is_valid_rating: 0, is_valid_date: 0, is_valid: 0, rating: null
    })
    expect(value(decode({ job_id: "j", review_id: "r", review_text: "ok", rating: 7, review_date: "20261120" }))).toMatchObject({
      is_valid_rating: 0, is_valid_date: 0, is_valid: 0
    })
  })

  it("keeps flags that are present even when they disagree with the text", () => {
    expect(value(decode({ job_id: "j", review_id: "r", review_text: "", is_empty_review: 0 }))).toMatchObject({ is_empty_review: 0, has_content: 1 })
  })

  it("rejects wrong types with the field's name", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ rating: "다섯" }, /^rating: /],
      [{ review_count: 1.5 }, /^review_count: .*integer/],
      [{ is_valid: 2 }, /^is_valid: /],
      [{ keywords: 5 }, /^keywords: /],
      [{ keywords: { "소음": 3 } }, /^keywords\.소음: /],
      [{ keywords: "{not json" }, /^keywords: /],
      [{ invalid_reason: "x" }, /^invalid_reason: /],
      [{ title: 3 }, /^title: /]
    ]
    for (const [fields, message] of cases) {
      expect(failure(decode({ job_id: "j", review_id: "r", ...fields })).reason.message, JSON.stringify(fields)).toMatch(message)
    }
  })

  it("never throws, whatever the JSON", () =>
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const decoded = decodeRecord(transformCodec, record(JSON.stringify(v)))
      expect(decoded.length).toBeGreaterThan(0)
    })))
})

describe("analysis record", () => {
  const decode = (v: unknown) => one(decodeRecord(analysisCodec, record(JSON.stringify(v))))

  it("normalises sentiment words in English and Korean, any case, trimmed", () => {
    const words: Array<[string, string]> = [
      ["positive", "positive"], [" POS ", "positive"], ["긍정", "positive"],
      ["Negative", "negative"], ["neg", "negative"], ["부정", "negative"],
      ["neutral", "neutral"], ["NEU", "neutral"], ["중립 ", "neutral"]
    ]
    for (const [word, normalised] of words) {
      expect(value(decode({ job_id: "j", review_id: "r", sentiment: word })).sentiment, word).toBe(normalised)
    }
  })

  it("rejects an unknown or missing sentiment as a schema failure naming the word", () => {
    expect(failure(decode({ job_id: "j", review_id: "r", sentiment: "mixed" })).reason.message).toMatch(/sentiment.*"mixed"/)
    expect(failure(decode({ job_id: "j", review_id: "r" })).reason.message).toMatch(/^sentiment: /)
  })

  it("reads is_coupang_trial as 0|1 or boolean when present", () => {
    expect(value(decode({ job_id: "j", review_id: "r", sentiment: "pos", is_coupang_trial: true })).is_coupang_trial).toBe(1)
    expect(value(decode({ job_id: "j", review_id: "r", sentiment: "pos" })).is_coupang_trial).toBeUndefined()
  })
})

describe("control record", () => {
  const decode = (v: unknown) => one(decodeRecord(controlCodec, record(JSON.stringify(v))))

  it("reads the collector's message with completed_at and a count", () => {
    expect(value(decode({ job_id: "j", status: "DONE", step: "collection", expected_count: 120, completed_at: "2026-11-24T14:00:00+09:00" })))
      .toMatchObject({ status: "done", step: "collection", expected_count: 120 })
  })

  it("maps fail and error to failed and keeps failure_reason", () => {
    expect(value(decode({ job_id: "j", status: "fail", step: "transform", failure_reason: "spark died" }))).toMatchObject({ status: "failed", failure_reason: "spark died" })
    expect(value(decode({ job_id: "j", status: "Error", step: "analysis" })).status).toBe("failed")
  })

  it("rejects unknown statuses and steps, and a collection done without expected_count", () => {
    expect(failure(decode({ job_id: "j", status: "running", step: "transform" })).reason.message).toMatch(/status/)
    expect(failure(decode({ job_id: "j", status: "done", step: "shipping" })).reason.message).toMatch(/step/)
    expect(failure(decode({ job_id: "j", status: "done", step: "collection" })).reason.message).toMatch(/expected_count/)
    expect(failure(decode({ job_id: "j", status: "done", step: "collection", expected_count: -1 })).reason.message).toMatch(/expected_count/)
  })
})
