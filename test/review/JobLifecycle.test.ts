/**
 * SPEC 5.3-5.5 on the clock: every way a job ends, driven through the real pipeline on
 * the embedded broker with TestClock (TIMEOUT 10 s, window 1 s, publish every 60 s).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { KafkaClient } from "../../src/kernel/kafka/KafkaPort.ts"
import { ReviewAggregator } from "../../src/review/ReviewAggregator.ts"
import { json, text } from "../support/Outputs.ts"
import {
  advance,
  analysisOf,
  collectionDone,
  controlOut,
  output,
  pipelineLayer,
  send,
  settle,
  testTopics,
  transformOf
} from "../support/Pipeline.ts"

const steps = (messages: ReadonlyArray<any>, jobId: string) =>
  messages.filter((m) => m.job_id === jobId).map((m) => `${m.step}/${m.status}`)

const dlqTypes = Effect.map(output("dlqTopic"), (records) => records.map((r) => r.headers["dlq.error.type"]))

describe("job lifecycle", () => {
  it.effect("completes transform, analysis and aggregation in order, final aggregate before the last message", () =>
    Effect.gen(function*() {
      yield* send("analysis", [analysisOf("j", "r1"), analysisOf("j", "r2", "부정")])
      yield* send("control", [collectionDone("j", 2)])
      yield* settle
      // Analysis is complete but transform is not: nothing may be done yet.
      expect(steps(yield* controlOut, "j")).toEqual([])
      yield* send("transform", [transformOf("j", "r1"), transformOf("j", "r2")])
      yield* settle
      const control = yield* controlOut
      expect(steps(control, "j")).toEqual(["transform/done", "analysis/done", "aggregation/done"])
      expect(control[0]).toMatchObject({ expected_count: 2, actual_count: 2 })
      expect(control[0].timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      expect(control.every((m: any) => !("error_message" in m))).toBe(true)
      const aggregates = (yield* output("aggregateTopic")).map(json)
      expect(aggregates).toHaveLength(1)
      expect(aggregates[0]).toMatchObject({ job_id: "j", is_final: true, analysis_stats: { total_analyzed: 2 } })
      expect((yield* output("rowsTopic")).map((r) => text(r.key))).toEqual(["j|r1", "j|r2"])
    }).pipe(Effect.provide(pipelineLayer())))

  it.effect("finishes a job with expected_count 0 at once with an empty aggregate", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("empty", 0)])
      yield* settle
      expect(steps(yield* controlOut, "empty")).toEqual(["transform/done", "analysis/done", "aggregation/done"])
      const [aggregate] = (yield* output("aggregateTopic")).map(json)
      expect(aggregate).toMatchObject({ is_final: true, transform_stats: { total_reviews: 0, avg_rating: 0 }, analysis_stats: { total_analyzed: 0 } })
    }).pipe(Effect.provide(pipelineLayer())))

  it.effect("times out collection TIMEOUT_MS after the job's first record", () =>
    Effect.gen(function*() {
      yield* send("transform", [transformOf("c", "r1")])
      yield* settle
      yield* advance(9_000)
      expect(steps(yield* controlOut, "c")).toEqual([])
      yield* advance(1_500)
      const control = yield* controlOut
      expect(steps(control, "c")).toEqual(["aggregation/failed", "collection/timeout"])
      expect(control[0].error_message).toMatch(/^collection timeout: /)
      expect((yield* output("aggregateTopic")).map(json).at(-1)).toMatchObject({ job_id: "c", is_final: true })
    }).pipe(Effect.provide(pipelineLayer())))

  it.effect("times out transform TIMEOUT_MS after collection done, with the count so far", () =>
    Effect.gen(function*() {
      yield* advance(5_000)
      yield* send("control", [collectionDone("t", 3)])
      yield* send("transform", [transformOf("t", "r1"), transformOf("t", "r2")])
      yield* settle
      yield* advance(9_500)
      expect(steps(yield* controlOut, "t")).toEqual([])
      yield* advance(1_000)
      const last = (yield* controlOut).at(-1)
      expect(last).toMatchObject({ step: "transform", status: "timeout", expected_count: 3, actual_count: 2 })
    }).pipe(Effect.provide(pipelineLayer())))

  it.effect("times out analysis TIMEOUT_MS after transform done", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("a", 2)])
      yield* send("transform", [transformOf("a", "r1")])
      yield* settle
      yield* advance(8_000)
      yield* send("transform", [transformOf("a", "r2")])
      yield* send("analysis", [analysisOf("a", "r1")])
      yield* settle
      expect(steps(yield* controlOut, "a")).toEqual(["transform/done"])
      // The analysis deadline counts from transform done (t=8 s), not from collection.
      yield* advance(9_500)
      expect(steps(yield* controlOut, "a")).toEqual(["transform/done"])
      yield* advance(1_000)
      expect((yield* controlOut).at(-1)).toMatchObject({ step: "analysis", status: "timeout", actual_count: 1 })
    }).pipe(Effect.provide(pipelineLayer())))

  it.effect("fails a step whose distinct count goes above expected", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("m", 1)])
      yield* send("transform", [transformOf("m", "r1"), transformOf("m", "r2")])
      yield* settle
      const control = yield* controlOut
      expect(steps(control, "m")).toEqual(["aggregation/failed", "transform/failed"])
      expect(control.at(-1).error_message).toBe("expected 1 transform records, got 2")
      expect(control.at(-2).error_message).toBe("transform failed: expected 1 transform records, got 2")
    }).pipe(Effect.provide(pipelineLayer())))

  it.effect("fails on data quality as soon as usable + unusable reach expected", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("q", 3)])
      yield* send("transform", [transformOf("q", "r1"), transformOf("q", "bad", { rating: "다섯" })])
      yield* settle
      expect(steps(yield* controlOut, "q")).toEqual([])
      yield* send("transform", [transformOf("q", "bad", { rating: "다섯" })]) // same bad review again: still one
      yield* settle
      expect(steps(yield* controlOut, "q")).toEqual([])
      yield* send("analysis", [{ job_id: "q", review_id: "x", sentiment: "angry" }])
      yield* send("transform", [transformOf("q", "r2")])
      yield* settle
      const last = (yield* controlOut).at(-1)
      expect(last).toMatchObject({ step: "transform", status: "failed", actual_count: 2 })
      expect(last.error_message).toBe("data quality: 1 invalid records (first: rating: Expected a number or a numeric string)")
    }).pipe(Effect.provide(pipelineLayer())))

  it.effect("fails steps in order: unusable analysis records wait for transform to finish first", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("o", 2)])
      yield* send("analysis", [analysisOf("o", "r1"), { job_id: "o", review_id: "r2", sentiment: "meh" }])
      yield* settle
      expect(steps(yield* controlOut, "o"), "analysis data quality must not end the job while transform runs").toEqual([])
      yield* send("transform", [transformOf("o", "r1"), transformOf("o", "r2", { rating: "x" })])
      yield* settle
      expect((yield* controlOut).at(-1)).toMatchObject({ step: "transform", status: "failed" })
    }).pipe(Effect.provide(pipelineLayer())))

  it.effect("fails the job at the step an upstream stage reports failed", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("u", 5), { job_id: "u", step: "transform", status: "FAIL", failure_reason: "executor lost" }])
      yield* settle
      const control = yield* controlOut
      expect(steps(control, "u")).toEqual(["aggregation/failed", "transform/failed"])
      expect(control.at(-1).error_message).toBe("executor lost")
      expect(control.at(-2).error_message).toBe("transform failed: executor lost")
    }).pipe(Effect.provide(pipelineLayer())))

  it.effect("does not re-process control messages it wrote itself", () =>
    Effect.gen(function*() {
      yield* send("control", [{ job_id: "own", step: "transform", status: "failed", error_message: "x" }], { producer: "test-app" })
      yield* settle
      const aggregator = yield* ReviewAggregator
      expect(yield* aggregator.job("own")).toBeUndefined()
    }).pipe(Effect.provide(pipelineLayer())))

  it.effect("dead-letters a new review of a finished job as late_record; a repeat stays a counted duplicate", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("l", 1)])
      yield* send("transform", [transformOf("l", "r1")])
      yield* send("analysis", [analysisOf("l", "r1")])
      yield* settle
      expect(steps(yield* controlOut, "l")).toContain("aggregation/done")
      yield* send("transform", [transformOf("l", "r1"), transformOf("l", "r9")])
      yield* send("analysis", [analysisOf("l", "r1")])
      yield* settle
      const dlq = yield* output("dlqTopic")
      expect(dlq.map((r) => r.headers["dlq.error.type"])).toEqual(["late_record"])
      expect(JSON.parse(text(dlq[0]!.value)!)).toMatchObject({ review_id: "r9" })
      const job = yield* (yield* ReviewAggregator).job("l")
      expect(job!.quality.transform.duplicates + job!.quality.analysis.duplicates).toBe(2)
    }).pipe(Effect.provide(pipelineLayer())))

  it.effect("publishes changed unfinished aggregates every PUBLISH_INTERVAL_MS, and unchanged ones not again", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("p", 10)])
      yield* send("transform", [transformOf("p", "r1")])
      yield* settle
      expect(yield* output("aggregateTopic")).toHaveLength(0)
      yield* advance(60_000)
      const first = (yield* output("aggregateTopic")).map(json)
      expect(first).toHaveLength(1)
      expect(first[0]).toMatchObject({ job_id: "p", is_final: false, transform_stats: { total_reviews: 1 } })
      yield* advance(60_000)
      expect(yield* output("aggregateTopic")).toHaveLength(1)
      yield* send("transform", [transformOf("p", "r2")])
      yield* settle
      yield* advance(60_000)
      const all = (yield* output("aggregateTopic")).map(json)
      expect(all).toHaveLength(2)
      expect(all[1]).toMatchObject({ is_final: false, transform_stats: { total_reviews: 2 } })
    }).pipe(Effect.provide(pipelineLayer({ publishIntervalMs: 60_000, timeoutMs: 1_000_000 }))))

  it.effect("evicts a finished job JOB_RETENTION_MS after it finished", () =>
    Effect.gen(function*() {
      const aggregator = yield* ReviewAggregator
      yield* send("control", [collectionDone("e", 0)])
      yield* settle
      expect((yield* aggregator.job("e"))?.finishedAt).toBeDefined()
      // A short retention keeps the ticks the TestClock releases (one per 100 ms) few.
      yield* advance(55_000)
      expect(yield* aggregator.job("e")).toBeDefined()
      yield* advance(10_000)
      expect(yield* aggregator.job("e")).toBeUndefined()
    }).pipe(Effect.provide(pipelineLayer({ jobRetentionMs: 60_000 }))))
})

describe("session-window join", () => {
  it.effect("dead-letters a side whose window closes with no other side, even if nothing else arrives", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("w", 2)])
      yield* send("transform", [transformOf("w", "r1"), transformOf("w", "r2")], { origin: "spark" })
      yield* send("analysis", [analysisOf("w", "r1")])
      yield* settle
      expect((yield* output("rowsTopic")).map((r) => text(r.key))).toEqual(["w|r1"])
      yield* advance(900)
      expect(yield* dlqTypes).toEqual([])
      yield* advance(200)
      const dlq = yield* output("dlqTopic")
      expect(dlq).toHaveLength(1)
      expect(dlq[0]!.headers).toMatchObject({
        "dlq.error.type": "join_unmatched",
        "dlq.job_id": "w",
        "dlq.source.topic": "transform",
        origin: "spark"
      })
      expect(JSON.parse(text(dlq[0]!.value)!)).toMatchObject({ review_id: "r2" })
      // A late analysis for r2 opens a new window; it is counted but cannot join any more.
      yield* send("analysis", [analysisOf("w", "r2")])
      yield* settle
      expect((yield* output("rowsTopic")).length).toBe(1)
    }).pipe(Effect.provide(pipelineLayer({ windowInactivityMs: 1_000, timeoutMs: 100_000 }))))

  it.effect("does not join sides whose record timestamps are further apart than the gap", () =>
    Effect.gen(function*() {
      yield* advance(10_000)
      const kafka = yield* KafkaClient
      // Same arrival time, but the transform record was written 5 s before the analysis.
      yield* kafka.produce([{ topic: testTopics.transformTopic, key: null, value: JSON.stringify(transformOf("g", "r1")), timestamp: 5_000 }])
      yield* send("analysis", [analysisOf("g", "r1")])
      yield* settle
      expect(yield* output("rowsTopic")).toHaveLength(0)
      const dlq = yield* output("dlqTopic")
      expect(dlq.map((r) => r.headers["dlq.source.topic"])).toEqual(["transform"])
      expect(dlq[0]!.headers["dlq.error.message"]).toMatch(/more than 1000 ms apart/)
      yield* advance(1_000)
      expect((yield* output("dlqTopic")).map((r) => r.headers["dlq.source.topic"])).toEqual(["transform", "analysis"])
    }).pipe(Effect.provide(pipelineLayer({ windowInactivityMs: 1_000, timeoutMs: 100_000 }))))
})
