/**
 * How kafkajs batches reach the reader: a batch whose log runs on past its last record
 * with records kafkajs filtered out (transaction markers, aborted transactions) carries
 * the position after them, and a fetch of such records only becomes an empty batch with
 * that position, so the reader does not take the partition for one holding unread records.
 * (The mock cluster has no transactions: kafkajs's batch is stood in for here.)
 */
import { describe, expect, it } from "vitest"
import type { KafkaMessage } from "kafkajs"
import { filteredBatch, toRecordBatch } from "../../src/kernel/kafka/KafkaJsConsumer.ts"

const message = (offset: number): KafkaMessage => ({
  key: null,
  value: Buffer.from(`v${offset}`),
  timestamp: String(1_000 + offset),
  attributes: 0,
  offset: String(offset),
  headers: {}
}) as KafkaMessage

/** kafkajs's Batch as the adapter reads it: `lastOffset()` counts the records it filtered out. */
const kafkajsBatch = (offsets: ReadonlyArray<number>, lastOffset: number, highWatermark: number) => ({
  topic: "t",
  partition: 3,
  messages: offsets.map(message),
  highWatermark: String(highWatermark),
  lastOffset: () => String(lastOffset)
})

describe("kafkajs batches", () => {
  it("carry no position of their own when their last record is the last one fetched", () => {
    const batch = toRecordBatch(kafkajsBatch([4, 5, 6], 6, 10))
    expect(batch.records.map((r) => r.offset)).toEqual([4, 5, 6])
    expect(batch.highWatermark).toBe(10)
    expect(batch.nextOffset).toBeUndefined()
  })

  it("carry the position after a transaction marker that follows their last record", () => {
    const batch = toRecordBatch(kafkajsBatch([4, 5, 6], 7, 8))
    expect(batch.records.map((r) => r.offset)).toEqual([4, 5, 6])
    expect(batch.nextOffset).toBe(8)
  })

  it("a fetch of filtered records only is an empty batch with its position; any other is handed out as usual", () => {
    expect(filteredBatch({ topic: "t", partition: 3, highWatermark: "12", batchSize: 0, lastOffset: "11" })).toEqual({
      topic: "t",
      partition: 3,
      records: [],
      highWatermark: 12,
      nextOffset: 12
    })
    expect(filteredBatch({ topic: "t", partition: 3, highWatermark: "12", batchSize: 2, lastOffset: "11" })).toBeUndefined()
  })
})
