/** The runtime measures every task: store sizes, restore outcomes, batch handling time, write steps and waits. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, Schema } from "effect"
import { EmbeddedKafka, Kafka, Monoids, runUntilIdle, Source, Topology } from "../../src/kernel/index.ts"

const Sale = Schema.Struct({ shop: Schema.String, amount: Schema.Number })
const task = Topology.aggregate({
  name: "sales",
  source: Source.make({ topic: "sales", schema: Sale }),
  groupBy: (s) => s.shop,
  lift: (s) => s.amount,
  monoid: Monoids.sum,
  state: Schema.Number,
  publish: { topic: "shop-totals", schema: Schema.Struct({ shop: Schema.String, total: Schema.Number }), render: (shop, total) => ({ shop, total }) },
  partitioning: "single"
})
const settings = { applicationId: "metrics-app", dlqTopic: "dlq", guarantee: "at_least_once" as const, metricsPrefix: "metrics_app", task }

/** The value of a series, by name and attributes. */
const valueOf = (name: string, attributes: Record<string, string>) =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const s = snapshots.find((m) => m.id === name && Object.entries(attributes).every(([k, v]) => m.attributes?.[k] === v))
    return s === undefined ? undefined : (s.state as { readonly count?: number; readonly value?: number })
  })

describe("runtime metrics", () => {
  it.effect("report store entries, restored records, batch handling time per task, and the time of write steps and waits", () =>
    Effect.gen(function*() {
      const kafka = yield* Kafka.KafkaClient
      yield* kafka.produce(["a", "b", "a"].map((shop) => ({ topic: "sales", key: shop, value: JSON.stringify({ shop, amount: 1 }) })))
      yield* runUntilIdle(settings)
      expect(yield* valueOf("metrics_app_store_entries", { task: "sales/0", store: "sales" })).toMatchObject({ value: 2 })
      expect((yield* valueOf("metrics_app_batch_processing_seconds", {}))?.count).toBeGreaterThan(0)
      // Where the loop's time went besides handling: each write step timed, both waits counted.
      for (const step of ["outputs", "changelog", "commit"]) {
        expect((yield* valueOf("metrics_app_write_step_seconds", { step }))?.count, `write step ${step}`).toBeGreaterThan(0)
      }
      expect(yield* valueOf("metrics_app_write_step_seconds", { step: "transaction" }), "no transaction under at_least_once").toBeUndefined()
      expect((yield* valueOf("metrics_app_wait_seconds_total", { what: "input" }))?.count, "waited for input").toBeGreaterThan(0)
      expect((yield* valueOf("metrics_app_wait_seconds_total", { what: "write" }))?.count, "the write wait series exists").toBeGreaterThanOrEqual(0)
      // A restart restores the two shops from the changelog.
      yield* kafka.produce([{ topic: "sales", key: "c", value: JSON.stringify({ shop: "c", amount: 1 }) }])
      yield* runUntilIdle(settings)
      expect(yield* valueOf("metrics_app_restore_records_total", { task: "sales/0", outcome: "applied" })).toMatchObject({ count: 2 })
      expect(yield* valueOf("metrics_app_store_entries", { task: "sales/0", store: "sales" })).toMatchObject({ value: 3 })
    }).pipe(Effect.provide(Layer.fresh(EmbeddedKafka.layer()))))
})
