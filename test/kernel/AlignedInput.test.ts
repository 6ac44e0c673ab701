/**
 * Aligned consumption: buffered batches are cut into events in record-timestamp order
 * across topics and partitions; a partition known to hold unread records holds the cut
 * back for at most the idle time; events and the buffer are bounded. When partitions are
 * revoked, what was buffered of them is forgotten (their next holder reads it from the
 * committed offset) and they no longer hold the cut of the others back.
 */
import { describe, expect, it } from "vitest"
import type { ConsumedRecord, RecordBatch } from "../../src/kernel/kafka/KafkaPort.ts"
import { AlignedInput } from "../../src/kernel/runtime/AlignedInput.ts"
import { offsetsOf } from "../../src/kernel/runtime/InputEvent.ts"

const settings = { idleMs: 100, maxEventRecords: 1_000, maxEventBytes: 1024 * 1024 }

/** A batch of `topic`/`partition` from `offset`, one record per timestamp, each `size` value bytes. */
const batch = (
  topic: string,
  partition: number,
  offset: number,
  timestamps: ReadonlyArray<number>,
  highWatermark?: number,
  size = 1
): RecordBatch => ({
  topic,
  partition,
  records: timestamps.map((timestamp, i): ConsumedRecord => ({
    topic,
    partition,
    offset: offset + i,
    timestamp,
    key: null,
    value: new Uint8Array(size),
    headers: {}
  })),
  highWatermark: highWatermark ?? offset + timestamps.length
})

const order = (records: ReadonlyArray<ConsumedRecord>) => records.map((r) => `${r.topic}${r.partition}@${r.offset}`)

describe("AlignedInput", () => {
  it("merges topics and partitions by record timestamp, stable by offset within a partition", () => {
    const input = new AlignedInput(settings)
    input.add(batch("t", 0, 0, [1, 4, 4, 9]))
    input.add(batch("a", 0, 10, [2, 3, 8]))
    input.add(batch("a", 1, 0, [4, 5]))
    const event = input.cut(0)!
    expect(order(event.records)).toEqual(["t0@0", "a0@10", "a0@11", "t0@1", "t0@2", "a1@0", "a1@1", "a0@12", "t0@3"])
    expect(offsetsOf(event)).toEqual(expect.arrayContaining([
      { topic: "t", partition: 0, offset: 4 },
      { topic: "a", partition: 0, offset: 13 },
      { topic: "a", partition: 1, offset: 2 }
    ]))
    expect(event.partitions).toHaveLength(3)
    expect(input.cut(0), "everything taken: nothing left to cut").toBeUndefined()
  })

  it("waits for a partition known to hold unread records, and takes it in order once it arrives", () => {
    const input = new AlignedInput(settings)
    // Transform partition 0 holds 6 records (watermark 6) but only 3 are fetched.
    input.add(batch("t", 0, 0, [1, 3, 5], 6))
    input.add(batch("a", 0, 0, [2, 4, 6, 8, 10]))
    const first = input.cut(0)!
    expect(order(first.records), "stops where t0 runs empty: its next record may come first").toEqual(["t0@0", "a0@0", "t0@1", "a0@1", "t0@2"])
    expect(offsetsOf(first)).toEqual([{ topic: "t", partition: 0, offset: 3 }, { topic: "a", partition: 0, offset: 2 }])
    expect(input.cut(1), "held back while t0 has nothing buffered").toBeUndefined()
    expect(input.deadline(), "the reader waits at most the idle time").toBe(100)
    input.add(batch("t", 0, 3, [7, 9, 11]))
    expect(order(input.cut(2)!.records)).toEqual(["a0@2", "t0@3", "a0@3", "t0@4", "a0@4", "t0@5"])
  })

  it("passes over a lagging partition once the idle time has passed, until it has records again", () => {
    const input = new AlignedInput(settings)
    input.add(batch("t", 0, 0, [1], 10))
    input.add(batch("a", 0, 0, [2, 3, 4]))
    expect(order(input.cut(1_000)!.records)).toEqual(["t0@0"])
    expect(input.cut(1_050), "within the idle time").toBeUndefined()
    expect(input.cut(1_099), "still within the idle time").toBeUndefined()
    expect(order(input.cut(1_100)!.records), "idle time over: t0 is passed over").toEqual(["a0@0", "a0@1", "a0@2"])
    input.add(batch("t", 0, 1, [5], 10))
    input.add(batch("a", 0, 3, [6, 7]))
    expect(order(input.cut(1_101)!.records), "t0 has records again: it holds the cut back anew when it runs empty").toEqual(["t0@1"])
    expect(input.cut(1_102)).toBeUndefined()
    expect(input.deadline()).toBe(1_201)
  })

  it("never waits for a partition with no known unread records", () => {
    const input = new AlignedInput(settings)
    input.add(batch("t", 0, 0, [1, 2]))
    input.observe("a", 0, 0, undefined)
    input.observe("a", 1, 5, 5)
    expect(order(input.cut(0)!.records)).toEqual(["t0@0", "t0@1"])
  })

  it("waits for a partition the broker reports unread records of, before any batch of it came", () => {
    const input = new AlignedInput(settings)
    input.add(batch("t", 0, 0, [5, 6]))
    input.observe("a", 0, 3, undefined)
    expect(input.cut(0), "a0 holds 3 records from the earliest offset").toBeUndefined()
    input.add(batch("a", 0, 0, [1, 2, 7]))
    expect(order(input.cut(0)!.records)).toEqual(["a0@0", "a0@1", "t0@0", "t0@1", "a0@2"])
  })

  it("bounds an event by records, keeping a partly taken batch for the next event", () => {
    const input = new AlignedInput({ ...settings, maxEventRecords: 3 })
    input.add(batch("t", 0, 0, [1, 2, 3, 4, 5]))
    const first = input.cut(0)!
    expect(order(first.records)).toEqual(["t0@0", "t0@1", "t0@2"])
    expect(offsetsOf(first), "commits only what the event took").toEqual([{ topic: "t", partition: 0, offset: 3 }])
    expect(input.buffered).toBe(2)
    const second = input.cut(0)!
    expect(order(second.records)).toEqual(["t0@3", "t0@4"])
    expect(offsetsOf(second)).toEqual([{ topic: "t", partition: 0, offset: 5 }])
  })

  it("bounds an event by bytes (at least one record)", () => {
    const input = new AlignedInput({ ...settings, maxEventBytes: 250 })
    input.add(batch("t", 0, 0, [1, 2, 3, 4], undefined, 100))
    expect(order(input.cut(0)!.records), "the record that reaches the bound ends the event").toEqual(["t0@0", "t0@1", "t0@2"])
    const big = new AlignedInput({ ...settings, maxEventBytes: 10 })
    big.add(batch("t", 0, 0, [1, 2], undefined, 100))
    expect(order(big.cut(0)!.records)).toEqual(["t0@0"])
  })

  it("is full at four events' worth, and a full buffer is cut whatever holds it back", () => {
    const input = new AlignedInput({ ...settings, maxEventRecords: 2 })
    input.add(batch("t", 0, 0, [1], 100))
    input.add(batch("a", 0, 0, [2, 3, 4, 5, 6, 7]))
    expect(input.full).toBe(false)
    expect(order(input.cut(0)!.records)).toEqual(["t0@0"])
    expect(input.cut(0), "t0 holds the cut back").toBeUndefined()
    input.add(batch("a", 0, 6, [8, 9]))
    expect(input.full).toBe(true)
    expect(order(input.cut(0)!.records), "full: cut in timestamp order of what is buffered").toEqual(["a0@0", "a0@1"])
    expect(input.full).toBe(false)
    expect(input.cut(0), "no longer full: t0 holds the cut back again").toBeUndefined()
  })

  it("drops records it already fetched (a redelivery after a rebalance)", () => {
    const input = new AlignedInput(settings)
    input.add(batch("t", 0, 0, [1, 2, 3]))
    input.add(batch("t", 0, 1, [2, 3, 4, 5]))
    expect(order(input.cut(0)!.records)).toEqual(["t0@0", "t0@1", "t0@2", "t0@3", "t0@4"])
  })
})

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

