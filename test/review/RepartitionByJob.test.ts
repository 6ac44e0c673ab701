/**
 * The repartition stage of the review inputs (docs/scale-out.md, 1): every record reaches
 * `<APPLICATION_ID>-<topic>-repartition` keyed and partitioned by its job, single records
 * and one-job envelopes byte for byte, mixed envelopes split per job; what the next stage
 * decodes from them names the original record and element, so its dead letters are
 * today's; and what has no readable job_id is dead-lettered here with today's reason.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Partitioners } from "kafkajs"
import type { ConsumedRecord, OutgoingRecord } from "../../src/kernel/kafka/KafkaPort.ts"
import { partitionForKey } from "../../src/kernel/kafka/Murmur2.ts"
import { deadLetter } from "../../src/kernel/source/DeadLetter.ts"
import { decodeOriginal, OriginHeader } from "../../src/kernel/source/OriginHeaders.ts"
import { decode, type Decoded, type Source } from "../../src/kernel/source/Source.ts"
import { TaskHarness, type TestRecord } from "../../src/kernel/testing/TaskHarness.ts"
import { repartitionTopic } from "../../src/kernel/topology/Repartition.ts"
import { repartitionByJob } from "../../src/review/JobKey.ts"
import { reviewSources } from "../../src/review/ReviewSources.ts"

const settings = { applicationId: "app", transformTopic: "transform-in", analysisTopic: "analysis-in", controlTopic: "control-in" }
const dlqTopic = "dlq"
const PARTITIONS = 6
const sources = reviewSources(settings)
const utf8 = new TextEncoder()
const bytesOf = (v: string | Uint8Array | null | undefined) => (v === null || v === undefined ? null : typeof v === "string" ? utf8.encode(v) : v)
const text = (v: string | Uint8Array | null | undefined) => (v === null || v === undefined ? null : typeof v === "string" ? v : new TextDecoder().decode(v))

/** Runs one record through a fresh stage; its outputs split into forwarded records and dead letters. */
const repartitioned = (record: TestRecord) => {
  const harness = new TaskHarness(repartitionByJob(settings, PARTITIONS), { applicationId: settings.applicationId, dlqTopic }, record.partition ?? 0)
  const { records } = harness.process(record).endBatch()
  return { forwarded: records.filter((r) => r.topic !== dlqTopic), deadLetters: records.filter((r) => r.topic === dlqTopic) }
}

/** The record as the stage consumed it (TaskHarness fills the same fields). */
const consumedOf = (record: TestRecord): ConsumedRecord => ({
  topic: record.topic,
  partition: record.partition ?? 0,
  offset: record.offset ?? 0,
  timestamp: record.timestamp ?? 0,
  key: bytesOf(record.key),
  value: bytesOf(record.value),
  headers: record.headers ?? {}
})

/** A forwarded record as the next stage reads it from the repartition topic. */
const readBack = (out: OutgoingRecord, offset: number): ConsumedRecord => ({
  topic: out.topic,
  partition: out.partition!,
  offset,
  timestamp: out.timestamp!,
  key: bytesOf(out.key),
  value: bytesOf(out.value),
  headers: out.headers ?? {}
})

/** Kafka's default partitioner (kafkajs's Java-compatible one), as an upstream keying by job_id would place the key. */
const javaPartition = (key: string) =>
  Partitioners.DefaultPartitioner()({
    topic: "any",
    partitionMetadata: Array.from({ length: PARTITIONS }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] })),
    message: { key, value: "" }
  })

const review = (jobId: string | null | undefined, reviewId: string, extra: Record<string, unknown> = {}) =>
  ({ ...(jobId === undefined ? {} : { job_id: jobId }), review_id: reviewId, rating: 4, review_text: "좋아요", ...extra })
const result = (jobId: string | undefined, reviewId: string) => ({ ...(jobId === undefined ? {} : { job_id: jobId }), review_id: reviewId, sentiment: "긍정" })

