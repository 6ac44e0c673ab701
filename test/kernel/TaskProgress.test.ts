/**
 * Decisions by absence per task when scaled out: a task decides from the progress of its
 * own partitions only, so one partition far behind holds back its own task's decisions
 * and not those of the other tasks the same member holds.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient } from "../../src/kernel/kafka/KafkaPort.ts"
import * as Runtime from "../../src/kernel/runtime/Runtime.ts"
import type { TaskDefinition } from "../../src/kernel/runtime/Task.ts"

/** Notes each punctuation's decision time per task. */
const watching = (decisions: Map<number, Array<number>>): TaskDefinition => ({
  name: "watching",
  topics: ["left", "right"],
  stores: [],
  partitioning: "perPartition",
  punctuateEveryMs: 10,
  make: (_stores, taskId) => ({
    process: () => {},
    punctuate: (ctx) => void decisions.set(taskId, [...(decisions.get(taskId) ?? []), ctx.decisionTime])
  })
})

const waitUntil = (done: () => boolean, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 3_000; i++) {
      if (done()) return
      yield* Effect.sleep(10)
    }
    return yield* Effect.fail(new Error(`gave up waiting for ${what}`))
  })

describe("read progress per task (co-partitioned)", () => {
  it.live("a partition held back delays only its own task's decisions", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      yield* kafka.createTopics(["left", "right"].map((topic) => ({ topic, partitions: 2, replicationFactor: 1 })))
      yield* kafka.produce(["left", "right"].flatMap((topic) =>
        [0, 1].flatMap((partition) => Array.from({ length: 5 }, (_, i) => ({ topic, partition, key: `k${i}`, value: "x" })))
      ))
      // Batches of partition 1 wait at this gate: its records stay unread while it is closed.
      const gate = { open: false }
      const waitOpen: Effect.Effect<void> = Effect.suspend(() => (gate.open ? Effect.void : Effect.andThen(Effect.sleep(1), waitOpen)))
      const client = KafkaClient.of({
        ...kafka,
        subscribe: (options) =>
          Effect.map(kafka.subscribe(options), (s) => ({
            ...s,
            // Unordered: batches of partition 0 pass one of partition 1 waiting at the gate.
            batches: Stream.mapEffect(
              s.batches,
              (batch) => (batch.partition === 1 ? Effect.as(waitOpen, batch) : Effect.succeed(batch)),
              { concurrency: 8, unordered: true }
            )
          }))
      })
      const decisions = new Map<number, Array<number>>()
      const started = Date.now()
      const member = yield* Effect.forkChild(Effect.scoped(Runtime.run({
        applicationId: "progress",
        dlqTopic: "dlq",
        guarantee: "at_least_once",
        assignment: "co-partitioned",
        alignment: { idleMs: 5, maxEventRecords: 100, maxEventBytes: 1024 * 1024 },
        task: watching(decisions)
      })).pipe(Effect.provideService(KafkaClient, client)))

      const decidedSince = (taskId: number) => (decisions.get(taskId) ?? []).some((t) => t >= started)
      yield* waitUntil(() => decidedSince(0) && (decisions.get(1)?.length ?? 0) >= 3, "task 0 to decide and task 1 to be punctuated")
      expect(decidedSince(1), "task 1's records are unread: it decides nothing").toBe(false)
      gate.open = true
      yield* waitUntil(() => decidedSince(1), "task 1 to decide once its partition is read")
      yield* Fiber.interrupt(member)
    }).pipe(Effect.provide(EmbeddedKafka.layer())), 60_000)
})