describe("AlignedInput flow control", () => {
  const lead = { ...settings, maxLeadMs: 1_000 }
  const names = (tps: ReadonlyArray<{ topic: string; partition: number }> | undefined) => (tps ?? []).map((tp) => `${tp.topic}${tp.partition}`)

  it("pauses a partition fetched more than the lead past the slowest one with unread records, and resumes it at half the lead", () => {
    const input = new AlignedInput(lead)
    // Both hold more than was fetched (watermark 100); a0 is fetched up to 10 000 ms, t0 to 50 ms.
    input.add(batch("t", 0, 0, [0, 50], 100))
    input.add(batch("a", 0, 0, [9_000, 10_000], 100))
    const first = input.flow()!
    expect(names(first.pause)).toEqual(["a0"])
    expect(first.resume).toEqual([])
    expect(input.flow(), "nothing changed since: nothing to tell").toBeUndefined()
    // t0 moves to within the lead but not within half of it: a0 stays paused.
    input.add(batch("t", 0, 2, [9_400], 100))
    expect(input.flow()).toBeUndefined()
    input.add(batch("t", 0, 3, [9_500], 100))
    expect(names(input.flow()!.resume), "frontier 9 500 = 10 000 - lead / 2").toEqual(["a0"])
  })

  it("never pauses the slowest partition, and lets one caught up with its watermark go", () => {
    const input = new AlignedInput(lead)
    input.add(batch("t", 0, 0, [0], 2))
    input.add(batch("a", 0, 0, [5_000], 2))
    input.add(batch("a", 1, 0, [8_000], 100))
    expect(names(input.flow()!.pause)).toEqual(["a0", "a1"])
    // t0 is read to its end: nothing unread there holds the others back any more.
    input.add(batch("t", 0, 1, [10], 2))
    expect(names(input.flow()!.resume), "a0 is the slowest now; a1 is within the lead of it").toEqual(["a0"])
    input.add(batch("a", 0, 1, [7_600], 2))
    expect(names(input.flow()!.resume), "a0 read to its end: a1 holds the only unread records").toEqual(["a1"])
  })

  it("does not count partitions never fetched (their timestamps are unknown), and forgets dropped ones", () => {
    const input = new AlignedInput(lead)
    input.observe("t", 0, 100, 0)
    input.add(batch("a", 0, 0, [0, 5_000], 100))
    expect(input.flow(), "t0 holds unread records, but nothing says how early they are").toBeUndefined()
    input.add(batch("t", 0, 0, [0], 100))
    expect(names(input.flow()!.pause)).toEqual(["a0"])
    input.drop([{ topic: "a", partition: 0 }])
    expect(input.flow(), "a dropped partition is not resumed: its pause went with it").toBeUndefined()
    input.add(batch("a", 0, 2, [6_000], 100))
    expect(names(input.flow()!.pause), "assigned again, it is judged afresh").toEqual(["a0"])
  })

  it("takes a batch of a partition thought paused as a lost pause, and pauses it again", () => {
    const input = new AlignedInput(lead)
    input.add(batch("t", 0, 0, [0], 100))
    input.add(batch("a", 0, 0, [5_000], 100))
    expect(names(input.flow()!.pause)).toEqual(["a0"])
    // The client rejoined and forgot the pause: a0's next batch comes.
    input.add(batch("a", 0, 1, [5_100], 100))
    expect(names(input.flow()!.pause)).toEqual(["a0"])
  })

  it("with no lead, pauses whatever is ahead of the slowest partition", () => {
    const input = new AlignedInput({ ...settings, maxLeadMs: 0 })
    input.add(batch("t", 0, 0, [10], 100))
    input.add(batch("a", 0, 0, [11], 100))
    input.add(batch("a", 1, 0, [10], 100))
    expect(names(input.flow()!.pause)).toEqual(["a0"])
  })

  it("tells the client again what it wants for a partition whose batch came while it was paused", () => {
    const input = new AlignedInput({ ...settings, maxLeadMs: 250 })
    input.add(batch("a", 0, 0, [0], 100))
    input.add(batch("b", 0, 0, [1_000], 100))
    expect(names(input.flow()!.pause)).toEqual(["b0"])
    input.add(batch("a", 0, 1, [800], 100))
    expect(input.flow(), "b0 is still more than half the lead ahead").toBeUndefined()
    // A batch of b0 fetched before the pause (or after a lost one) comes now, within the lead:
    // whether the client still pauses b0 is unknown, so it is told, although nothing changed.
    input.add(batch("b", 0, 1, [1_040], 100))
    expect(names(input.flow()!.pause)).toEqual(["b0"])
    input.add(batch("a", 0, 2, [1_400], 100))
    const next = input.flow()!
    expect(names(next.resume), "a0 moved past b0: b0 is the slowest now").toEqual(["b0"])
    expect(names(next.pause)).toEqual(["a0"])
  })

  it("never waits for a paused partition, so its pause does not use up the idle time of the slowest one", () => {
    const input = new AlignedInput({ ...settings, maxLeadMs: 250 })
    input.add(batch("c", 0, 0, [0], 100))
    input.add(batch("b", 0, 0, [1_000], 100))
    expect(names(input.flow()!.pause)).toEqual(["b0"])
    expect(order(input.cut(0)!.records)).toEqual(["c0@0"])
    expect(order(input.cut(100)!.records), "the idle time over, c0 is passed over once").toEqual(["b0@0"])
    // b0 is paused with nothing buffered, and holds unread records: it is not waited for,
    // so once c0 has records again, c0 running empty gets a fresh idle time.
    input.add(batch("c", 0, 1, [10, 20], 100))
    expect(order(input.cut(200)!.records)).toEqual(["c0@1", "c0@2"])
    input.add(batch("a", 0, 0, [30], 1))
    expect(input.cut(250), "c0 may hold a record earlier than a0's").toBeUndefined()
    expect(input.deadline()).toBe(300)
    expect(order(input.cut(300)!.records)).toEqual(["a0@0"])
  })

  it("takes a position past filtered records (transaction markers) as read: such a partition holds nothing unread", () => {
    const input = new AlignedInput({ ...settings, maxLeadMs: 250 })
    // t0's last data record is at offset 4; offset 5 is a transaction marker the client filtered out.
    input.add({ ...batch("t", 0, 0, [0, 1, 2, 3, 4], 6), nextOffset: 6 })
    input.add(batch("a", 0, 0, [5_000], 100))
    expect(input.flow(), "t0 read to its end does not hold a0 back").toBeUndefined()
    // A batch of markers only: no record, a position.
    input.add(batch("u", 0, 0, [0], 10))
    expect(names(input.flow()!.pause)).toEqual(["a0"])
    input.add({ topic: "u", partition: 0, records: [], highWatermark: 10, nextOffset: 10 })
    expect(names(input.flow()!.resume)).toEqual(["a0"])
    expect(order(input.cut(0)!.records)).toEqual(["t0@0", "u0@0", "t0@1", "t0@2", "t0@3", "t0@4", "a0@0"])
  })
})
