/**
 * Kafka clients compared (issue 10, item 5): kafkajs and @platformatic/kafka encoding the
 * same produce requests and decoding the same record batches in process, a bare kafkajs
 * producer (acks=all) on the mock cluster, and whether @platformatic/kafka can talk to it.
 *
 *   node --import tsx bench/PlatformaticFloor.ts [--records N] [--json]
 */
import { createRequire } from "node:module"
import { cpus } from "node:os"
import { Producer, produceV7, readRecordsBatch, Reader, type MessageRecord } from "@platformatic/kafka"
import { CompressionTypes, Kafka, logLevel, Partitioners } from "kafkajs"
import { partitionForKey } from "../src/kernel/kafka/Murmur2.ts"
import { startMockKafkaCluster } from "../test/support/MockKafkaCluster.ts"
import { caseLines, caseSize } from "./BenchCase.ts"

/** kafkajs's internal encoders and decoders (no public API): the code its producer and consumer run. */
const kafkaJsInternals = (() => {
  const load = createRequire(import.meta.url)
  return {
    produceV7: load("kafkajs/src/protocol/requests/produce/v7/request") as (request: {
      acks: number
      timeout: number
      compression: number
      topicData: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<{ partition: number; messages: ReadonlyArray<KafkaJsMessage> }> }>
    }) => { encode: () => Promise<{ buffer: Buffer }> },
    decodeBatch: load("kafkajs/src/protocol/recordBatch/v0/decoder") as (decoder: unknown) => Promise<{ records: ReadonlyArray<{ key: Buffer | null; value: Buffer | null }> }>,
    Decoder: load("kafkajs/src/protocol/decoder") as new (buffer: Buffer) => unknown
  }
})()

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

interface KafkaJsMessage {
  readonly key: Buffer
  readonly value: Buffer
}

const TOPIC = "review-rows"
const PARTITIONS = 8
/** Records per produce request and per decoded batch: about what one partition batch of the service writes. */
const PER_REQUEST = 1_000
const ROUNDS = 3

interface Row {
  readonly key: Buffer
  readonly value: Buffer
  readonly partition: number
}

/** ~1 KB JSON values (the generator's transform records), keyed by review, partitioned as Java clients do. */
const rows = (count: number): ReadonlyArray<Row> => {
  const out: Array<Row> = []
  for (const line of caseLines(caseSize("wire", "one-job", count))) {
    if (line.topic !== "transform") continue
    const key = Buffer.from(`review-${out.length}`)
    out.push({ key, value: Buffer.from(line.value), partition: partitionForKey(key, PARTITIONS) })
    if (out.length === count) break
  }
  return out
}

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

interface Timing {
  readonly seconds: number
  readonly cpuMicros: number
}

const timed = async (work: () => Promise<number>): Promise<Timing & { readonly bytes: number }> => {
  const wall = performance.now()
  const cpu = process.cpuUsage()
  const bytes = await work()
  const used = process.cpuUsage(cpu)
  return { seconds: (performance.now() - wall) / 1000, cpuMicros: used.user + used.system, bytes }
}

/** Produce v7 requests (acks=all, no compression) as kafkajs's producer builds them, to bytes. */
const kafkaJsEncode = async (requests: ReadonlyArray<ReadonlyArray<Row>>): Promise<number> => {
  let bytes = 0
  for (const request of requests) {
    const byPartition = new Map<number, Array<KafkaJsMessage>>()
    for (const r of request) {
      let messages = byPartition.get(r.partition)
      if (messages === undefined) byPartition.set(r.partition, messages = [])
      messages.push({ key: r.key, value: r.value })
    }
    const topicData = [{ topic: TOPIC, partitions: [...byPartition].map(([partition, messages]) => ({ partition, messages })) }]
    const encoded = await kafkaJsInternals.produceV7({ acks: -1, timeout: 30_000, compression: CompressionTypes.None, topicData }).encode()
    bytes += encoded.buffer.byteLength
  }
  return bytes
}

/** The same requests as @platformatic/kafka's producer builds them, to bytes. */
const platformaticEncode = async (requests: ReadonlyArray<ReadonlyArray<Row>>): Promise<number> => {
  let bytes = 0
  for (const request of requests) {
    const messages: Array<MessageRecord> = request.map((r) => ({ topic: TOPIC, partition: r.partition, key: r.key, value: r.value, headers: new Map() }))
    bytes += produceV7.createRequest(-1, 30_000, messages, {}).buffer.byteLength
  }
  return bytes
}

