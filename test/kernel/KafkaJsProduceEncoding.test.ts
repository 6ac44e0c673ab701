/**
 * The one-pass produce encoding (src/kernel/kafka/KafkaJsProduceEncoding.ts) writes the
 * bytes kafkajs's own Produce v3 encoding writes, for every request it takes, and leaves
 * the rest to kafkajs; its checksum is the CRC-32C kafkajs computes.
 */
import fc from "fast-check"
import { createRequire } from "node:module"
import { afterEach, describe, expect, it, vi } from "vitest"
import { crc32c } from "../../src/kernel/kafka/Crc32c.ts"
import { applyProduceEncoding, encodeProduceRequest, type ProduceRequestArgs } from "../../src/kernel/kafka/KafkaJsProduceEncoding.ts"

const require = createRequire(import.meta.url)
interface Encoded {
  readonly buffer: Buffer
}
const kafkajsRequest: (args: ProduceRequestArgs) => { encode(): Promise<Encoded> } = require("kafkajs/src/protocol/requests/produce/v3/request.js")
const kafkajsCrc32c: (bytes: Buffer) => number = require("kafkajs/src/protocol/recordBatch/crc32C/index.js")
const kafkajsLong: { fromValue(v: unknown): unknown } = require("kafkajs/src/utils/long.js")

const kafkajsBytes = async (args: ProduceRequestArgs): Promise<Buffer> => (await kafkajsRequest(args).encode()).buffer

const ourBytes = (args: ProduceRequestArgs): Buffer => {
  const encoded = encodeProduceRequest(args)
  if (encoded === undefined) throw new Error("the request was left to kafkajs")
  return encoded.buf.subarray(0, encoded.offset)
}

// Lone surrogates too: they are three bytes of U+FFFD in both encodings' UTF-8.
const text = fc.string({ unit: fc.oneof(fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }), fc.constantFrom("\ud800", "\udfff", "\u0000")), maxLength: 40 })
const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))
const keyOrValue = fc.oneof(fc.constant(null), fc.constant(undefined), text, bytes)
const headerValue = fc.oneof(text, bytes)
const headers = fc.option(
  fc.dictionary(fc.oneof(text, fc.constantFrom("0", "17", "traceparent")), fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })), { maxKeys: 3 }),
  { nil: undefined }
)
// Milliseconds as kafkajs's producer passes them (strings) and as numbers; a few digits
// shorter or longer so that kafkajs's string sort of them shows (it picks "999" after "1000").
const timestamp = fc.option(
  fc.oneof(
    fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }).map(String),
    fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }),
    fc.integer({ min: 0, max: 99_999 }).map(String),
    // Zero: kafkajs takes the clock's time for it (`timestamp || now`).
    fc.constantFrom(0, "0")
  ),
  { nil: undefined }
)
const message = fc.record({ key: keyOrValue, value: keyOrValue, headers, timestamp }, { requiredKeys: [] })
const partition = fc.record({
  partition: fc.integer({ min: 0, max: 200 }),
  firstSequence: fc.option(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { nil: undefined }),
  messages: fc.array(message, { maxLength: 12 })
})
const request: fc.Arbitrary<ProduceRequestArgs> = fc.record({
  acks: fc.constantFrom(-1, 0, 1),
  timeout: fc.integer({ min: 0, max: 60_000 }),
  compression: fc.constantFrom(undefined, 0),
  transactionalId: fc.option(text, { nil: undefined }),
  producerId: fc.option(fc.oneof(fc.integer({ min: -1, max: 2 ** 40 }), fc.bigInt({ min: 0n, max: 2n ** 62n }).map((v) => kafkajsLong.fromValue(v))), { nil: undefined }),
  producerEpoch: fc.option(fc.integer({ min: 0, max: 32_767 }), { nil: undefined }),
  topicData: fc.array(fc.record({ topic: text, partitions: fc.array(partition, { maxLength: 3 }) }), { maxLength: 3 })
}, { requiredKeys: ["acks", "timeout", "topicData"] })

afterEach(() => {
  vi.restoreAllMocks()
})

