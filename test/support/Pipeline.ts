/**
 * The whole pipeline on the embedded broker under TestClock: send input, let it settle,
 * move the clock, read the output topics.
 */
import { Effect, type Layer } from "effect"
import type { JobTracer } from "../../src/observability/Telemetry.ts"
import { TestClock } from "effect/testing"
import { AppConfig, type AppSettings } from "../../src/config/AppConfig.ts"
import { replayLayer } from "../../src/app/Replay.ts"
import { EmbeddedBroker } from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient, type Headers } from "../../src/kernel/kafka/KafkaPort.ts"
import { json } from "./Outputs.ts"

export const testTopics = {
  transformTopic: "transform",
  analysisTopic: "analysis",
  controlTopic: "control",
  rowsTopic: "rows",
  aggregateTopic: "agg",
  dlqTopic: "dlq",
  applicationId: "test-app"
} as const

/**
 * One member holding every partition (`single-active`): `settle` waits for the service's
 * own group on the inputs. Scaled out (the service's default) adds a repartition stage
 * in a group of its own; test/review/ScaleOutService.test.ts covers that.
 */
export const pipelineLayer = (overrides: Partial<AppSettings> = {}, tracer?: Layer.Layer<JobTracer>) =>
  replayLayer(AppConfig.layerWith({
    ...testTopics,
    partitionAssignment: "single-active",
    timeoutMs: 10_000,
    windowInactivityMs: 1_000,
    publishIntervalMs: 60_000,
    jobRetentionMs: 3_600_000,
    ...overrides
  }), tracer)

const inputTopic = { transform: testTopics.transformTopic, analysis: testTopics.analysisTopic, control: testTopics.controlTopic } as const

export const send = (topic: keyof typeof inputTopic, values: ReadonlyArray<unknown>, headers: Headers = {}) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    yield* kafka.produce(values.map((v) => ({
      topic: inputTopic[topic],
      key: null,
      value: typeof v === "string" ? v : JSON.stringify(v),
      headers
    })))
  })

/** Lets the pipeline fiber run until it has committed everything sent (bounded). */
export const settle = Effect.gen(function*() {
  const broker = yield* EmbeddedBroker
  const inputs = [testTopics.transformTopic, testTopics.analysisTopic, testTopics.controlTopic]
  for (let i = 0; i < 10_000; i++) {
    yield* Effect.yieldNow
    const committed = broker.committed(testTopics.applicationId)
    const done = inputs.every((topic) =>
      broker.endOffsets(topic).every((end, partition) =>
        end === 0 || committed.some((c) => c.topic === topic && c.partition === partition && c.offset >= end)))
    if (done && i > 20) return
  }
  throw new Error("pipeline did not consume its input")
})

/** Moves the TestClock and lets the ticks it releases run. */
export const advance = (ms: number) => Effect.andThen(TestClock.adjust(ms), settle)

export const output = (topic: "rowsTopic" | "aggregateTopic" | "dlqTopic" | "controlTopic") =>
  Effect.gen(function*() {
    const broker = yield* EmbeddedBroker
    return broker.records(testTopics[topic])
  })

/** Control messages written by the service (not the input ones). */
export const controlOut = Effect.map(output("controlTopic"), (records) =>
  records.filter((r) => r.headers["producer"] === testTopics.applicationId).map(json))

export const collectionDone = (jobId: string, expected: number) => ({ job_id: jobId, status: "done", step: "collection", expected_count: expected })
export const transformOf = (jobId: string, reviewId: string, extra: Record<string, unknown> = {}) =>
  ({ job_id: jobId, review_id: reviewId, rating: 4, review_text: "좋아요", review_date: "2026-11-20", keywords: { "배송": "빠름" }, ...extra })
export const analysisOf = (jobId: string, reviewId: string, sentiment = "긍정", extra: Record<string, unknown> = {}) =>
  ({ job_id: jobId, review_id: reviewId, sentiment, summary: "요약", ...extra })
