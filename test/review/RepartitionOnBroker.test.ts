/**
 * The repartition stage on the embedded broker with the sample input keyed by review_id
 * (as upstreams write it) plus mixed-job envelopes and records without a job: every job
 * lands on one partition of each repartition topic, and what the next stage decodes from
 * those topics, with the stage's own dead letters, is exactly what decoding the original
 * inputs gives today: the same elements, the same dead letters, byte for byte.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { EmbeddedBroker, layer as embeddedKafka } from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { type ConsumedRecord, KafkaClient, type OutgoingRecord } from "../../src/kernel/kafka/KafkaPort.ts"
import { partitionForKey } from "../../src/kernel/kafka/Murmur2.ts"
import { deadLetter } from "../../src/kernel/source/DeadLetter.ts"
import { decodeOriginal } from "../../src/kernel/source/OriginHeaders.ts"
import { decode, type Decoded, type Source } from "../../src/kernel/source/Source.ts"
import { runUntilIdle } from "../../src/kernel/testing/RunUntilIdle.ts"
import { repartitionTopic } from "../../src/kernel/topology/Repartition.ts"
import { repartitionByJob } from "../../src/review/JobKey.ts"
import { reviewSources } from "../../src/review/ReviewSources.ts"
import { loadSampleInput } from "../support/Samples.ts"

const settings = { applicationId: "app", transformTopic: "transform", analysisTopic: "analysis", controlTopic: "control" }
const dlqTopic = "dlq"
const PARTITIONS = 6
const sources = reviewSources(settings)
const inputs = [sources.transform, sources.analysis, sources.control] as ReadonlyArray<Source<unknown>>
const utf8 = new TextEncoder()
const b64 = (bytes: Uint8Array | string | null) => (bytes === null ? null : Buffer.from(typeof bytes === "string" ? utf8.encode(bytes) : bytes).toString("base64"))

/** Upstream keys: transform and analysis records by review_id, envelopes and control messages by job_id. */
const upstreamKey = (value: Uint8Array): string | null => {
  try {
    const json = JSON.parse(new TextDecoder().decode(value))
    return typeof json?.review_id === "string" ? json.review_id : typeof json?.job_id === "string" ? json.job_id : null
  } catch {
    return null
  }
}

const extra = {
  transform: [
    JSON.stringify({ job_id: "mix-1", reviews: [{ review_id: "x1" }, { job_id: "mix-2", review_id: "x2" }, { review_id: "x3", rating: "bad" }, 4] }),
    JSON.stringify({ reviews: [{ job_id: "mix-3", review_id: "y1" }, { review_id: "y2" }] }),
    "not json at all"
  ],
  analysis: [JSON.stringify({ results: [{ job_id: "mix-1", review_id: "x1", sentiment: "pos" }, { job_id: "mix-2", review_id: "x2", sentiment: "??" }] })],
  control: [JSON.stringify({ step: "collection", status: "done", expected_count: 3 })]
}

/** One comparable line per decoded element: its dead letter, or where the decoded value came from. */
const outcomes = (decoded: ReadonlyArray<Decoded<unknown>>): Array<string> =>
  decoded.map((d) =>
    d._tag === "Success"
      ? `ok ${d.success.source.topic}/${d.success.source.partition}/${d.success.source.offset}/${d.success.source.index ?? ""}`
      : deadLetterLine(deadLetter(dlqTopic, d.failure.source, d.failure.reason)))
const deadLetterLine = (r: OutgoingRecord | ConsumedRecord) =>
  `dlq ${JSON.stringify([b64(r.key), b64(r.value), Object.entries(r.headers ?? {}).sort()])}`

describe("repartition by job on the embedded broker", () => {
  it.effect("places every job on one partition and hands the next stage exactly today's elements and dead letters", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      const broker = yield* EmbeddedBroker
      yield* kafka.createTopics([
        ...inputs.map((s) => ({ topic: s.topic, partitions: 3, replicationFactor: 1 })),
        ...inputs.map((s) => ({ topic: repartitionTopic(settings.applicationId, s.topic), partitions: PARTITIONS, replicationFactor: 1 }))
      ])
      const sample = loadSampleInput()
      for (const side of ["transform", "analysis", "control"] as const) {
        const lines = [...sample[side], ...extra[side].map((l) => utf8.encode(l))]
        yield* kafka.produce(lines.map((value) => ({ topic: sources[side].topic, key: upstreamKey(value), value, headers: { origin: "upstream" } })))
      }

      yield* runUntilIdle({ applicationId: `${settings.applicationId}-repartition`, dlqTopic, guarantee: "at_least_once", task: repartitionByJob(settings, PARTITIONS) })

      const today: Array<string> = []
      const nextStage: Array<string> = broker.records(dlqTopic).map(deadLetterLine)
      const partitionsOfJob = new Map<string, Set<number>>()
      for (const source of inputs) {
        for (const record of broker.records(source.topic)) today.push(...outcomes(decode(source, record)))
        const moved = broker.records(repartitionTopic(settings.applicationId, source.topic))
        for (const record of moved) {
          const job = new TextDecoder().decode(record.key!)
          expect(record.partition, `${job} by murmur2`).toBe(partitionForKey(record.key!, PARTITIONS))
          partitionsOfJob.set(job, new Set([...(partitionsOfJob.get(job) ?? []), record.partition]))
          nextStage.push(...outcomes(decodeOriginal(source, record)))
        }
      }
      for (const [job, partitions] of partitionsOfJob) expect([...partitions], `${job} on one partition number`).toHaveLength(1)
      expect(partitionsOfJob.size).toBeGreaterThanOrEqual(5)
      expect(today.filter((o) => o.startsWith("dlq")).length, "the input has dead letters to compare").toBeGreaterThan(5)
      expect(nextStage.sort()).toEqual(today.sort())
    }).pipe(Effect.provide(embeddedKafka())))
})
