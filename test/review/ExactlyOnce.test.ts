/**
 * PROCESSING_GUARANTEE=exactly_once_v2 on the embedded broker: outputs, changelog and
 * input offsets are written by one transaction per batch, with the same results as
 * at_least_once.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { EmbeddedBroker } from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { json } from "../support/Outputs.ts"
import { analysisOf, collectionDone, controlOut, output, pipelineLayer, send, settle, testTopics, transformOf } from "../support/Pipeline.ts"

const scenario = Effect.gen(function*() {
  yield* send("control", [collectionDone("x", 2)])
  yield* send("transform", [transformOf("x", "r1"), transformOf("x", "r2", { rating: "nope" }), transformOf("x", "r2")])
  yield* send("analysis", [analysisOf("x", "r1"), analysisOf("x", "r2", "중립")])
  yield* settle
  const broker = yield* EmbeddedBroker
  return {
    control: (yield* controlOut).map(({ timestamp: _t, ...m }) => m),
    aggregate: (yield* output("aggregateTopic")).map(json).map(({ updated_at: _u, ...a }) => a),
    rows: (yield* output("rowsTopic")).length,
    dlq: (yield* output("dlqTopic")).map((r) => r.headers["dlq.error.type"]),
    changelog: broker.records(`${testTopics.applicationId}-job-state-changelog`).length,
    committed: broker.committed(testTopics.applicationId).map((c) => `${c.topic}:${c.offset}`).sort()
  }
})

describe("exactly_once_v2", () => {
  it.effect("gives the same outputs, changelog and committed offsets as at_least_once", () =>
    Effect.gen(function*() {
      const eos = yield* scenario.pipe(Effect.provide(pipelineLayer({ processingGuarantee: "exactly_once_v2" })))
      const alo = yield* scenario.pipe(Effect.provide(pipelineLayer({ processingGuarantee: "at_least_once" })))
      expect(eos.control.at(-1)).toMatchObject({ step: "aggregation", status: "done" })
      // control: the collector message plus the three this service wrote (read back and skipped)
      expect(eos.committed).toEqual(["analysis:2", "control:4", "transform:3"])
      expect(eos.changelog).toBeGreaterThan(0)
      expect(eos).toEqual(alo)
    }))
})