/** One record batch per chunk, encoded once (by @platformatic/kafka; both decoders read it). */
const recordBatches = (requests: ReadonlyArray<ReadonlyArray<Row>>): ReadonlyArray<Buffer> =>
  requests.map((request) => {
    const messages: Array<MessageRecord> = request.map((r) => ({ topic: TOPIC, partition: 0, key: r.key, value: r.value, headers: new Map(), timestamp: 0n }))
    const encoded = produceV7.createRequest(-1, 30_000, messages, {}).buffer
    // transactional_id (int16 -1), acks, timeout, 1 topic, its name, 1 partition, its index; then the batch's length.
    const at = 2 + 2 + 4 + 4 + 2 + Buffer.byteLength(TOPIC) + 4 + 4
    return Buffer.from(encoded.subarray(at + 4, at + 4 + encoded.readInt32BE(at)))
  })

const kafkaJsDecode = async (batches: ReadonlyArray<Buffer>): Promise<number> => {
  let records = 0
  for (const batch of batches) records += (await kafkaJsInternals.decodeBatch(new kafkaJsInternals.Decoder(batch))).records.length
  return records
}

const platformaticDecode = async (batches: ReadonlyArray<Buffer>): Promise<number> => {
  let records = 0
  for (const batch of batches) records += readRecordsBatch(Reader.from(batch)).records.length
  return records
}

/** Both decoders read the same keys and values back: the comparison measures equal work. */
const checkDecoders = async (batch: Buffer, expected: ReadonlyArray<Row>): Promise<void> => {
  const viaKafkaJs = (await kafkaJsInternals.decodeBatch(new kafkaJsInternals.Decoder(batch))).records
  const viaPlatformatic = readRecordsBatch(Reader.from(batch)).records
  expected.forEach((row, i) => {
    for (const [client, record] of [["kafkajs", viaKafkaJs[i]], ["@platformatic/kafka", viaPlatformatic[i]]] as const) {
      if (record?.key?.equals(row.key) !== true || record.value?.equals(row.value) !== true) {
        throw new Error(`${client} decoded record ${i} of the batch differently from what was encoded`)
      }
    }
  })
}

interface Figure {
  readonly what: string
  readonly client: "kafkajs" | "@platformatic/kafka"
  readonly records: number
  readonly recordsPerSecond: number
  readonly cpuMicrosPerRecord: number
}

const medianFigure = (what: string, client: Figure["client"], records: number, runs: ReadonlyArray<Timing>): Figure => ({
  what,
  client,
  records,
  recordsPerSecond: median(runs.map((r) => records / r.seconds)),
  cpuMicrosPerRecord: median(runs.map((r) => r.cpuMicros / records))
})

/** A bare kafkajs producer (acks=all, the project's partitioner) on the mock cluster, a request per chunk. */
const kafkaJsProduce = async (bootstrap: ReadonlyArray<string>, requests: ReadonlyArray<ReadonlyArray<Row>>): Promise<Timing> => {
  const kafka = new Kafka({ clientId: "bench-producer", brokers: [...bootstrap], logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  try {
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: "warm-up", value: "{}" }] })
    return await timed(async () => {
      for (const request of requests) {
        await producer.send({ topic: TOPIC, acks: -1, messages: request.map((r) => ({ key: r.key, value: r.value })) })
      }
      return 0
    })
  } finally {
    await producer.disconnect()
  }
}

/** Whether @platformatic/kafka can produce to the mock cluster at all; the error when it cannot. */
const platformaticProbe = async (bootstrap: ReadonlyArray<string>): Promise<string> => {
  const producer = new Producer({ clientId: "bench-probe", bootstrapBrokers: [...bootstrap], retries: 0, timeout: 5_000 })
  try {
    await producer.send({ acks: -1, messages: [{ topic: TOPIC, key: Buffer.from("k"), value: Buffer.from("{}") }] })
    return "produces"
  } catch (error) {
    const innermost = (e: unknown): unknown => {
      const nested = (e as { errors?: ReadonlyArray<unknown> }).errors
      return nested !== undefined && nested.length > 0 ? innermost(nested[0]) : e
    }
    const root = innermost(error) as { message?: unknown; apiId?: unknown }
    return `fails: ${String(root.message)}${typeof root.apiId === "string" ? ` (${root.apiId})` : ""}`
  } finally {
    await producer.close().catch(() => {})
  }
}

