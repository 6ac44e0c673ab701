/**
 * The example pipeline on the embedded broker: undecodable orders go to the DLQ with
 * their reason, a redelivered order counts once, totals are per customer, and a restart
 * restores the totals and the seen orders from the changelog, so a duplicate replayed
 * after the restart still counts once.
 */
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Effect, Layer } from "effect"
import { EmbeddedKafka, Kafka, runUntilIdle } from "../../src/kernel/index.ts"
import { ordersPipeline } from "./OrdersPipeline.ts"

const topics = { orders: "orders", totals: "customer-totals" }
const settings = { applicationId: "orders-app", dlqTopic: "orders-dlq", guarantee: "at_least_once" as const }
const run = runUntilIdle({ ...settings, task: ordersPipeline(topics) })

const text = (bytes: Uint8Array | null) => new TextDecoder().decode(bytes ?? new Uint8Array())
const order = (order_id: string, customer_id: string, amount: number) => ({ order_id, customer_id, amount })

/** Orders keyed by customer, as the pipeline's partitioning asks. */
const send = (values: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const kafka = yield* Kafka.KafkaClient
    yield* kafka.produce(values.map((v) => ({
      topic: topics.orders,
      key: typeof v === "object" && v !== null && "customer_id" in v ? String(v.customer_id) : null,
      value: typeof v === "string" ? v : JSON.stringify(v)
    })))
  })

/** The latest published totals per customer. */
const latestTotals = Effect.gen(function*() {
  const broker = yield* EmbeddedKafka.EmbeddedBroker
  const latest = new Map<string, unknown>()
  for (const r of broker.records(topics.totals)) latest.set(text(r.key), JSON.parse(text(r.value)))
  return Object.fromEntries(latest)
})

describe("orders example pipeline", () => {
  it.effect("dead-letters bad orders, counts redelivered ones once, and restores its state after a restart", () =>
    Effect.gen(function*() {
      const broker = yield* EmbeddedKafka.EmbeddedBroker
      yield* send([order("o1", "alice", 10), order("o2", "bob", 5), order("o1", "alice", 10), "{not json", { order_id: "o3", customer_id: "bob" }])
      yield* run
      expect(yield* latestTotals).toEqual({
        alice: { customer_id: "alice", orders: 1, amount: 10 },
        bob: { customer_id: "bob", orders: 1, amount: 5 }
      })
      const dlq = [...broker.records(settings.dlqTopic)].sort((a, b) => a.headers["dlq.error.type"]!.localeCompare(b.headers["dlq.error.type"]!))
      expect(dlq.map((r) => [r.headers["dlq.error.type"], r.headers["dlq.error.message"]])).toEqual([
        ["invalid_json", expect.stringMatching(/^value is not valid JSON/)],
        ["schema", "amount: Missing key"]
      ])
      expect(text(dlq[0]!.value), "the DLQ keeps the original bytes").toBe("{not json")

      // A new runtime (a restart): state comes back from the changelog, not from re-reading the input.
      yield* send([order("o2", "bob", 5), order("o4", "bob", 7)])
      yield* run
      expect(yield* latestTotals).toEqual({
        alice: { customer_id: "alice", orders: 1, amount: 10 },
        bob: { customer_id: "bob", orders: 2, amount: 12 }
      })
      const changelog = broker.records("orders-app-customer-totals-changelog")
      expect(changelog.length, "one changelog record per changed customer per batch").toBeLessThanOrEqual(3)
    }).pipe(Effect.provide(Layer.fresh(EmbeddedKafka.layer({ defaultPartitions: 2 })))))
})

describe("docs/building-a-pipeline.md", () => {
  it("shows the example's code as it is", () => {
    const read = (path: string) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), "utf8")
    expect(read("../../docs/building-a-pipeline.md")).toContain(read("./OrdersPipeline.ts"))
  })
})
