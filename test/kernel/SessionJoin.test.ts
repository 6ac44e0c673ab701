/** The session-window join loses nothing: every side offered is joined once or comes back unmatched once. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { SessionJoin } from "../../src/kernel/join/SessionJoin.ts"

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
      const join = new SessionJoin<string, string>(1_000)
      let now = 0
      let joined = 0
      let unmatched = 0
      const offered = new Set<string>()
      for (const step of script) {
        if (step.kind === "advance") {
          now += step.ms
          unmatched += join.expire(now).length
        } else if (step.kind === "release") {
          unmatched += join.releaseGroup(`g${step.group}`).length
        } else {
          const id = `${step.key}/${step.side}`
          if (offered.has(id)) continue // callers dedupe before joining (ReviewIndex)
          offered.add(id)
          const result = join.offer(`k${step.key}`, `g${step.key % 4}`, step.side, id, now + step.skew, now)
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
    const join = new SessionJoin<string, string>(1_000)
    expect(join.offer("k", "g", "left", "L", 10_000, 0)._tag).toBe("Buffered")
    expect(join.expire(999)).toEqual([])
    expect(join.expire(1_000).map((u) => u.side)).toEqual(["left"])
    join.offer("k", "g", "left", "L", 10_000, 2_000)
    expect(join.offer("k", "g", "right", "R", 11_000, 2_500)).toEqual({ _tag: "Joined", left: "L", right: "R" })
    join.offer("k2", "g", "left", "L", 10_000, 3_000)
    const far = join.offer("k2", "g", "right", "R", 11_001, 3_000)
    expect(far._tag === "Buffered" && far.expired.map((u) => u.side)).toEqual(["left"])
  })
})