describe("repartition by job", () => {
  it("forwards a single record byte for byte, keyed and partitioned by job_id, with its time, headers and origin", () => {
    // Not canonical JSON (spacing, escapes, key order): only a byte copy keeps it.
    const value = utf8.encode(`{ "review_id":"r-1",  "job_id" : "job-7", "review_text":"\\uc88b\\uc544\\uc694 좋아요", "rating": 4.50 }`)
    const record = { topic: settings.transformTopic, value, key: "r-1", partition: 2, offset: 77, timestamp: 1_700_000_000_123, headers: { traceparent: "00-abc-def-01" } }
    const { forwarded, deadLetters } = repartitioned(record)
    expect(deadLetters).toEqual([])
    expect(forwarded).toHaveLength(1)
    const out = forwarded[0]!
    expect(out.topic).toBe("app-transform-in-repartition")
    expect(out.topic).toBe(repartitionTopic(settings.applicationId, settings.transformTopic))
    expect(out.key).toBe("job-7")
    expect(out.partition).toBe(partitionForKey(utf8.encode("job-7"), PARTITIONS))
    expect(out.partition, "where Kafka's default partitioner puts the key job-7").toBe(javaPartition("job-7"))
    expect(Buffer.from(out.value as Uint8Array).equals(Buffer.from(value)), "the original bytes").toBe(true)
    expect(out.timestamp).toBe(1_700_000_000_123)
    expect(out.headers).toEqual({
      traceparent: "00-abc-def-01",
      [OriginHeader.topic]: settings.transformTopic,
      [OriginHeader.partition]: "2",
      [OriginHeader.offset]: "77",
      [OriginHeader.timestamp]: "1700000000123",
      [OriginHeader.key]: Buffer.from("r-1").toString("base64")
    })
  })

  it("places each job on one partition of every repartition topic, spread over the partitions", () => {
    const jobs = Array.from({ length: 40 }, (_, i) => `job-${i}`)
    const placed = jobs.map((job) => {
      const topics = [
        repartitioned({ topic: settings.transformTopic, value: JSON.stringify(review(job, "r")) }),
        repartitioned({ topic: settings.analysisTopic, value: JSON.stringify(result(job, "r")) }),
        repartitioned({ topic: settings.controlTopic, value: JSON.stringify({ job_id: job, step: "collection", status: "done", expected_count: 1 }) })
      ]
      const partitions = new Set(topics.map((t) => t.forwarded[0]!.partition))
      expect([...partitions], `${job} on one partition number of all three topics`).toEqual([javaPartition(job)])
      return [...partitions][0]!
    })
    expect(new Set(placed).size, "40 jobs use more than one partition").toBeGreaterThan(1)
  })

  it("keeps an envelope whose elements are all of one job whole, byte for byte", () => {
    const value = JSON.stringify({ job_id: "j1", reviews: [review(undefined, "r1"), review("j1", "r2"), { job_id: null, review_id: "r3" }] })
    const { forwarded, deadLetters } = repartitioned({ topic: settings.transformTopic, value })
    expect(deadLetters).toEqual([])
    expect(forwarded.map((r) => [r.key, text(r.value), r.headers?.[OriginHeader.indices]])).toEqual([["j1", value, undefined]])
  })

  it("splits a mixed envelope into one envelope per job, elements in order with their original positions", () => {
    const envelope = { job_id: "j1", batch: 9, results: [result(undefined, "r0"), result("j2", "r1"), result("j1", "r2"), result("j3", "r3"), result("j2", "r4")] }
    const { forwarded, deadLetters } = repartitioned({ topic: settings.analysisTopic, value: JSON.stringify(envelope) })
    expect(deadLetters).toEqual([])
    expect(forwarded.map((r) => ({ key: r.key, partition: r.partition, indices: r.headers?.[OriginHeader.indices], value: JSON.parse(text(r.value)!) }))).toEqual([
      { key: "j1", partition: javaPartition("j1"), indices: "0,2", value: { job_id: "j1", batch: 9, results: [envelope.results[0], envelope.results[2]] } },
      { key: "j2", partition: javaPartition("j2"), indices: "1,4", value: { job_id: "j1", batch: 9, results: [envelope.results[1], envelope.results[4]] } },
      { key: "j3", partition: javaPartition("j3"), indices: "3", value: { job_id: "j1", batch: 9, results: [envelope.results[3]] } }
    ])
    for (const r of forwarded) expect(r.topic).toBe("app-analysis-in-repartition")
  })

  it("forwards a record whose job_id is readable though it will not decode, so the next stage counts it against its job", () => {
    for (const value of [
      JSON.stringify(review("j1", "r1", { rating: "four" })),
      JSON.stringify({ job_id: "j1", reviews: "not an array" }),
      JSON.stringify({ job_id: "j1", reviews: [7, review(undefined, "r2")] })
    ]) {
      const { forwarded, deadLetters } = repartitioned({ topic: settings.transformTopic, value })
      expect(deadLetters, value).toEqual([])
      expect(forwarded.map((r) => [r.key, text(r.value)]), value).toEqual([["j1", value]])
    }
  })
})

