/**
 * SPEC 7: state lives in memory and in the changelog; a restarted service restores it
 * before processing and carries on exactly: counts, buffered join sides, deadlines (time
 * spent down does not count against them) and the ids of finished jobs all survive.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { AppConfig } from "../../src/config/AppConfig.ts"
import * as AggregatorPipeline from "../../src/app/AggregatorPipeline.ts"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { JobTracer } from "../../src/observability/Telemetry.ts"
import { ReviewAggregator } from "../../src/review/ReviewAggregator.ts"
import { json, text } from "../support/Outputs.ts"
import { advance, analysisOf, collectionDone, controlOut, output, send, settle, testTopics, transformOf } from "../support/Pipeline.ts"

/** The aggregator of this life, once it has restored its state. */
const restoredAggregator = Effect.gen(function*() {
  const aggregator = yield* ReviewAggregator
  for (let i = 0; i < 10_000 && !(yield* aggregator.restored); i++) yield* Effect.yieldNow
  expect(yield* aggregator.restored, "state restored").toBe(true)
  return aggregator
})

const pipeline = AggregatorPipeline.layer.pipe(
  Layer.provide(JobTracer.disabled),
  Layer.provideMerge(AppConfig.layerWith({ ...testTopics, timeoutMs: 10_000, windowInactivityMs: 60_000, publishIntervalMs: 600_000, partitionAssignment: "single-active" }))
)

describe("state restore from the changelog", () => {
  it.effect("a restarted aggregator continues every job where the last one stopped", () =>
    Effect.gen(function*() {
      const broker = yield* Layer.build(EmbeddedKafka.layer())
      /** One lifetime of the service: its own aggregator, the same broker. */
      const life = <A, E, R>(body: Effect.Effect<A, E, R>) =>
        body.pipe(Effect.provide(pipeline), Effect.provide(broker))

      yield* life(Effect.gen(function*() {
        yield* send("control", [collectionDone("j", 2), collectionDone("d", 5)])
        yield* send("transform", [transformOf("j", "r1"), transformOf("j", "r2", { rating: 2 }), transformOf("d", "x1")])
        yield* send("analysis", [analysisOf("j", "r1")])
        yield* settle
        yield* advance(4_000)
      }))

      // The service is down for 30 s, three times TIMEOUT_MS.
      yield* TestClock.adjust(30_000)

      yield* life(Effect.gen(function*() {
        const aggregator = yield* restoredAggregator
        const j = yield* aggregator.job("j")
        expect(j?.stats.transform.total, "restored transform count").toBe(2)
        expect((yield* aggregator.status).pendingJoins, "restored join buffers (j|r2 and d|x1 wait for their analysis)").toBe(2)
        yield* send("analysis", [analysisOf("j", "r2", "부정")])
        yield* send("transform", [transformOf("j", "r1")]) // a repeat, not a new review
        yield* settle
        expect((yield* output("rowsTopic")).map((r) => text(r.key))).toEqual(["j|r1", "j|r2"])
        expect((yield* controlOut).filter((m) => m.job_id === "j").at(-1)).toMatchObject({ step: "aggregation", status: "done" })
        const final = (yield* output("aggregateTopic")).map(json).find((a) => a.job_id === "j" && a.is_final)
        expect(final.transform_stats).toMatchObject({ total_reviews: 2, avg_rating: 3 })
        expect(final.analysis_stats.all_sentiment).toMatchObject({ positive: 1, negative: 1 })
        // Job d's 10 s transform deadline started in the first life, which was up for 4 s;
        // the 30 s the service was down do not count, so it is still running 5 s later...
        yield* advance(5_000)
        expect((yield* controlOut).filter((m) => m.job_id === "d")).toEqual([])
        // ...and times out once 10 s caught up with the inputs have passed in all lives.
        let waited = 5_000
        while ((yield* controlOut).every((m) => m.job_id !== "d") && waited < 15_000) {
          yield* advance(1_000)
          waited += 1_000
        }
        expect(waited, "the deadline passed 6-8 s after the restart, not at once").toBeGreaterThanOrEqual(6_000)
        expect(waited).toBeLessThanOrEqual(8_000)
        expect((yield* controlOut).filter((m) => m.job_id === "d").at(-1)).toMatchObject({ step: "transform", status: "timeout", actual_count: 1 })
      }))

      yield* life(Effect.gen(function*() {
        const aggregator = yield* restoredAggregator
        const before = yield* aggregator.job("j")
        expect(before?.finishedAt, "finished job restored").toBeDefined()
        yield* send("transform", [transformOf("j", "r1"), transformOf("j", "r9")])
        yield* settle
        // Its counted review ids survived: r1 is a duplicate, r9 a late record.
        expect((yield* aggregator.job("j"))?.quality.transform.duplicates).toBe(before!.quality.transform.duplicates + 1)
        const dlq = (yield* output("dlqTopic")).filter((r) => r.headers["dlq.job_id"] === "j")
        expect(dlq.map((r) => r.headers["dlq.error.type"])).toEqual(["late_record"])
        expect(JSON.parse(text(dlq[0]!.value)!).review_id).toBe("r9")
      }))
    }))
})
