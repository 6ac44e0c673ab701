/**
 * What a kafkajs member claims when it rejoins a co-partitioned group: the partitions of
 * its last join, even after it gave them all up for the rebalance under way, so the
 * leader's sticky rule leaves them where they were.
 */
import { describe, expect, it } from "vitest"
import { assignPartitions } from "../../src/kernel/kafka/CoPartitionedAssignment.ts"
import { HeldPartitions } from "../../src/kernel/kafka/KafkaJsHeldPartitions.ts"

describe("kafkajs held partitions", () => {
  it("claims the last join's partitions after giving them up for a rebalance", () => {
    const held = new HeldPartitions()
    held.joined({ a: [0, 2], b: [0, 2] }, undefined)
    expect(held.partitionNumbers()).toEqual([0, 2])
    expect(held.giveUpAll().map((tp) => `${tp.topic}/${tp.partition}`).sort()).toEqual(["a/0", "a/2", "b/0", "b/2"])
    expect(held.partitionNumbers(), "claimed while rejoining").toEqual([0, 2])
  })

  it("so a member joining a group of one takes none of what the first still claims", () => {
    const first = new HeldPartitions()
    first.joined({ a: [0], b: [0] }, undefined)
    first.giveUpAll()
    // The leader's rule with what each member claims: the newcomer (id "a...") sorts first.
    const plan = assignPartitions(["a-newcomer", "z-first"], 1, new Map([["z-first", first.partitionNumbers()], ["a-newcomer", []]]))
    expect(plan.get("z-first")).toEqual([0])
    expect(plan.get("a-newcomer")).toEqual([])
  })

  it("claims what the latest join gave, not an older one", () => {
    const held = new HeldPartitions()
    held.joined({ a: [0, 1, 2] }, undefined)
    held.giveUpAll()
    held.joined({ a: [1] }, undefined)
    expect(held.partitionNumbers()).toEqual([1])
  })
})