/** What today's decoding of `record` dead-letters, per position (undefined where it decodes). */
const todaysDeadLetters = (source: Source<unknown>, record: ConsumedRecord) =>
  decode(source, record).map((d) => (d._tag === "Failure" ? deadLetter(dlqTopic, d.failure.source, d.failure.reason) : undefined))

describe("repartition by job: records without a readable job_id", () => {
  const cases: ReadonlyArray<readonly [string, Source<unknown>, string | Uint8Array, ReadonlyArray<string>]> = [
    ["bytes that are not UTF-8", sources.transform, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), ["invalid_json"]],
    ["text that is not JSON", sources.analysis, "{job_id: j1", ["invalid_json"]],
    ["JSON that is not an object", sources.control, `["j1"]`, ["schema"]],
    ["a record without job_id", sources.transform, JSON.stringify(review(undefined, "r1")), ["schema"]],
    ["a record with an empty job_id", sources.control, JSON.stringify({ job_id: "", step: "transform", status: "done" }), ["schema"]],
    ["an envelope without job_id whose batch field is no array", sources.analysis, JSON.stringify({ results: { review_id: "r" } }), ["schema"]],
    ["an envelope without job_id whose elements have none", sources.transform, JSON.stringify({ reviews: [review(undefined, "r1"), 3] }), ["schema", "schema"]]
  ]
  it.each(cases)("dead-letters %s here, as today's decoding does", (_, source, value, types) => {
    const record = { topic: source.topic, value, key: "k", partition: 1, offset: 5, timestamp: 10, headers: { producer: "spark" } }
    const { forwarded, deadLetters } = repartitioned(record)
    expect(forwarded).toEqual([])
    expect(deadLetters.map((d) => d.headers?.["dlq.error.type"])).toEqual(types)
    expect(deadLetters).toEqual(todaysDeadLetters(source, consumedOf(record)))
    for (const d of deadLetters) expect([d.headers?.["dlq.source.topic"], d.headers?.["dlq.source.offset"], d.headers?.producer]).toEqual([source.topic, "5", "spark"])
  })

  it("dead-letters the elements of a mixed envelope that have no job_id, with their index, and forwards the rest", () => {
    const envelope = { reviews: [review("j1", "r0"), review(undefined, "r1"), "text", review("j2", "r3"), review("j1", "r4")] }
    const record = { topic: settings.transformTopic, value: JSON.stringify(envelope), partition: 0, offset: 3 }
    const { forwarded, deadLetters } = repartitioned(record)
    const today = todaysDeadLetters(sources.transform, consumedOf(record))
    expect(deadLetters).toEqual([today[1], today[2]])
    expect(deadLetters.map((d) => [d.headers?.["dlq.source.index"], d.headers?.["dlq.error.type"], d.headers?.["dlq.error.message"]])).toEqual([
      ["1", "schema", expect.stringContaining("job_id")],
      ["2", "schema", "batch element must be a JSON object"]
    ])
    expect(forwarded.map((r) => [r.key, r.headers?.[OriginHeader.indices]])).toEqual([["j1", "0,4"], ["j2", "3"]])
  })
})

