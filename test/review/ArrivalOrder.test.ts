/**
 * A verdict must not depend on arrival order: a job with more transform records than
 * expected fails, even when its collection message is read first and the expected count
 * is reached while the surplus records still wait unread in the topic.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as AggregatorPipeline from "../../src/app/AggregatorPipeline.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { JobTracer } from "../../src/observability/Telemetry.ts"
import { analysisOf, collectionDone, controlOut, output, send, settle, testTopics, transformOf } from "../support/Pipeline.ts"

/** Small batches, so the expected count is reached at a batch end with records still unread. */
const pipeline = (maxBatchSize: number) =>
  AggregatorPipeline.layer.pipe(
    Layer.provide(JobTracer.disabled),
    Layer.provideMerge(EmbeddedKafka.layer({ maxBatchSize })),
    Layer.provideMerge(AppConfig.layerWith({ ...testTopics, timeoutMs: 10_000, windowInactivityMs: 1_000, publishIntervalMs: 600_000, partitionAssignment: "single-active" }))
  )

const verdict = (maxBatchSize: number) =>
  Effect.gen(function*() {
    // Everything is in the topics before the service reads anything.
    yield* send("control", [collectionDone("j", 3)])
    yield* send("analysis", ["r1", "r2", "r3"].map((r) => analysisOf("j", r)))
    yield* send("transform", ["r1", "r2", "r3", "r4", "r5"].map((r) => transformOf("j", r)))
    yield* settle
    const last = (yield* controlOut).filter((m) => m.job_id === "j").at(-1)
    const late = (yield* output("dlqTopic")).filter((r) =>
      r.headers["dlq.error.type"] === "late_record" && r.headers["dlq.source.topic"] === testTopics.transformTopic)
    return { last, late: late.length }
  }).pipe(Effect.provide(pipeline(maxBatchSize)))

describe("verdicts independent of arrival order", () => {
  it.effect("an over-count job fails whether its surplus records are read in the same batch or after the count was reached", () =>
    Effect.gen(function*() {
      for (const maxBatchSize of [500, 3, 2, 1]) {
        const { last, late } = yield* verdict(maxBatchSize)
        expect(last, `batches of ${maxBatchSize}`).toMatchObject({ step: "transform", status: "failed", expected_count: 3 })
        // The job fails as soon as a surplus record is counted; any later one is then late.
        expect(last.error_message).toBe(`expected 3 transform records, got ${last.actual_count}`)
        expect(last.actual_count + late, `every surplus record counted or dead-lettered (batches of ${maxBatchSize})`).toBe(5)
      }
    }))
})
