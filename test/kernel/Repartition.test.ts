/**
 * The kernel's repartition stage with a domain of its own (orders keyed by customer):
 * stateless, one task per partition, a record whose key cannot be read but which decodes
 * is still dead-lettered (it cannot be placed), and the origin headers read back into the
 * original SourceRef, refusing headers it did not write.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import type { ConsumedRecord } from "../../src/kernel/kafka/KafkaPort.ts"
import { sourceRefOf } from "../../src/kernel/source/DeadLetter.ts"
import { hasOrigin, OriginHeader, originalSource, originalTimestamp, originHeaders } from "../../src/kernel/source/OriginHeaders.ts"
import * as Source from "../../src/kernel/source/Source.ts"
import { TaskHarness } from "../../src/kernel/testing/TaskHarness.ts"
import { repartition } from "../../src/kernel/topology/Repartition.ts"

const Order = Schema.Struct({ order: Schema.String, customer: Schema.optional(Schema.String) })
const orders = Source.make({ topic: "orders", schema: Order, envelope: { field: "items", inherit: ["customer"] } })
const customerOf = (raw: Readonly<Record<string, unknown>>) => (typeof raw.customer === "string" ? raw.customer : undefined)

const stage = (partitions = 4) => repartition({ name: "by-customer", applicationId: "shop", partitions, inputs: [{ source: orders, keyOf: customerOf }] })

const record = (value: string, more: Partial<ConsumedRecord> = {}): ConsumedRecord => ({
  topic: "orders",
  partition: 3,
  offset: 12,
  timestamp: 1_000,
  key: new Uint8Array([1, 2, 3]),
  value: new TextEncoder().encode(value),
  headers: { origin: "web" },
  ...more
})

describe("Repartition (kernel)", () => {
  it("is a stateless task per input partition over the inputs' topics", () => {
    const definition = stage()
    expect([definition.topics, definition.stores, definition.partitioning]).toEqual([["orders"], [], "perPartition"])
    expect(() => stage(0)).toThrow(/partitions must be a positive integer/)
  })

  it("dead-letters an element that decodes but has no key: it cannot be placed", () => {
    const harness = new TaskHarness(stage(), { applicationId: "shop", dlqTopic: "dlq" })
    const { records } = harness.process({ topic: "orders", value: JSON.stringify({ items: [{ order: "o1", customer: "c1" }, { order: "o2" }] }) }).endBatch()
    expect(records.map((r) => [r.topic, r.key, r.headers?.["dlq.error.type"], r.headers?.["dlq.source.index"]])).toEqual([
      ["dlq", null, "schema", "1"],
      ["shop-orders-repartition", "c1", undefined, undefined]
    ])
    expect(records[0]!.headers?.["dlq.error.message"]).toBe("no key to partition the record by")
  })
})

describe("OriginHeaders", () => {
  it("round-trip a record's coordinates, binary key and headers into its SourceRef", () => {
    const original = record(`{"order":"o1","customer":"c1"}`)
    const moved: ConsumedRecord = { ...original, topic: "shop-orders-repartition", partition: 0, offset: 4, key: new TextEncoder().encode("c1"), headers: originHeaders(original) }
    expect(hasOrigin(moved.headers)).toBe(true)
    expect(originalSource(sourceRefOf(moved))).toEqual(sourceRefOf(original))
    expect(originalTimestamp({ ...moved, timestamp: 5 })).toBe(1_000)
  })

  it("keep a null key null and a record without a timestamp at -1", () => {
    const original = record("{}", { key: null, timestamp: -1 })
    const moved = { ...original, topic: "x", headers: originHeaders(original) }
    expect(moved.headers[OriginHeader.key]).toBeUndefined()
    expect(originalSource(sourceRefOf(moved)).key).toBeNull()
    expect(originalTimestamp(moved)).toBe(-1)
  })

  it("leave a record that was not repartitioned as it is", () => {
    const ref = sourceRefOf(record("{}"))
    expect(hasOrigin(ref.headers)).toBe(false)
    expect(originalSource(ref)).toBe(ref)
  })

  it("refuse origin headers they did not write, naming the header", () => {
    const headers = originHeaders(record("{}"))
    const ref = (changed: Record<string, string>, index?: number) => ({ ...sourceRefOf(record("{}")), headers: { ...headers, ...changed }, index })
    expect(() => originalSource(ref({ [OriginHeader.offset]: "twelve" }))).toThrow(/repartition\.source\.offset/)
    expect(() => originalSource(ref({ [OriginHeader.partition]: "-1" }))).toThrow(/repartition\.source\.partition/)
    expect(() => originalSource(ref({ [OriginHeader.indices]: "0,x" }, 0))).toThrow(/repartition\.source\.indices/)
    expect(() => originalSource(ref({ [OriginHeader.indices]: "4" }, 1))).toThrow(/lists 1 elements/)
    expect(originalSource(ref({ [OriginHeader.indices]: "4,9" }, 1)).index).toBe(9)
  })
})
