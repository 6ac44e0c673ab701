/**
 * Consumer groups of several members on the embedded broker: rebalances as members join
 * and leave, partitions held by one member at a time, committed offsets honoured across
 * moves, a co-partitioned member given nothing told so, standbys under single-active
 * assignment, and compacted reads.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope, Stream } from "effect"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { EmbeddedBroker } from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { type AssignmentChange, KafkaClient } from "../../src/kernel/kafka/KafkaPort.ts"

const utf8 = new TextDecoder()
const where = (tp: { readonly topic: string; readonly partition: number }) => `${tp.topic}/${tp.partition}`

const until = (done: () => boolean, what: () => string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 20_000
    while (!done()) {
      if (Date.now() > deadline) return yield* Effect.fail(new Error(`waited 20 s for ${what()}`))
      yield* Effect.sleep("5 millis")
    }
  })

/** What every member did, checked against the rules as it happens. */
class Ledger {
  /** Partitions each live member holds, "assigned" until it has handled the change. */
  readonly views = new Map<string, Map<string, "assigned" | "ready">>()
  readonly handedTo = new Map<string, Array<string>>()
  readonly committedBy = new Map<string, string>()
  readonly violations: Array<string> = []

  holder(tp: string): ReadonlyArray<string> {
    return [...this.views].filter(([, view]) => view.has(tp)).map(([member]) => member)
  }
}

const member = (ledger: Ledger, name: string, groupId: string, topics: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const subscription = yield* kafka.subscribe({ groupId, topics, fromBeginning: true, assignment: "co-partitioned" })
    const view = new Map<string, "assigned" | "ready">()
    ledger.views.set(name, view)
    yield* Effect.addFinalizer(() => Effect.sync(() => ledger.views.delete(name)))
    const handle = (change: AssignmentChange) =>
      Effect.gen(function*() {
        for (const tp of change.partitions.map(where)) {
          if (change._tag === "Revoked") {
            view.delete(tp)
          } else {
            const others = ledger.holder(tp)
            if (others.length > 0) ledger.violations.push(`${name} was given ${tp} while ${others.join(", ")} held it`)
            view.set(tp, "assigned")
          }
        }
        yield* Effect.sleep("2 millis")
        for (const tp of change.partitions.map(where)) if (view.get(tp) === "assigned") view.set(tp, "ready")
        yield* change.done
      })
    yield* subscription.assignments.pipe(Stream.runForEach(handle), Effect.forkScoped)
    yield* subscription.batches.pipe(
      Stream.runForEach((batch) =>
        Effect.gen(function*() {
          const tp = where(batch)
          if (view.get(tp) !== "ready") ledger.violations.push(`${name} got a batch of ${tp} while it was ${view.get(tp) ?? "not held"}`)
          for (const r of batch.records) {
            const value = utf8.decode(r.value!)
            if (ledger.committedBy.has(value)) ledger.violations.push(`${name} was handed ${value}, committed by ${ledger.committedBy.get(value)}`)
            ledger.handedTo.set(value, [...(ledger.handedTo.get(value) ?? []), name])
          }
          // Handling takes a moment, so members leave with batches in flight.
          yield* Effect.sleep("1 millis")
          const last = batch.records.at(-1)!
          yield* Effect.uninterruptible(Effect.andThen(
            subscription.commit([{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1 }]),
            Effect.sync(() => batch.records.forEach((r) => ledger.committedBy.set(utf8.decode(r.value!), name)))
          ))
        })
      ),
      Effect.forkScoped
    )
  })

