/**
 * Aligned consumption when partitions are revoked: what was buffered of them is forgotten
 * (their next holder reads it from the committed offset), and a revoked partition known
 * to hold unread records no longer holds the cut of the others back.
 */
import { describe, expect, it } from "vitest"
import type { ConsumedRecord, RecordBatch } from "../../src/kernel/kafka/KafkaPort.ts"
import { AlignedInput } from "../../src/kernel/runtime/AlignedInput.ts"

const settings = { idleMs: 100, maxEventRecords: 1_000, maxEventBytes: 1024 * 1024 }

const batch = (topic: string, partition: number, offset: number, timestamps: ReadonlyArray<number>, highWatermark?: number): RecordBatch => ({
  topic,
  partition,
  records: timestamps.map((timestamp, i): ConsumedRecord => ({
    topic,
    partition,
    offset: offset + i,
    timestamp,
    key: null,
    value: new Uint8Array(1),
    headers: {}
  })),
  highWatermark: highWatermark ?? offset + timestamps.length
})

const order = (records: ReadonlyArray<ConsumedRecord>) => records.map((r) => `${r.topic}${r.partition}@${r.offset}`)

describe("AlignedInput.drop", () => {
  it("forgets the buffered records of dropped partitions and keeps the others in order", () => {
    const input = new AlignedInput(settings)
    input.add(batch("a", 0, 0, [1, 3, 5]))
    input.add(batch("a", 1, 0, [2, 4]))
    input.add(batch("b", 1, 0, [0, 6]))
    input.drop([{ topic: "a", partition: 1 }, { topic: "b", partition: 1 }])
    expect(input.buffered).toBe(3)
    const event = input.cut(0)!
    expect(order(event.records)).toEqual(["a0@0", "a0@1", "a0@2"])
    expect(event.partitions.map((p) => `${p.topic}${p.partition}`)).toEqual(["a0"])
  })

  it("lets a dropped partition with unread records stop holding the cut back", () => {
    const input = new AlignedInput(settings)
    input.add(batch("a", 0, 0, [1, 2]))
    // Partition 1 is known to hold records none of which is fetched: the cut waits for it.
    input.observe("a", 1, 10, 0)
    expect(input.cut(0), "held back while a1 may hold earlier records").toBeUndefined()
    input.drop([{ topic: "a", partition: 1 }])
    expect(order(input.cut(0)!.records)).toEqual(["a0@0", "a0@1"])
  })

  it("starts a partition assigned again from the offset of its next batch", () => {
    const input = new AlignedInput(settings)
    input.add(batch("a", 0, 0, [1, 2, 3]))
    input.drop([{ topic: "a", partition: 0 }])
    // Another member handled 0..1 meanwhile; this one gets the partition back from offset 2.
    input.add(batch("a", 0, 2, [3, 4]))
    const event = input.cut(0)!
    expect(order(event.records)).toEqual(["a0@2", "a0@3"])
    expect(event.partitions[0]!.nextOffset).toBe(4)
  })
})
