/**
 * The kernel's stream processor: outputs, then offsets; an event's write overlaps the
 * next event's handling, writes staying in order; writes that fail with a retriable
 * error are retried with backoff (never re-handled, never lost); a non-retriable error
 * ends the processor.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { EmbeddedBroker } from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient, KafkaError } from "../../src/kernel/kafka/KafkaPort.ts"
import * as StreamProcessor from "../../src/kernel/runtime/StreamProcessor.ts"

/** The embedded broker whose `produce` to `out` fails the first `failures` times. */
const flakyKafka = (failures: number, retriable: boolean) =>
  Layer.effect(KafkaClient, Effect.gen(function*() {
    const kafka = yield* KafkaClient
    let left = failures
    return KafkaClient.of({
      ...kafka,
      produce: (records) =>
        records.some((r) => r.topic === "out") && left-- > 0
          ? Effect.fail(new KafkaError({ operation: "produce", message: "broker not available", retriable }))
          : kafka.produce(records)
    })
  })).pipe(Layer.provideMerge(EmbeddedKafka.layer()))

/** The embedded broker whose `produce` to `out` takes `ms` (or never ends) before it writes. */
const slowKafka = (ms: number | "never") =>
  Layer.effect(KafkaClient, Effect.gen(function*() {
    const kafka = yield* KafkaClient
    return KafkaClient.of({
      ...kafka,
      produce: (records) =>
        records.some((r) => r.topic === "out")
          ? (ms === "never" ? Effect.never : Effect.sleep(ms)).pipe(Effect.andThen(kafka.produce(records)))
          : kafka.produce(records)
    })
  })).pipe(Layer.provideMerge(EmbeddedKafka.layer()))

let handled = 0
const processor = StreamProcessor.run({
  groupId: "g",
  topics: ["in"],
  guarantee: "at_least_once",
  handleEvent: (event) =>
    Effect.sync(() => {
      handled += event.records.length
      return { records: event.records.map((r) => ({ topic: "out", key: r.key, value: r.value })), changelog: [] }
    }),
  shutdownGraceMs: 5_000
})

const produceInput = Effect.gen(function*() {
  const kafka = yield* KafkaClient
  yield* kafka.produce([{ topic: "in", key: "a", value: "1" }, { topic: "in", key: "b", value: "2" }])
})

const yieldMany = Effect.gen(function*() {
  for (let i = 0; i < 200; i++) yield* Effect.yieldNow
})

/** Two input records and the processor running on them, until its first write is under way. */
const runningOnInput = Effect.gen(function*() {
  const broker = yield* EmbeddedBroker
  yield* produceInput
  const fiber = yield* Effect.forkChild(Effect.scoped(processor))
  yield* yieldMany
  return { broker, fiber }
})

describe("StreamProcessor", () => {
  it.effect("retries a retriable write with backoff and writes each output once", () =>
    Effect.gen(function*() {
      handled = 0
      const { broker, fiber } = yield* runningOnInput
      expect(broker.records("out")).toHaveLength(0)
      expect(broker.committed("g")).toEqual([])
      // 200 ms + 400 ms + 800 ms of backoff for three failures.
      yield* TestClock.adjust(1_500)
      yield* yieldMany
      expect(broker.records("out").map((r) => new TextDecoder().decode(r.value!))).toEqual(["1", "2"])
      expect(broker.committed("g")).toEqual([{ topic: "in", partition: 0, offset: 2 }])
      expect(handled, "the batch is handled once, only its write is retried").toBe(2)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(flakyKafka(3, true))))

  it.effect("can be stopped while it waits out a broker outage (shutdown does not hang)", () =>
    Effect.gen(function*() {
      const { broker, fiber } = yield* runningOnInput
      yield* TestClock.adjust(60_000)
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.timeoutOption(1_000), Effect.forkChild)
      yield* yieldMany
      yield* TestClock.adjust(1_000)
      const stopped = yield* Fiber.join(exit)
      expect(stopped._tag, "interrupting during the retry loop returns at once").toBe("Some")
      expect(broker.committed("g"), "nothing committed for the unwritten batch").toEqual([])
    }).pipe(Effect.provide(flakyKafka(Number.MAX_SAFE_INTEGER, true))))

  it.effect("stops on a non-retriable write error without committing", () =>
    Effect.gen(function*() {
      const broker = yield* EmbeddedBroker
      yield* produceInput
      const exit = yield* Effect.exit(Effect.scoped(processor))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit)).toMatch(/broker not available/)
      expect(broker.committed("g")).toEqual([])
    }).pipe(Effect.provide(flakyKafka(1, false))))

  it.effect("handles the next event while the previous one is written, committing each only once it and every earlier one are written", () =>
    Effect.gen(function*() {
      const broker = yield* EmbeddedBroker
      yield* produceInput
      let seen = 0
      const fiber = yield* Effect.forkChild(Effect.scoped(StreamProcessor.run({
        groupId: "overlap",
        topics: ["in"],
        guarantee: "at_least_once",
        // One record per event: the two input records are two events.
        alignment: { idleMs: 0, maxEventRecords: 1, maxEventBytes: 1024 },
        handleEvent: (event) =>
          Effect.sync(() => {
            seen += event.records.length
            return { records: event.records.map((r) => ({ topic: "out", key: r.key, value: r.value })), changelog: [] }
          })
      })))
      yield* yieldMany
      expect(seen, "the second event handled while the first one's write is under way").toBe(2)
      expect(broker.records("out"), "nothing written yet").toEqual([])
      expect(broker.committed("overlap"), "nothing committed yet").toEqual([])
      yield* TestClock.adjust(1_000)
      yield* yieldMany
      expect(broker.records("out"), "the first event written").toHaveLength(1)
      expect(broker.committed("overlap"), "only the first event committed").toEqual([{ topic: "in", partition: 0, offset: 1 }])
      yield* TestClock.adjust(1_000)
      yield* yieldMany
      expect(broker.records("out"), "both events written, in order").toHaveLength(2)
      expect(broker.committed("overlap"), "the second event committed after its write").toEqual([{ topic: "in", partition: 0, offset: 2 }])
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(slowKafka(1_000))))

  it.effect("on shutdown, a write under way may finish within the grace, and its batch is committed", () =>
    Effect.gen(function*() {
      const { broker, fiber } = yield* runningOnInput
      const stopping = yield* Effect.forkChild(Fiber.interrupt(fiber))
      yield* yieldMany
      expect(stopping.pollUnsafe(), "stopped before the write under way finished").toBeUndefined()
      yield* TestClock.adjust(3_000)
      yield* Fiber.join(stopping)
      expect(broker.records("out")).toHaveLength(2)
      expect(broker.committed("g"), "the batch written during the grace is committed").toEqual([{ topic: "in", partition: 0, offset: 2 }])
    }).pipe(Effect.provide(slowKafka(3_000))))

  it.effect("on shutdown, a write still under way when the grace ends is abandoned, nothing of its batch committed", () =>
    Effect.gen(function*() {
      const { broker, fiber } = yield* runningOnInput
      const stopping = yield* Effect.forkChild(Fiber.interrupt(fiber))
      yield* TestClock.adjust(4_999)
      yield* yieldMany
      expect(stopping.pollUnsafe(), "stopped before the grace ended").toBeUndefined()
      yield* TestClock.adjust(1)
      yield* Fiber.join(stopping)
      expect(broker.records("out")).toEqual([])
      expect(broker.committed("g"), "nothing committed for the abandoned batch").toEqual([])
    }).pipe(Effect.provide(slowKafka("never"))))
})
