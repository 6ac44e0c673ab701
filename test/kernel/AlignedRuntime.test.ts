/**
 * Aligned consumption on the embedded broker: with one input produced entirely before the
 * other, a task still sees the records of both in record-timestamp order, and partners
 * that end in one event are joined within it, so the join buffer writes no changelog for
 * them. An input whose batches cover more record time than the other's is paused while it
 * runs ahead, and read to its end once resumed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, Schema } from "effect"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { EmbeddedBroker } from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient, type TopicPartition } from "../../src/kernel/kafka/KafkaPort.ts"
import * as Join from "../../src/kernel/join/SessionJoin.ts"
import type { TaskDefinition } from "../../src/kernel/runtime/Task.ts"
import { changelogTopic } from "../../src/kernel/store/StoreSpec.ts"
import * as StoreKey from "../../src/kernel/store/StoreKey.ts"
import { runUntilIdle } from "../../src/kernel/testing/RunUntilIdle.ts"
import { TaskHarness } from "../../src/kernel/testing/TaskHarness.ts"
import { isEventMarker } from "../../src/kernel/runtime/TaskInstance.ts"

const utf8 = new TextDecoder()
const joinSpec = Join.spec({ name: "pairs", key: StoreKey.string, left: Schema.String, right: Schema.String, gapMs: 60_000 })

/** Joins `left` and `right` records by value; notes, per task, the order it handled records in. */
const pairing = (partitioning: "single" | "perPartition", seen: Map<number, Array<string>>): TaskDefinition => ({
  name: "pairing",
  topics: ["left", "right"],
  stores: [joinSpec],
  partitioning,
  make: (stores, taskId) => {
    const join = new Join.SessionJoin(stores.get(joinSpec))
    const order: Array<string> = []
    seen.set(taskId, order)
    return {
      process: (record, ctx) => {
        const id = utf8.decode(record.value!)
        order.push(`${record.topic}:${id}`)
        const side = record.topic === "left" ? "left" : "right"
        const result = join.offer(id, side, id, record.timestamp)
        if (result._tag === "Joined") ctx.emit({ topic: "pairs", key: id, value: `${result.left}+${result.right}` })
      }
    }
  }
})

/** `pairs` pairs over `partitions` partitions; all of `left` is produced before any of `right`; left i at 2i, right i at 2i + 1. */
const produceLeftThenRight = (pairs: number, partitions: number) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    yield* kafka.createTopics(["left", "right"].map((topic) => ({ topic, partitions, replicationFactor: 1 })))
    const side = (topic: string, skew: number) =>
      Array.from({ length: pairs }, (_, i) => ({ topic, key: null, value: String(i), partition: i % partitions, timestamp: 1_000 + 2 * i + skew }))
    yield* kafka.produce(side("left", 0))
    yield* kafka.produce(side("right", 1))
  })

const settings = { applicationId: "aligned", dlqTopic: "dlq", guarantee: "at_least_once" as const }