describe("embedded broker consumer groups", () => {
  it.live("co-partitioned: 3 members, a 4th joins, 2 leave; each partition held by one member at a time, no record lost or read twice once committed", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      const broker = yield* EmbeddedBroker
      const topics = ["orders", "payments"]
      yield* kafka.createTopics(topics.map((topic) => ({ topic, partitions: 6, replicationFactor: 1 })))
      const ledger = new Ledger()
      let produced = 0
      const wave = (n: number) =>
        kafka.produce(Array.from({ length: n }, () => {
          const i = produced++
          return { topic: topics[i % 2]!, key: null, value: `r${i}`, partition: Math.floor(i / 2) % 6 }
        }))
      const allCommitted = () => produced > 0 && ledger.committedBy.size === produced
      const scopes = new Map<string, Scope.Closeable>()
      const join = (name: string) =>
        Effect.gen(function*() {
          const scope = yield* Scope.make()
          scopes.set(name, scope)
          yield* member(ledger, name, "orders-app", topics).pipe(Scope.provide(scope))
        })
      const shares = () => [...ledger.views].map(([name, view]) => `${name}:${view.size}`).sort().join(" ")
      const settled = (expected: string) => () => shares() === expected && [...ledger.views.values()].every((v) => [...v.values()].every((s) => s === "ready"))

      yield* wave(120)
      for (const name of ["m1", "m2", "m3"]) yield* join(name)
      yield* until(settled("m1:4 m2:4 m3:4"), () => `three members sharing 12 partitions, have ${shares()}`)
      yield* wave(120)
      yield* join("m4")
      yield* wave(120)
      yield* until(() => settled("m1:4 m2:4 m3:2 m4:2")() && allCommitted(), () => `a fourth member taking its share, have ${shares()}`)
      yield* wave(240)
      yield* Effect.sleep("3 millis")
      yield* Scope.close(scopes.get("m1")!, Exit.void)
      yield* Scope.close(scopes.get("m3")!, Exit.void)
      yield* wave(120)
      yield* until(() => settled("m2:6 m4:6")() && allCommitted(), () => `two members left holding everything, have ${shares()}, committed ${ledger.committedBy.size} of ${produced}`)

      expect(ledger.violations, "rule violations seen while running").toEqual([])
      const everyPartition = topics.flatMap((topic) => [0, 1, 2, 3, 4, 5].map((partition) => `${topic}/${partition}`))
      for (const tp of everyPartition) expect(ledger.holder(tp), `holders of ${tp}`).toHaveLength(1)
      for (const name of ["m2", "m4"]) {
        const numbers = topics.map((topic) => [...ledger.views.get(name)!.keys()].filter((k) => k.startsWith(`${topic}/`)).map((k) => k.split("/")[1]).sort().join(","))
        expect(numbers[0], `${name} holds the same partition numbers of both topics`).toBe(numbers[1])
      }
      const readTwice = [...ledger.handedTo].filter(([, to]) => to.length > 1)
      // Handed out again only after its first reader left without committing it.
      for (const [value, to] of readTwice) expect(["m1", "m3"], `first reader of ${value} (read by ${to.join(", ")})`).toContain(to[0])
      const ends = Object.fromEntries(topics.flatMap((topic) => broker.endOffsets(topic).map((end, p) => [`${topic}/${p}`, end])))
      expect(Object.fromEntries(broker.committed("orders-app").map((o) => [`${o.topic}/${o.partition}`, o.offset])), "committed offsets").toEqual(ends)
    }).pipe(Effect.scoped, Effect.provide(EmbeddedKafka.layer({ maxBatchSize: 3 }))), 60_000)

  it.live("co-partitioned: a partition moves only after its holder has committed what it was handed and handled the revocation", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      yield* kafka.createTopics([{ topic: "t", partitions: 2, replicationFactor: 1 }])
      yield* kafka.produce([0, 1].map((partition) => ({ topic: "t", key: null, value: `v${partition}`, partition })))
      const first = yield* kafka.subscribe({ groupId: "g", topics: ["t"], fromBeginning: true, assignment: "co-partitioned" })
      const firstChanges = yield* Stream.toPull(first.assignments)
      const firstBatches = yield* Stream.toPull(first.batches)
      const [assigned] = yield* firstChanges
      expect(assigned!.partitions.map(where).sort()).toEqual(["t/0", "t/1"])
      yield* assigned!.done
      const held = [...(yield* firstBatches), ...(yield* firstBatches)]
      expect(held.map(where).sort(), "the lone member reads both partitions").toEqual(["t/0", "t/1"])

      const second = yield* kafka.subscribe({ groupId: "g", topics: ["t"], fromBeginning: true, assignment: "co-partitioned" })
      const secondChanges = yield* Stream.toPull(second.assignments)
      const secondWaits = yield* Effect.forkChild(secondChanges)
      const firstWaits = yield* Effect.forkChild(firstChanges)
      // Handed out but not committed: the first member keeps partition 1 for now.
      yield* first.commit([{ topic: "t", partition: 0, offset: 1 }])
      yield* Effect.sleep("20 millis")
      expect(firstWaits.pollUnsafe(), "the first member's revocation before it committed what it was handed").toBeUndefined()
      expect(secondWaits.pollUnsafe(), "the second member's assignment before the first committed").toBeUndefined()
      yield* first.commit([{ topic: "t", partition: 1, offset: 1 }])
      const [revoked] = yield* Fiber.join(firstWaits)
      expect({ tag: revoked!._tag, partitions: revoked!.partitions.map(where) }).toEqual({ tag: "Revoked", partitions: ["t/1"] })
      yield* Effect.sleep("20 millis")
      expect(secondWaits.pollUnsafe(), "the second member's assignment before the first handled its revocation").toBeUndefined()
      yield* revoked!.done
      const [gained] = yield* Fiber.join(secondWaits)
      expect({ tag: gained!._tag, partitions: gained!.partitions.map(where) }).toEqual({ tag: "Assigned", partitions: ["t/1"] })
      yield* kafka.produce([{ topic: "t", key: null, value: "after", partition: 1 }])
      yield* gained!.done
      const [next] = yield* Stream.toPull(second.batches).pipe(Effect.flatten)
      expect(next!.records.map((r) => `${r.offset}:${utf8.decode(r.value!)}`), "the new holder starts at the committed offset").toEqual(["1:after"])
    }).pipe(Effect.scoped, Effect.provide(EmbeddedKafka.layer())))

  it.live("co-partitioned: a member given no partition is told so (an assignment of none), and gets the partition when its holder leaves", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      yield* kafka.createTopics([{ topic: "t", partitions: 1, replicationFactor: 1 }])
      const firstScope = yield* Scope.make()
      const first = yield* kafka.subscribe({ groupId: "g", topics: ["t"], fromBeginning: true, assignment: "co-partitioned" }).pipe(Scope.provide(firstScope))
      const [firstAssigned] = yield* Stream.toPull(first.assignments).pipe(Effect.flatten)
      expect(firstAssigned!.partitions.map(where), "the first member's assignment").toEqual(["t/0"])
      yield* firstAssigned!.done
      const second = yield* kafka.subscribe({ groupId: "g", topics: ["t"], fromBeginning: true, assignment: "co-partitioned" })
      const secondChanges = yield* Stream.toPull(second.assignments)
      const [none] = yield* secondChanges
      expect({ tag: none!._tag, partitions: none!.partitions }, "the second member's first change").toEqual({ tag: "Assigned", partitions: [] })
      yield* none!.done
      yield* Scope.close(firstScope, Exit.void)
      const [gained] = yield* secondChanges
      expect({ tag: gained!._tag, partitions: gained!.partitions.map(where) }).toEqual({ tag: "Assigned", partitions: ["t/0"] })
    }).pipe(Effect.scoped, Effect.provide(EmbeddedKafka.layer())))

  it.live("single-active: a second member stands by with no partitions until the first leaves, then takes every partition", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      yield* kafka.createTopics([{ topic: "t", partitions: 3, replicationFactor: 1 }])
      const firstScope = yield* Scope.make()
      const first = yield* kafka.subscribe({ groupId: "g", topics: ["t"], fromBeginning: true }).pipe(Scope.provide(firstScope))
      yield* first.active
      const second = yield* kafka.subscribe({ groupId: "g", topics: ["t"], fromBeginning: true })
      const takeover = yield* Effect.forkChild(second.active)
      yield* kafka.produce([0, 1, 2].map((partition) => ({ topic: "t", key: null, value: `v${partition}`, partition })))
      const [batch] = yield* Stream.toPull(first.batches).pipe(Effect.flatten)
      yield* first.commit([{ topic: batch!.topic, partition: batch!.partition, offset: 1 }])
      expect(takeover.pollUnsafe(), "the standby active while the first member holds the partitions").toBeUndefined()
      expect(yield* second.progress!, "partitions the standby reads").toEqual([])
      yield* Scope.close(firstScope, Exit.void)
      yield* Fiber.join(takeover)
      const [changed] = yield* Stream.toPull(second.assignments).pipe(Effect.flatten)
      expect(changed!.partitions.map(where).sort()).toEqual(["t/0", "t/1", "t/2"])
      const pull = yield* Stream.toPull(second.batches)
      const values = [...(yield* pull), ...(yield* pull)].flatMap((b) => b.records.map((r) => utf8.decode(r.value!)))
      expect(values.sort(), "records not committed by the first member").toEqual(["v0", "v1", "v2"].filter((v) => v !== `v${batch!.partition}`))
    }).pipe(Effect.scoped, Effect.provide(EmbeddedKafka.layer())))

  it.effect("refuses a member whose assignment or topics differ from its group's, and co-partitioned topics of unequal sizes", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      yield* kafka.createTopics([{ topic: "a", partitions: 2, replicationFactor: 1 }, { topic: "b", partitions: 3, replicationFactor: 1 }])
      yield* kafka.subscribe({ groupId: "g", topics: ["a"], fromBeginning: true })
      const other = yield* kafka.subscribe({ groupId: "g", topics: ["a"], fromBeginning: true, assignment: "co-partitioned" }).pipe(Effect.flip)
      expect(other.message).toMatch(/consumer group 'g' uses single-active assignment, not co-partitioned/)
      const topics = yield* kafka.subscribe({ groupId: "g", topics: ["b"], fromBeginning: true }).pipe(Effect.flip)
      expect(topics.message).toMatch(/consumer group 'g' reads a, not b/)
      const unequal = yield* kafka.subscribe({ groupId: "h", topics: ["a", "b"], fromBeginning: true, assignment: "co-partitioned" }).pipe(Effect.flip)
      expect(unequal.message).toMatch(/same number of partitions, but a has 2, b has 3/)
    }).pipe(Effect.scoped, Effect.provide(EmbeddedKafka.layer())))

  it.effect("a compacted topic reads back as the latest record per key without tombstones; subscribers see the whole log", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      yield* kafka.createTopics([{ topic: "state", partitions: 1, replicationFactor: 1, config: { "cleanup.policy": "compact" } }])
      yield* kafka.produce([
        { topic: "state", key: "a", value: "a1" },
        { topic: "state", key: "b", value: "b1" },
        { topic: "state", key: "a", value: "a2" },
        { topic: "state", key: "b", value: null },
        { topic: "state", key: "c", value: "c1" }
      ])
      const read = (yield* kafka.readAll("state")).map((r) => `${r.offset}:${utf8.decode(r.key!)}=${utf8.decode(r.value!)}`)
      expect(read, "readAll").toEqual(["2:a=a2", "4:c=c1"])
      expect((yield* kafka.readPartition("state", 0)).map((r) => r.offset), "readPartition").toEqual([2, 4])
      const keyless = yield* kafka.produce([{ topic: "state", key: null, value: "x" }]).pipe(Effect.flip)
      expect(keyless.message).toMatch(/without a key cannot go to the compacted topic state/)
      const subscription = yield* kafka.subscribe({ groupId: "g", topics: ["state"], fromBeginning: true })
      const [batch] = yield* Stream.toPull(subscription.batches).pipe(Effect.flatten)
      expect(batch!.records.map((r) => r.offset), "offsets a subscriber reads").toEqual([0, 1, 2, 3, 4])
    }).pipe(Effect.scoped, Effect.provide(EmbeddedKafka.layer())))
})
