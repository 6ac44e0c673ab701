/** Outputs leave in their Schema's JSON form, whether the Schema encodes them or they were built from decoded parts. */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as Sink from "../../src/kernel/output/Sink.ts"

const Row = Schema.Struct({ id: Schema.String, score: Schema.Finite, tags: Schema.Array(Schema.String), note: Schema.NullOr(Schema.String) })
const text = (v: string | Uint8Array | null) => (typeof v === "string" || v === null ? v : new TextDecoder("utf-8", { fatal: true }).decode(v))

describe("Sink", () => {
  it("writes a prevalidated value as UTF-8 bytes of the JSON the Schema's encoder gives", () => {
    const checked = Sink.make({ topic: "rows", schema: Row, key: (r) => r.id })
    const trusted = Sink.make({ topic: "rows", schema: Row, key: (r) => r.id, prevalidated: true })
    const rows = Array.from({ length: 300 }, (_, i) => ({
      id: `r${i}`,
      score: i / 7,
      tags: i % 2 === 0 ? ["품질", "만족 \"좋음\""] : [],
      note: i % 3 === 0 ? null : "쿠팡체험단 ".repeat(i % 40)
    }))
    for (const row of rows) {
      const a = checked.record(row)
      const b = trusted.record(row, { traceparent: "t" })
      expect(b.value).toBeInstanceOf(Uint8Array)
      expect(text(b.value)).toBe(text(a.value))
      expect(b).toMatchObject({ topic: "rows", key: row.id, headers: { traceparent: "t" } })
    }
    // Rows cut from one slab do not overlap.
    const first = trusted.record(rows[1]!).value
    const second = trusted.record(rows[2]!).value
    expect(text(first)).toBe(JSON.stringify(rows[1]))
    expect(text(second)).toBe(JSON.stringify(rows[2]))
  })

  it("still refuses a value that breaks its Schema when the Schema encodes it", () => {
    const checked = Sink.make({ topic: "rows", schema: Row, key: (r) => r.id })
    expect(() => checked.record({ id: "x", score: Number.NaN, tags: [], note: null })).toThrow()
  })
})