describe("aligned consumption", () => {
  it.effect("interleaves an input produced entirely before the other by record timestamp, in every task", () =>
    Effect.gen(function*() {
      const broker = yield* EmbeddedBroker
      yield* produceLeftThenRight(300, 2)
      const seen = new Map<number, Array<string>>()
      let events = 0
      yield* runUntilIdle({
        ...settings,
        task: pairing("perPartition", seen),
        alignment: { idleMs: 100, maxEventRecords: 25, maxEventBytes: 1024 * 1024 },
        observe: (event) => Effect.sync(() => void (event.input !== undefined && events++))
      })
      for (const partition of [0, 1]) {
        const ids = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 2 === partition)
        expect(seen.get(partition), `task ${partition} handles left i, then right i, then left i + 1`).toEqual(
          ids.flatMap((i) => [`left:${i}`, `right:${i}`])
        )
      }
      expect(broker.records("pairs")).toHaveLength(300)
      // Handled topic after topic, every left side would be buffered in one event and
      // released in a later one: 600 changelog records. Aligned, only a pair split by the
      // end of an event is (at most a put and a delete per event).
      const changelog = broker.records(changelogTopic(settings.applicationId, joinSpec)).length
      expect(events, "small events: many of them").toBeGreaterThan(20)
      expect(changelog, `join changelog records over ${events} events`).toBeLessThanOrEqual(2 * events)
      expect(changelog).toBeLessThan(100)
    }).pipe(Effect.provide(EmbeddedKafka.layer({ maxBatchSize: 7 }))))

  it.effect("joins partners of one event within it: the join buffer writes no changelog", () =>
    Effect.gen(function*() {
      const broker = yield* EmbeddedBroker
      yield* produceLeftThenRight(200, 1)
      const seen = new Map<number, Array<string>>()
      yield* runUntilIdle({ ...settings, task: pairing("single", seen) })
      expect(seen.get(0)).toEqual(Array.from({ length: 200 }, (_, i) => [`left:${i}`, `right:${i}`]).flat())
      expect(broker.records("pairs").map((r) => utf8.decode(r.value!))).toEqual(Array.from({ length: 200 }, (_, i) => `${i}+${i}`))
      expect(broker.records(changelogTopic(settings.applicationId, joinSpec)), "each side buffered and released in the same event").toHaveLength(0)
    }).pipe(Effect.provide(EmbeddedKafka.layer({ maxBatchSize: 500 }))))

  it("TaskHarness delivers several topics' records as one event, in timestamp order", () => {
    const seen = new Map<number, Array<string>>()
    const harness = new TaskHarness(pairing("single", seen), settings)
    const left = [0, 1, 2].map((i) => ({ topic: "left", value: String(i), timestamp: 2 * i }))
    const right = [0, 1, 2].map((i) => ({ topic: "right", value: String(i), timestamp: 2 * i + 1 }))
    const together = harness.event([...left, ...right])
    expect(seen.get(0)).toEqual(["left:0", "right:0", "left:1", "right:1", "left:2", "right:2"])
    expect(together.records.map((r) => r.value)).toEqual(["0+0", "1+1", "2+2"])
    expect(together.changelog, "partners of one event leave no trace in the join buffer's changelog").toEqual([])
    // The same records as two events, one per topic: every left side is written, then deleted.
    const apart = new TaskHarness(pairing("single", new Map()), settings)
    const first = apart.event(left)
    const second = apart.event(right)
    expect(first.changelog.map((r) => r.value === null)).toEqual([false, false, false])
    expect(second.changelog.filter((r) => !isEventMarker(r)).map((r) => r.value === null)).toEqual([true, true, true])
    expect(second.changelog.filter(isEventMarker), "an event of tombstones only also writes its marker value").toHaveLength(1)
  })

  it.effect("pauses an input that runs ahead in record time and resumes it once the other catches up, reading both to the end", () => {
    const calls: Array<string> = []
    /** The paused-partitions gauge as each pause or resume is asked for (it tells the state before it). */
    const gauge: Array<number> = []
    const gaugeNow = Effect.map(Metric.snapshot, (all) => {
      const state = all.find((m) => m.id === "flow_paused_input_partitions")?.state as { readonly value?: number } | undefined
      return state?.value
    })
    const note = (what: string) => (partitions: ReadonlyArray<TopicPartition>) =>
      Effect.flatMap(gaugeNow, (value) =>
        Effect.sync(() => {
          if (value !== undefined) gauge.push(value)
          calls.push(...partitions.map((tp) => `${what} ${tp.topic}${tp.partition}`))
        }))
    // The embedded broker, its subscriptions noting the reader's pauses and resumes.
    const spying = Layer.effect(KafkaClient, Effect.gen(function*() {
      const kafka = yield* KafkaClient
      return KafkaClient.of({
        ...kafka,
        subscribe: (options) =>
          Effect.map(kafka.subscribe(options), (subscription) => ({
            ...subscription,
            pause: (partitions: ReadonlyArray<TopicPartition>) => Effect.andThen(note("pause")(partitions), subscription.pause(partitions)),
            resume: (partitions: ReadonlyArray<TopicPartition>) => Effect.andThen(note("resume")(partitions), subscription.resume(partitions))
          }))
      })
    })).pipe(Layer.provideMerge(EmbeddedKafka.layer({ maxBatchSize: 10 })))
    return Effect.gen(function*() {
      const kafka = yield* KafkaClient
      // Equal record counts, but a batch of `sparse` covers 100 ms of record time and one of `dense` 50 ms.
      yield* kafka.produce(Array.from({ length: 400 }, (_, i) => ({ topic: "dense", key: null, value: `d${i}`, timestamp: 5 * i })))
      yield* kafka.produce(Array.from({ length: 400 }, (_, i) => ({ topic: "sparse", key: null, value: `s${i}`, timestamp: 10 * i })))
      const seen: Array<number> = []
      yield* runUntilIdle({
        ...settings,
        metricsPrefix: "flow",
        alignment: { idleMs: 100, maxEventRecords: 10, maxEventBytes: 1024 * 1024, maxLeadMs: 200 },
        task: {
          name: "timestamps",
          topics: ["dense", "sparse"],
          stores: [],
          partitioning: "single",
          make: () => ({ process: (record) => void seen.push(record.timestamp) })
        }
      })
      expect(seen, "every record of both, once").toHaveLength(800)
      expect(calls[0], "sparse is paused as soon as it is known to run ahead").toBe("pause sparse0")
      expect(calls.filter((c) => c.endsWith("dense0")), "the input behind is never paused").toEqual([])
      expect(calls.filter((c) => c === "pause sparse0").length, "paused again each time it gets ahead again").toBeGreaterThan(2)
      expect(calls.filter((c) => c === "resume sparse0").length, "resumed each time dense catches up").toBeGreaterThan(2)
      // dense ends at 1 995 ms: from there on it holds nothing unread, and sparse is read on freely.
      expect(calls.at(-1)).toBe("resume sparse0")
      expect(seen, "in record-timestamp order").toEqual([...seen].sort((a, b) => a - b))
      expect(gauge[0], "the gauge is there, at 0, before the first pause").toBe(0)
      expect(gauge, "and reads 1 while sparse is paused").toContain(1)
      expect(yield* gaugeNow, "and 0 once it is resumed").toBe(0)
    }).pipe(Effect.provide(spying))
  })
})