/** Position -> (SourceRef, reason) of decoded elements, comparable across both paths. */
const byIndex = (decoded: ReadonlyArray<Decoded<unknown>>) =>
  new Map(decoded.map((d) => {
    const source = d._tag === "Success" ? d.success.source : d.failure.source
    return [source.index ?? -1, { source, reason: d._tag === "Failure" ? d.failure.reason : undefined, deadLetter: d._tag === "Failure" ? deadLetter(dlqTopic, source, d.failure.reason) : undefined }]
  }))

describe("repartition by job: the next stage sees the original records", () => {
  it("decodes every element of a split envelope to the SourceRef, reason and dead letter today's decoding gives", () => {
    const envelope = {
      job_id: "j1",
      reviews: [review(undefined, "r0"), review("j2", "r1", { rating: "bad" }), review("j1", "r2"), { job_id: "j2" }, review(undefined, "r4", { keywords: 5 })]
    }
    const record = { topic: settings.transformTopic, value: JSON.stringify(envelope), key: utf8.encode("\u0000binary\u00ff"), partition: 4, offset: 1_234, timestamp: 99, headers: { traceparent: "t" } }
    const { forwarded, deadLetters } = repartitioned(record)
    expect(deadLetters).toEqual([])
    expect(forwarded).toHaveLength(2)
    const nextStage = byIndex(forwarded.flatMap((r, i) => decodeOriginal(sources.transform, readBack(r, 500 + i))))
    const today = byIndex(decode(sources.transform, consumedOf(record)))
    expect([...nextStage.keys()].sort()).toEqual([0, 1, 2, 3, 4])
    expect(nextStage).toEqual(today)
    expect(today.get(3)!.deadLetter?.headers?.["dlq.source.index"], "a rejected element still names its position").toBe("3")
  })

  it("decodes a forwarded single record to the original SourceRef, null key included", () => {
    const record = { topic: settings.controlTopic, value: JSON.stringify({ job_id: "j9", step: "collection", status: "weird" }), key: null, partition: 0, offset: 8, headers: {} }
    const { forwarded } = repartitioned(record)
    const nextStage = byIndex(decodeOriginal(sources.control, readBack(forwarded[0]!, 0)))
    expect(nextStage).toEqual(byIndex(decode(sources.control, consumedOf(record))))
    expect(nextStage.get(-1)!.deadLetter?.key).toBeNull()
    expect(nextStage.get(-1)!.reason?.type).toBe("schema")
  })

  it("loses and duplicates no element of any envelope: each is forwarded to its job's partition once, or dead-lettered once", () => {
    const jobId = fc.option(fc.constantFrom("a", "b", "c", "d"), { nil: undefined })
    // An element's job: its own, none (null or absent: the envelope's), or not an object at all.
    const element = fc.oneof(jobId, fc.constant(null), fc.constant("not an object" as const))
    fc.assert(fc.property(jobId, fc.array(element, { maxLength: 12 }), (envelopeJob, elements) => {
      const reviews = elements.map((e, i) => (e === "not an object" ? i : review(e, `r${i}`)))
      const value = JSON.stringify({ ...(envelopeJob === undefined ? {} : { job_id: envelopeJob }), reviews })
      const record = { topic: settings.transformTopic, value, offset: 0, partition: 0 }
      const { forwarded, deadLetters } = repartitioned(record)
      const seen: Array<number> = deadLetters.map((d) => Number(d.headers?.["dlq.source.index"]))
      for (const r of forwarded) {
        expect(r.partition).toBe(javaPartition(r.key as string))
        for (const d of decodeOriginal(sources.transform, readBack(r, 0))) {
          const raw = JSON.parse(d._tag === "Success" ? (d.success.source.value as string) : (d.failure.source.value as string))
          const own = typeof raw === "object" && raw !== null && typeof raw.job_id === "string" && raw.job_id !== "" ? raw.job_id : envelopeJob
          expect(own, "an element travels with its job").toBe(r.key)
          seen.push((d._tag === "Success" ? d.success.source : d.failure.source).index!)
        }
      }
      expect(seen.sort((a, b) => a - b)).toEqual(reviews.map((_, i) => i))
    }))
  })
})
