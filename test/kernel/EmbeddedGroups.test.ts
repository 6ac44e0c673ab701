/**
 * The embedded broker's co-partitioned groups move a partition only once its holder has
 * committed what it was handed; a partition it was handed nothing from (an empty one) is
 * free to move at once. Waiting there for a commit that never comes held a rebalance
 * forever (found when the review service's scale-out test started its replicas in
 * another order).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient, type AssignmentChange, type Subscription } from "../../src/kernel/kafka/KafkaPort.ts"

const options = { groupId: "g", topics: ["t"], fromBeginning: true, assignment: "co-partitioned" as const }

/** The member's next assignment change, handled (`done`); fails if none comes within a second. */
const nextChange = (subscription: Subscription, what: string) =>
  Stream.runHead(subscription.assignments).pipe(
    Effect.flatMap((change) => (change._tag === "Some" ? Effect.as(change.value.done, change.value) : Effect.die(new Error(`${what}: no more changes`)))),
    Effect.timeoutOrElse({ duration: "1 second", orElse: () => Effect.die(new Error(`${what}: none within a second`)) })
  )

const partitionsOf = (change: AssignmentChange) => change.partitions.map((tp) => `${tp.topic}/${tp.partition}`)

describe("embedded broker, co-partitioned groups", () => {
  it.live("moves a partition its holder was handed nothing from to a member that joins", () =>
    Effect.scoped(Effect.gen(function*() {
      const kafka = yield* KafkaClient
      yield* kafka.createTopics([{ topic: "t", partitions: 2, replicationFactor: 1 }])
      const first = yield* kafka.subscribe(options)
      expect(partitionsOf(yield* nextChange(first, "the first member's assignment"))).toEqual(["t/0", "t/1"])
      // The first member asks for a batch: it reads both (empty) partitions from their start and waits.
      const reading = yield* Effect.forkChild(Stream.runHead(first.batches))
      yield* Effect.sleep(20)
      const second = yield* kafka.subscribe(options)
      const revoked = yield* nextChange(first, "the first member's revocation")
      expect(revoked._tag).toBe("Revoked")
      const assigned = yield* nextChange(second, "the second member's assignment")
      expect(assigned._tag).toBe("Assigned")
      expect(partitionsOf(assigned)).toEqual(partitionsOf(revoked))
      expect(partitionsOf(revoked)).toHaveLength(1)
      yield* Fiber.interrupt(reading)
    })).pipe(Effect.provide(EmbeddedKafka.layer())))
})