const argValue = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const recordCount = Number(argValue("--records") ?? "200000")
if (!Number.isSafeInteger(recordCount) || recordCount < PER_REQUEST) {
  console.error(`error: --records must be an integer of at least ${PER_REQUEST}, got "${argValue("--records")}"`)
  process.exit(1)
}

const data = rows(recordCount)
const requests = chunks(data, PER_REQUEST)
const batches = recordBatches(requests)
await checkDecoders(batches[0]!, requests[0]!)
// Warm both clients' code paths before timing.
await kafkaJsEncode(requests.slice(0, 20))
await platformaticEncode(requests.slice(0, 20))
await kafkaJsDecode(batches.slice(0, 20))
await platformaticDecode(batches.slice(0, 20))

const runs = { kafkaJsEncode: [] as Array<Timing>, platformaticEncode: [] as Array<Timing>, kafkaJsDecode: [] as Array<Timing>, platformaticDecode: [] as Array<Timing> }
const requestBytes = { kafkajs: 0, platformatic: 0 }
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which client goes first, so neither always runs on a warmer heap.
  const order = round % 2 === 0 ? ["kafkajs", "platformatic"] as const : ["platformatic", "kafkajs"] as const
  for (const client of order) {
    if (client === "kafkajs") {
      const encoded = await timed(() => kafkaJsEncode(requests))
      requestBytes.kafkajs = encoded.bytes
      runs.kafkaJsEncode.push(encoded)
      runs.kafkaJsDecode.push(await timed(() => kafkaJsDecode(batches)))
    } else {
      const encoded = await timed(() => platformaticEncode(requests))
      requestBytes.platformatic = encoded.bytes
      runs.platformaticEncode.push(encoded)
      runs.platformaticDecode.push(await timed(() => platformaticDecode(batches)))
    }
  }
}

const cluster = await startMockKafkaCluster({ topics: [{ name: TOPIC, partitions: PARTITIONS }] })
const wire: { produce: Array<Timing>; platformatic: string } = { produce: [], platformatic: "" }
try {
  for (let round = 0; round < ROUNDS; round++) wire.produce.push(await kafkaJsProduce(cluster.brokers, requests))
  wire.platformatic = await platformaticProbe(cluster.brokers)
} finally {
  await cluster.stop()
}

const figures: ReadonlyArray<Figure> = [
  medianFigure("encode produce requests (acks=all, 1,000 records each)", "kafkajs", data.length, runs.kafkaJsEncode),
  medianFigure("encode produce requests (acks=all, 1,000 records each)", "@platformatic/kafka", data.length, runs.platformaticEncode),
  medianFigure("decode record batches (1,000 records each)", "kafkajs", data.length, runs.kafkaJsDecode),
  medianFigure("decode record batches (1,000 records each)", "@platformatic/kafka", data.length, runs.platformaticDecode),
  medianFigure("produce to the mock cluster (acks=all, 1,000 records a send)", "kafkajs", data.length, wire.produce)
]
const valueBytes = data.reduce((n, r) => n + r.value.byteLength, 0) / data.length

if (process.argv.includes("--json")) {
  console.log(JSON.stringify({
    node: process.version,
    cpus: cpus().length,
    records: data.length,
    valueBytesPerRecord: valueBytes,
    requestBytes,
    figures,
    platformaticOnTheMockCluster: wire.platformatic
  }, null, 2))
} else {
  console.log(`${data.length.toLocaleString("en")} records of ${Math.round(valueBytes)} B, median of ${ROUNDS} runs (node ${process.version}, ${cpus().length} CPUs)`)
  for (const f of figures) {
    console.log(`${f.what.padEnd(62)} ${f.client.padEnd(20)} ${Math.round(f.recordsPerSecond).toLocaleString("en").padStart(11)} records/s ${f.cpuMicrosPerRecord.toFixed(2).padStart(7)} µs CPU/record`)
  }
  console.log(`produce request bytes: kafkajs ${requestBytes.kafkajs.toLocaleString("en")}, @platformatic/kafka ${requestBytes.platformatic.toLocaleString("en")}`)
  console.log(`@platformatic/kafka on the mock cluster: ${wire.platformatic}`)
}
