/** The session-window join loses nothing: every side offered is joined once or comes back unmatched once. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Schema } from "effect"
import * as Join from "../../src/kernel/join/SessionJoin.ts"
import { KeyValueStore } from "../../src/kernel/store/KeyValueStore.ts"
import * as StoreKey from "../../src/kernel/store/StoreKey.ts"

/** A join over its own store; keys `k<n>` belong to group `g<n % 4>`; `at` sets the task clock. */
const newJoin = () => {
  const store = new KeyValueStore(Join.spec({
    name: "join",
    key: StoreKey.string,
    left: Schema.String,
    right: Schema.String,
    gapMs: 1_000,
    groupOf: (k) => `g${Number(k.slice(1)) % 4}`
  }))
  const join = new Join.SessionJoin(store)
  return Object.assign(join, {
    at: (now: number) => {
      store.now = now
      return join
    }
  })
}

type Step =
  | { readonly kind: "offer"; readonly key: number; readonly side: "left" | "right"; readonly skew: number }
  | { readonly kind: "advance"; readonly ms: number }
  | { readonly kind: "release"; readonly group: number }

const steps: fc.Arbitrary<ReadonlyArray<Step>> = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("offer" as const), key: fc.integer({ min: 0, max: 15 }), side: fc.constantFrom("left" as const, "right" as const), skew: fc.integer({ min: -3_000, max: 3_000 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 2_500 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("release" as const), group: fc.integer({ min: 0, max: 3 }) }) }
  ),
  { maxLength: 80 }
)

describe("SessionJoin", () => {
  it("accounts for every side exactly once: joined, or unmatched when its window closes or its group is released", () =>
    fc.assert(fc.property(steps, (script) => {
      const join = newJoin()
      let now = 0
      let joined = 0
      let unmatched = 0
      const offered = new Set<string>()
      for (const step of script) {
        if (step.kind === "advance") {
          now += step.ms
          unmatched += join.at(now).expire(now).length
        } else if (step.kind === "release") {
          unmatched += join.releaseGroup(`g${step.group}`).length
        } else {
          const id = `${step.key}/${step.side}`
          if (offered.has(id)) continue // callers dedupe before joining (ReviewIndex)
          offered.add(id)
          const result = join.at(now).offer(`k${step.key}`, step.side, id, now + step.skew)
          if (result._tag === "Joined") {
            joined++
            expect(result.left.endsWith("/left") && result.right.endsWith("/right")).toBe(true)
            expect(result.left.split("/")[0]).toBe(result.right.split("/")[0])
          } else unmatched += result.expired.length
        }
      }
      unmatched += join.expire(Number.MAX_SAFE_INTEGER).length
      expect(join.size).toBe(0)
      expect(2 * joined + unmatched).toBe(offered.size)
    })))

  it("joins sides whose record timestamps are within the gap, and closes a window gap ms after its last activity", () => {
    const join = newJoin()
    expect(join.at(0).offer("k1", "left", "L", 10_000)._tag).toBe("Buffered")
    expect(join.expire(999)).toEqual([])
    expect(join.expire(1_000).map((u) => u.side)).toEqual(["left"])
    join.at(2_000).offer("k1", "left", "L", 10_000)
    expect(join.at(2_500).offer("k1", "right", "R", 11_000)).toEqual({ _tag: "Joined", left: "L", right: "R" })
    join.at(3_000).offer("k2", "left", "L", 10_000)
    const far = join.offer("k2", "right", "R", 11_001)
    expect(far._tag === "Buffered" && far.expired.map((u) => u.side)).toEqual(["left"])
  })
})
