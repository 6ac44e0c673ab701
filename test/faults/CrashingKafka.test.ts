/**
 * The crash harness itself: a crash lets out exactly the part of the dying write its
 * point says, and nothing at all afterwards, like kill -9.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit } from "effect"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import type { OutgoingRecord } from "../../src/kernel/kafka/KafkaPort.ts"
import { crashingKafka, type CrashPlan } from "../support/CrashingKafka.ts"
import { text } from "../support/Outputs.ts"

const outputs = (n: number): ReadonlyArray<OutgoingRecord> =>
  Array.from({ length: n }, (_, i) => ({ topic: "out", key: `k${i}`, value: `v${i}`, partition: 0 }))
const changelog: ReadonlyArray<OutgoingRecord> = [{ topic: "app-store-changelog", key: "s|1", value: "1", partition: 0 }]
const plan = (point: CrashPlan["point"], skip = 0): CrashPlan => ({ point, skip, prefix: () => 2 })

describe("the crashing Kafka client of the crash tests", () => {
  it.effect("writes the prefix of the dying produce, then refuses every write of the dead life", () =>
    Effect.gen(function*() {
      const broker = yield* EmbeddedKafka.make()
      const kafka = yield* crashingKafka(broker.client, plan("mid outputs", 1))
      yield* kafka.client.produce(outputs(3))
      const dying = yield* Effect.exit(kafka.client.produce(outputs(5)))
      expect(Exit.isFailure(dying), "the dying write fails").toBe(true)
      expect(yield* Deferred.await(kafka.crashed)).toEqual({ point: "mid outputs", write: 1, written: 2, of: 5 })
      expect(Exit.isFailure(yield* Effect.exit(kafka.client.produce(outputs(1)))), "a write after the crash fails").toBe(true)
      expect(broker.inspector.records("out").map((r) => text(r.value))).toEqual(["v0", "v1", "v2", "v0", "v1"])
    }))

  it.effect("dies between the changelog and the commit: the changelog is written, the offsets are not", () =>
    Effect.scoped(Effect.gen(function*() {
      const broker = yield* EmbeddedKafka.make()
      const kafka = yield* crashingKafka(broker.client, plan("between changelog and commit"))
      yield* broker.client.produce([{ topic: "in", key: null, value: "x", partition: 0 }])
      const subscription = yield* kafka.client.subscribe({ groupId: "g", topics: ["in"], fromBeginning: true })
      yield* kafka.client.produce(outputs(1))
      yield* kafka.client.produce(changelog)
      const commit = yield* Effect.exit(subscription.commit([{ topic: "in", partition: 0, offset: 1 }]))
      expect(Exit.isFailure(commit), "the commit fails").toBe(true)
      expect((yield* Deferred.await(kafka.crashed)).point).toBe("between changelog and commit")
      expect(broker.inspector.records("app-store-changelog")).toHaveLength(1)
      expect(broker.inspector.committed("g")).toEqual([])
    })))

  it.effect("aborts a transaction that dies before its commit point, and keeps one that dies after it", () =>
    Effect.gen(function*() {
      const broker = yield* EmbeddedKafka.make()
      const before = yield* crashingKafka(broker.client, plan("before transaction commit"))
      const aborted = yield* Effect.exit(before.client.transaction((tx) =>
        Effect.andThen(tx.produce(outputs(2)), tx.sendOffsets("g", [{ topic: "in", partition: 0, offset: 1 }]))
      ))
      expect(Exit.isFailure(aborted)).toBe(true)
      expect(broker.inspector.records("out")).toEqual([])
      expect(broker.inspector.committed("g")).toEqual([])

      const after = yield* crashingKafka(broker.client, plan("after transaction commit"))
      const committed = yield* Effect.exit(after.client.transaction((tx) =>
        Effect.andThen(tx.produce(outputs(2)), tx.sendOffsets("g", [{ topic: "in", partition: 0, offset: 1 }]))
      ))
      expect(Exit.isFailure(committed), "the process dies after the commit point").toBe(true)
      expect(broker.inspector.records("out")).toHaveLength(2)
      expect(broker.inspector.committed("g")).toEqual([{ topic: "in", partition: 0, offset: 1 }])
    }))
})
