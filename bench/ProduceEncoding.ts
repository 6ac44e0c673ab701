/**
 * What encoding one record into a produce request costs, by value size and by how many
 * headers the record carries: the per-record cost that makes the number of output and
 * changelog records, not only their bytes, matter on the wire. Two encoders of the same
 * bytes: kafkajs's own (no public API: the code its producer runs as released) and the
 * one-pass encoding the service patches in (src/kernel/kafka/KafkaJsProduceEncoding.ts).
 * 1,000 records a request, the CPU time of the encoding alone, medians of the rounds.
 *
 *   node --import tsx bench/ProduceEncoding.ts [--records N] [--rounds N] [--json]
 */
import { createRequire } from "node:module"
import { encodeProduceRequest, type ProduceRequestArgs } from "../src/kernel/kafka/KafkaJsProduceEncoding.ts"

type Message = { readonly key: string; readonly value: string; readonly timestamp: number; readonly headers?: Record<string, string> }

const produceV3 = createRequire(import.meta.url)("kafkajs/src/protocol/requests/produce/v3/request") as (request: {
  acks: number
  timeout: number
  compression: number
  topicData: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<{ partition: number; messages: ReadonlyArray<Message> }> }>
}) => { encode: () => Promise<unknown> }

const REQUEST_RECORDS = 1_000

/** Headers like the service's: a changelog frame (one header), the earlier three-header frame, or none. */
const headerSets: Record<string, (i: number) => Record<string, string> | undefined> = {
  none: () => undefined,
  "1 (changelog.frame)": (i) => ({ "changelog.frame": `${1_000 + i}/123/120` }),
  "3 (the earlier frame)": (i) => ({ "changelog.event": String(1_000 + i), "changelog.event.records": "123", "changelog.event.values": "120" })
}

interface EncodingFigure {
  readonly valueBytes: number
  readonly headers: string
  /** kafkajs's encoding as released. */
  readonly microsPerRecord: number
  readonly onePassMicrosPerRecord: number
}

const encoders = {
  kafkajs: (request: ProduceRequestArgs): Promise<unknown> => produceV3(request as Parameters<typeof produceV3>[0]).encode(),
  onePass: async (request: ProduceRequestArgs): Promise<unknown> => {
    const encoded = encodeProduceRequest(request)
    if (encoded === undefined) throw new Error("the one-pass encoding did not take the bench's request")
    return encoded
  }
}

/** CPU µs per record of one encoder, the median of the rounds. */
const cpuPerRecord = async (encode: (request: ProduceRequestArgs) => Promise<unknown>, messages: ReadonlyArray<Message>, rounds: number) => {
  const perRound: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    const before = process.cpuUsage()
    for (let i = 0; i < messages.length; i += REQUEST_RECORDS) {
      const partitions = [{ partition: 0, messages: messages.slice(i, i + REQUEST_RECORDS) }]
      await encode({ acks: -1, timeout: 30_000, compression: 0, topicData: [{ topic: "t", partitions }] })
    }
    const used = process.cpuUsage(before)
    perRound.push((used.user + used.system) / messages.length)
  }
  perRound.sort((a, b) => a - b)
  return perRound[Math.floor(perRound.length / 2)]!
}

const measureEncoding = async (records: number, rounds: number): Promise<ReadonlyArray<EncodingFigure>> => {
  const figures: Array<EncodingFigure> = []
  for (const valueBytes of [100, 1_000]) {
    for (const [headers, headersOf] of Object.entries(headerSets)) {
      const messages: Array<Message> = Array.from({ length: records }, (_, i) => {
        const h = headersOf(i)
        return { key: `#${i}:job-${i % 1_000}`, value: "x".repeat(valueBytes), timestamp: 1_765_000_000_000 + i, ...(h === undefined ? {} : { headers: h }) }
      })
      figures.push({
        valueBytes,
        headers,
        microsPerRecord: await cpuPerRecord(encoders.kafkajs, messages, rounds),
        onePassMicrosPerRecord: await cpuPerRecord(encoders.onePass, messages, rounds)
      })
    }
  }
  return figures
}

const argument = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(name)
  if (at === -1) return fallback
  const n = Number(process.argv[at + 1])
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} takes a positive integer, got ${process.argv[at + 1]}`)
  return n
}

{
  const figures = await measureEncoding(argument("--records", 20_000), argument("--rounds", 9))
  if (process.argv.includes("--json")) console.log(JSON.stringify({ node: process.version, figures }))
  else {
    console.log(`produce-request encoding, CPU per record (node ${process.version})`)
    console.log("| value bytes | headers | kafkajs µs per record | one-pass µs per record |\n| --- | --- | --- | --- |")
    for (const f of figures) console.log(`| ${f.valueBytes} | ${f.headers} | ${f.microsPerRecord.toFixed(2)} | ${f.onePassMicrosPerRecord.toFixed(2)} |`)
  }
}
