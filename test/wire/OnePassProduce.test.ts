/**
 * Records produced by kafkajs with the one-pass produce encoding patched in
 * (src/kernel/kafka/KafkaJsProduceEncoding.ts), as the service produces them, read back
 * by an independent client that checks every batch's CRC-32C (kcat, librdkafka's
 * `check.crcs`): keys, values, headers and timestamps come back as sent.
 */
import { type IHeaders, Kafka, logLevel } from "kafkajs"
import { createRequire } from "node:module"
import { afterAll, beforeAll, expect, it } from "vitest"
import { murmur2Partitioner } from "../../src/kernel/kafka/KafkaJsPartitioner.ts"
import { applyProduceEncoding } from "../../src/kernel/kafka/KafkaJsProduceEncoding.ts"
import { kcatRead } from "../support/Kcat.ts"
import { type MockKafkaCluster, startMockKafkaCluster } from "../support/MockKafkaCluster.ts"
import { describeWire } from "./WireSuite.ts"

const TOPIC = { name: "one-pass", partitions: 3 }
const utf8 = new TextDecoder()

interface Sent {
  readonly key: string | null
  readonly value: string
  readonly headers: Readonly<Record<string, string>>
  readonly timestamp: number
}

const sent: ReadonlyArray<Sent> = Array.from({ length: 600 }, (_, i) => ({
  key: i % 7 === 0 ? null : `job-${i % 5}|review-${i}`,
  // Kilobyte rows with text beyond ASCII, and small ones.
  value: i % 2 === 0 ? JSON.stringify({ i, text: "별점 다섯 개 ".repeat(60 + (i % 13)) }) : `{"i":${i}}`,
  headers: i % 3 === 0 ? {} : { traceparent: `00-${String(i).padStart(32, "0")}-${"b".repeat(16)}-01`, "changelog.frame": `${i}/600/599` },
  timestamp: 1_765_000_000_000 + i * 17
}))

interface Encoded {
  readonly buf: Buffer
  readonly offset: number
}
interface ProduceProtocol {
  protocol: (selected: { version: number }) => (args: unknown) => { request: { encode(): Promise<Encoded> } }
}

/**
 * Counts the Produce requests encoded into a buffer of exactly their size, which the
 * one-pass encoding writes and kafkajs's own encoder (buffers grown by powers of two)
 * does not: that the records below went through it, not through kafkajs's encoding.
 */
const countOnePassRequests = (): { readonly count: () => number; readonly restore: () => void } => {
  const produce: ProduceProtocol = createRequire(import.meta.url)("kafkajs/src/protocol/requests/produce/index.js")
  const patched = produce.protocol
  let exact = 0
  produce.protocol = (selected) => (args) => {
    const built = patched(selected)(args)
    const encode = built.request.encode
    built.request.encode = async () => {
      const encoded = await encode()
      if (encoded.buf.length === encoded.offset) exact++
      return encoded
    }
    return built
  }
  return { count: () => exact, restore: () => void (produce.protocol = patched) }
}

const asText = (headers: IHeaders | Readonly<Record<string, string>> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name, String(value)]))

describeWire("the one-pass produce encoding on the wire", { what: "the one-pass produce wire test", kcat: true }, () => {
  let cluster: MockKafkaCluster

  beforeAll(async () => {
    cluster = await startMockKafkaCluster({ topics: [TOPIC] })
  })

  afterAll(async () => {
    await cluster?.stop()
  })

  it("writes batches that kcat reads with their checksums verified, every record as sent", async () => {
    expect(applyProduceEncoding()).toBe(true)
    const onePass = countOnePassRequests()
    const kafka = new Kafka({ clientId: "one-pass", brokers: [...cluster.brokers], logLevel: logLevel.ERROR })
    // As the service produces: the kernel's partitioner too.
    const producer = kafka.producer({ createPartitioner: murmur2Partitioner })
    await producer.connect()
    try {
      // Two requests, so batches follow each other in a partition.
      for (const half of [sent.slice(0, 300), sent.slice(300)]) {
        await producer.sendBatch({
          acks: -1,
          topicMessages: [{
            topic: TOPIC.name,
            messages: half.map((s) => ({ key: s.key, value: Buffer.from(s.value), headers: { ...s.headers }, timestamp: String(s.timestamp) }))
          }]
        })
      }
    } finally {
      await producer.disconnect()
      onePass.restore()
    }
    expect(onePass.count(), "both requests encoded in one pass").toBe(2)

    const read = await kcatRead(cluster.bootstrap, TOPIC.name, { "check.crcs": "true" })
    const got = read.map((r) => ({
      key: r.key === null ? null : utf8.decode(r.key),
      value: utf8.decode(r.value!),
      headers: asText(r.headers),
      timestamp: r.timestamp
    }))
    expect(new Set(read.map((r) => r.partition)).size, "keys spread over the partitions").toBe(TOPIC.partitions)
    const byValue = (a: Sent, b: Sent) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)
    expect([...got].sort(byValue)).toEqual([...sent].sort(byValue))
  }, 60_000)
})