describe("the one-pass produce encoding", () => {
  it("writes the bytes kafkajs writes, for any request it takes", async () => {
    // Records without a timestamp take the clock's: the same clock for both encodings.
    vi.spyOn(Date, "now").mockReturnValue(1_765_000_000_000)
    await fc.assert(
      fc.asyncProperty(request, async (args) => {
        expect(ourBytes(args).equals(await kafkajsBytes(args))).toBe(true)
      }),
      { numRuns: 400 }
    )
  })

  it("writes a kilobyte row with its trace header as kafkajs does", async () => {
    const row = Buffer.from(JSON.stringify({ text: "리뷰 ".repeat(200) }))
    const args: ProduceRequestArgs = {
      acks: -1,
      timeout: 30_000,
      topicData: [{
        topic: "review-joined",
        partitions: [{
          partition: 3,
          messages: Array.from({ length: 500 }, (_, i) => ({
            key: Buffer.from(`job-1|review-${i}`),
            value: row,
            headers: { traceparent: `00-${"a".repeat(32)}-${"b".repeat(16)}-01` },
            timestamp: String(1_765_000_000_000 + i * 3)
          }))
        }]
      }]
    }
    expect(ourBytes(args).equals(await kafkajsBytes(args))).toBe(true)
  })

  it("leaves to kafkajs what it does not take: compression, other value types, headers kafkajs rejects", () => {
    const one = (m: object, compression?: number): ProduceRequestArgs => ({
      acks: -1,
      timeout: 1000,
      ...(compression === undefined ? {} : { compression }),
      topicData: [{ topic: "t", partitions: [{ partition: 0, messages: [{ value: "v", timestamp: "1", ...m }] }] }]
    })
    expect(encodeProduceRequest(one({}, 1)), "gzip").toBeUndefined()
    expect(encodeProduceRequest(one({ value: 42 })), "a number value").toBeUndefined()
    expect(encodeProduceRequest(one({ key: new Uint8Array([1]) })), "a Uint8Array that is no Buffer").toBeUndefined()
    expect(encodeProduceRequest(one({ headers: null })), "null headers").toBeUndefined()
    expect(encodeProduceRequest(one({ headers: { h: null } })), "a null header value").toBeUndefined()
    expect(encodeProduceRequest(one({ timestamp: "1.5" })), "a fractional timestamp delta").toBeUndefined()
    expect(encodeProduceRequest({ ...one({}), compression: null } as unknown as ProduceRequestArgs), "a null compression (kafkajs fails it)").toBeUndefined()
    expect(encodeProduceRequest({ acks: -1, timeout: 1000, topicData: [{ topic: null as unknown as string, partitions: [] }] }), "a topic without a name").toBeUndefined()
    const holed = [{ value: "a" }, , { value: "c" }] as Array<{ value: string }>
    expect(encodeProduceRequest({ acks: -1, timeout: 1000, topicData: [{ topic: "t", partitions: [{ partition: 0, messages: holed }] }] }), "a hole in the records").toBeUndefined()
    expect(encodeProduceRequest(one({})), "the plain case is taken").toBeDefined()
  })

  it("computes kafkajs's CRC-32C over any range in place", () => {
    expect(crc32c(Buffer.from("123456789")), "the CRC-32C check value").toBe(0xe3069283)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(20), fc.nat(20), (a, cutStart, cutEnd) => {
        const b = Buffer.from(a)
        const start = Math.min(cutStart, b.length)
        const end = Math.max(start, b.length - cutEnd)
        expect(crc32c(b, start, end)).toBe(kafkajsCrc32c(b.subarray(start, end)))
      })
    )
  })

  it("is what kafkajs's Produce requests of version 3 and later encode with, once patched", async () => {
    expect(applyProduceEncoding(), "kafkajs's produce protocol has the shape the patch knows").toBe(true)
    expect(applyProduceEncoding(), "patching again is harmless").toBe(true)
    const produce: { protocol(v: { version: number }): (args: ProduceRequestArgs) => { request: { encode(): Promise<Encoded & { buf: Buffer }> } } } =
      require("kafkajs/src/protocol/requests/produce/index.js")
    const args: ProduceRequestArgs = { acks: -1, timeout: 1000, topicData: [{ topic: "t", partitions: [{ partition: 0, messages: [{ key: "k", value: "v", timestamp: "7" }] }] }] }
    const expected = await kafkajsBytes(args)
    const own = encodeProduceRequest(args)!
    for (const version of [3, 5, 7]) {
      const encoded = await produce.protocol({ version })(args).request.encode()
      expect(encoded.buffer.equals(expected), `version ${version}: the same bytes`).toBe(true)
      expect(encoded.buf.length, `version ${version}: one exact-size buffer, not kafkajs's grown one`).toBe(own.offset)
    }
    // Below version 3 a request is a message set, not record batches: kafkajs's own.
    const v2 = await produce.protocol({ version: 2 })(args).request.encode()
    const kafkajsV2: (a: ProduceRequestArgs) => { encode(): Promise<Encoded> } = require("kafkajs/src/protocol/requests/produce/v2/request.js")
    expect(v2.buffer.equals((await kafkajsV2(args).encode()).buffer), "version 2 is left to kafkajs").toBe(true)
  })
})
