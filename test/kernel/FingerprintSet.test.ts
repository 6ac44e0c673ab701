/**
 * A FingerprintSet answers membership for the members it was built from, whether built at
 * once or one member at a time past the builder's growth steps, and survives its bytes.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { FingerprintSet, FingerprintSetBuilder } from "../../src/kernel/state/FingerprintSet.ts"

describe("FingerprintSet", () => {
  it("holds every member it was built from and (barring a 64-bit collision) nothing else", () =>
    fc.assert(fc.property(fc.uniqueArray(fc.string(), { maxLength: 300 }), fc.array(fc.string(), { maxLength: 50 }), (members, others) => {
      const set = FingerprintSet.of(members)
      expect(set.size).toBe(members.length)
      for (const m of members) expect(set.has(m), m).toBe(true)
      for (const o of others) if (!members.includes(o)) expect(set.has(o), o).toBe(false)
    })))

  it("built one member at a time past several growth steps, equals the set built at once, also from its bytes", () => {
    const members = Array.from({ length: 5_000 }, (_, i) => `r${i}`)
    const builder = new FingerprintSetBuilder()
    for (const m of members) builder.add(m)
    const built = builder.build()
    expect(built.size).toBe(5_000)
    expect(Buffer.from(built.toBytes())).toEqual(Buffer.from(FingerprintSet.of([...members].reverse()).toBytes()))
    const restored = FingerprintSet.fromBytes(built.toBytes())
    expect(members.every((m) => restored.has(m))).toBe(true)
    expect(restored.has("r5000")).toBe(false)
    expect(built.chunks(2_000).map((c) => c.size)).toEqual([2_000, 2_000, 1_000])
  })
})
