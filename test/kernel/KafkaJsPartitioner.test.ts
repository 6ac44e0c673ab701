/**
 * The producer's partitioner (src/kernel/kafka/KafkaJsPartitioner.ts) chooses as kafkajs's
 * DefaultPartitioner (Java's murmur2) does: the given partition, the key's hash, or round
 * robin over the partitions with a leader.
 */
import fc from "fast-check"
import { type PartitionerArgs, Partitioners } from "kafkajs"
import { describe, expect, it } from "vitest"
import { murmur2Partitioner } from "../../src/kernel/kafka/KafkaJsPartitioner.ts"

const metadata = (partitions: number, leaderless: ReadonlySet<number> = new Set()): PartitionerArgs["partitionMetadata"] =>
  Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: leaderless.has(partitionId) ? -1 : 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1]
  }))

describe("the producer's partitioner", () => {
  it("puts a keyed record where kafkajs's DefaultPartitioner puts it", () => {
    const ours = murmur2Partitioner()
    const kafkajs = Partitioners.DefaultPartitioner()
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "grapheme", maxLength: 60 }), fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)), fc.integer()),
        fc.integer({ min: 1, max: 300 }),
        (key, partitions) => {
          const args = { topic: "t", partitionMetadata: metadata(partitions), message: { key: key as string | Buffer, value: "v" } }
          expect(ours(args)).toBe(kafkajs(args))
        }
      ),
      { numRuns: 2_000 }
    )
  })

  it("keeps a partition given with the record", () => {
    const ours = murmur2Partitioner()
    expect(ours({ topic: "t", partitionMetadata: metadata(8), message: { key: "k", value: "v", partition: 5 } })).toBe(5)
    expect(ours({ topic: "t", partitionMetadata: metadata(8), message: { key: null, value: "v", partition: 0 } })).toBe(0)
  })

  it("spreads keyless records in turn over the partitions that have a leader, each topic on its own", () => {
    const ours = murmur2Partitioner()
    const partitionMetadata = metadata(6, new Set([1, 4]))
    const next = (topic: string) => ours({ topic, partitionMetadata, message: { key: null, value: "v" } })
    const first = next("a")
    const turn = [0, 2, 3, 5]
    const at = turn.indexOf(first)
    expect(at, `partition ${first} has a leader`).toBeGreaterThanOrEqual(0)
    const seen = Array.from({ length: 8 }, () => next("a"))
    expect(seen).toEqual(Array.from({ length: 8 }, (_, i) => turn[(at + 1 + i) % turn.length]))
    expect(turn).toContain(next("b"))
    // kafkajs's counters are a plain object: for this topic name its keyless records all went to partition 0.
    const inherited = new Set(Array.from({ length: 8 }, () => next("constructor")))
    expect(inherited.size, "a topic named like an Object member spreads too").toBe(turn.length)
    const none = metadata(3, new Set([0, 1, 2]))
    const fallback = ours({ topic: "c", partitionMetadata: none, message: { key: null, value: "v" } })
    expect(fallback, "no leader anywhere: still a partition of the topic").toBeGreaterThanOrEqual(0)
    expect(fallback).toBeLessThan(3)
  })
})
