/** The co-partitioned assignment rule: whole, balanced, deterministic, sticky, and strict about partition counts. */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  assignCoPartitioned,
  assignPartitions,
  CoPartitioningError,
  type PartitionNumbers
} from "../../src/kernel/kafka/CoPartitionedAssignment.ts"

const members = fc.uniqueArray(fc.stringMatching(/^[a-z]{1,6}$/), { minLength: 1, maxLength: 8 })
const counts = fc.integer({ min: 0, max: 40 })

const moved = (before: PartitionNumbers, after: PartitionNumbers) => {
  const ownerBefore = new Map([...before].flatMap(([m, ps]) => ps.map((p) => [p, m] as const)))
  return [...after].flatMap(([m, ps]) => ps.filter((p) => ownerBefore.has(p) && ownerBefore.get(p) !== m)).length
}

describe("co-partitioned assignment", () => {
  it("gives every partition to exactly one member, each member floor or ceil of its share", () => {
    fc.assert(fc.property(members, counts, (ids, count) => {
      const plan = assignPartitions(ids, count)
      expect([...plan.keys()].sort()).toEqual([...ids].sort())
      expect([...plan.values()].flat().sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, p) => p))
      for (const partitions of plan.values()) {
        expect(partitions.length).toBeGreaterThanOrEqual(Math.floor(count / ids.length))
        expect(partitions.length).toBeLessThanOrEqual(Math.ceil(count / ids.length))
      }
    }))
  })

  it("is the same whatever order the members are listed in", () => {
    fc.assert(fc.property(members, counts, (ids, count) => {
      expect(assignPartitions([...ids].reverse(), count)).toEqual(assignPartitions(ids, count))
    }))
  })

  it("gives partition p of every topic to the same member", () => {
    const plan = assignCoPartitioned(["m1", "m2", "m3"], [{ topic: "a", partitions: 4 }, { topic: "b", partitions: 4 }, { topic: "c", partitions: 4 }])
    expect(Object.fromEntries(plan)).toEqual({
      m1: { a: [0, 1], b: [0, 1], c: [0, 1] },
      m2: { a: [2], b: [2], c: [2] },
      m3: { a: [3], b: [3], c: [3] }
    })
  })

  it("refuses topics whose partition counts differ, naming them", () => {
    expect(() => assignCoPartitioned(["m1"], [{ topic: "a", partitions: 3 }, { topic: "b", partitions: 4 }])).toThrow(CoPartitioningError)
    expect(() => assignCoPartitioned(["m1"], [{ topic: "a", partitions: 3 }, { topic: "b", partitions: 4 }])).toThrow(/a has 3, b has 4/)
  })

  it("leaves members without partitions when there are more members than partitions", () => {
    expect(Object.fromEntries(assignPartitions(["a", "b", "c"], 2))).toEqual({ a: [0], b: [1], c: [] })
  })

  it("moves only what a join or a leave requires when told what members hold", () => {
    fc.assert(fc.property(members, fc.integer({ min: 1, max: 40 }), fc.stringMatching(/^[A-Z]{1,3}$/), (ids, count, newcomer) => {
      const before = assignPartitions(ids, count)
      // A join: only partitions for the newcomer's share leave their holders.
      const joined = assignPartitions([...ids, newcomer], count, before)
      expect(moved(before, joined)).toBe(joined.get(newcomer)!.length)
      // A leave: only the leaver's partitions move.
      const left = assignPartitions(ids, count, new Map([...joined].filter(([m]) => m !== newcomer)))
      expect(moved(new Map([...joined].filter(([m]) => m !== newcomer)), left)).toBe(0)
    }))
  })
})
