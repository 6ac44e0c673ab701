/**
 * Scale-out on the embedded broker: several runtimes in one group, co-partitioned, share a
 * stateful perPartition task's partitions; members join and leave mid-run, and the state
 * moves with its partitions (restored from their changelog partitions, dropped on
 * revocation), so the end result is exactly one runtime's.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { EmbeddedBroker } from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient, type ConsumedRecord } from "../../src/kernel/kafka/KafkaPort.ts"
import * as Runtime from "../../src/kernel/runtime/Runtime.ts"
import { changelogTopic } from "../../src/kernel/store/StoreSpec.ts"
import { consumedAll, runUntilIdle } from "../../src/kernel/testing/RunUntilIdle.ts"
import { countingTask, countsSpec, expectedState, folded, inputs, perKey, rolloversSpec, topicSpecs } from "./CountingTask.ts"

const PARTITIONS = 6
const KEYS = 48
const applicationId = "scale"
const settings = { applicationId, dlqTopic: "dlq", guarantee: "at_least_once" as const }
const alignment = { idleMs: 5, maxEventRecords: 40, maxEventBytes: 1024 * 1024 }
const utf8 = new TextDecoder()

/** `n` records per topic, keyed over KEYS keys, with increasing timestamps from `from`. */
const produceRound = (n: number, from: number) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    for (const topic of inputs) {
      yield* kafka.produce(Array.from({ length: n }, (_, i) => ({
        topic,
        key: `k${(i * 7 + (topic === "views" ? 3 : 0)) % KEYS}`,
        value: "x",
        timestamp: from + 2 * i + (topic === "views" ? 1 : 0)
      })))
    }
  })

/** Polls until `done` holds; fails saying what it waited for after `attempts` rounds of 10 ms. */
const waitUntil = (done: () => boolean, what: string, attempts = 3_000) =>
  Effect.gen(function*() {
    for (let i = 0; i < attempts; i++) {
      if (done()) return
      yield* Effect.sleep(10)
    }
    return yield* Effect.fail(new Error(`gave up waiting for ${what}`))
  })

const finalState = (broker: EmbeddedBroker["Service"]) => ({
  counts: folded(broker.records(changelogTopic(applicationId, countsSpec))),
  rollovers: folded(broker.records(changelogTopic(applicationId, rolloversSpec)))
})

/** Running totals emitted per key, sorted: 1..n exactly once each when nothing was handled twice. */
const totalsPerKey = (records: ReadonlyArray<ConsumedRecord>) => {
  const out = new Map<string, Array<number>>()
  for (const r of records) {
    const key = utf8.decode(r.key!)
    out.set(key, [...(out.get(key) ?? []), Number(utf8.decode(r.value!))])
  }
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.sort((a, b) => a - b)]))
}

/** Whether members get batches: closed, records wait unread (a batch already handed out waits too). */
const gate = { open: true }
const waitOpen: Effect.Effect<void> = Effect.suspend(() => (gate.open ? Effect.void : Effect.andThen(Effect.sleep(1), waitOpen)))

/** The broker's client, its subscriptions' batches held at the gate. */
const gated = (inner: KafkaClient["Service"]) =>
  KafkaClient.of({
    ...inner,
    subscribe: (options) =>
      Effect.map(inner.subscribe(options), (subscription) => ({
        ...subscription,
        batches: Stream.mapEffect(subscription.batches, (batch) => Effect.as(waitOpen, batch))
      }))
  })

interface MemberLog {
  joined: boolean
  owned: Set<number>
  readonly assigned: Array<ReadonlyArray<number>>
  readonly revoked: Array<ReadonlyArray<number>>
  /** Entries the tasks it was assigned held right after their restore. */
  restoredEntries: number
  /** Punctuations of tasks this member did not hold at the time. */
  readonly strayPunctuations: Array<number>
  punctuations: number
}

const startMember = (log: MemberLog) =>
  Effect.flatMap(KafkaClient, (kafka) => Effect.forkChild(Effect.scoped(Runtime.run({
    ...settings,
    alignment,
    assignment: "co-partitioned",
    task: countingTask((taskId) => {
      log.punctuations++
      if (!log.owned.has(taskId)) log.strayPunctuations.push(taskId)
    }),
    onRestored: () => Effect.sync(() => void (log.joined = true)),
    onAssigned: (tasks) =>
      Effect.sync(() => {
        log.assigned.push(tasks.map((t) => t.taskId))
        for (const t of tasks) {
          log.owned.add(t.taskId)
          log.restoredEntries += t.stores.reduce((n, s) => n + s.size, 0)
        }
      }),
    onRevoked: (tasks) =>
      Effect.sync(() => {
        log.revoked.push(tasks.map((t) => t.taskId))
        for (const t of tasks) log.owned.delete(t.taskId)
      })
  })).pipe(Effect.provideService(KafkaClient, gated(kafka)))))

const newLog = (): MemberLog => ({ joined: false, owned: new Set(), assigned: [], revoked: [], restoredEntries: 0, strayPunctuations: [], punctuations: 0 })

describe("scale-out: co-partitioned runtimes in one group", () => {
  it.live("3 members, a 4th joins and 2 leave mid-run: the state and outputs are exactly one runtime's", () =>
    Effect.gen(function*() {
      const broker = yield* EmbeddedBroker
      const kafka = yield* KafkaClient
      yield* kafka.createTopics(topicSpecs(applicationId, PARTITIONS))
      const inputTopics = [...inputs]
      const progressed = () => broker.committed(applicationId).reduce((n, c) => n + c.offset, 0)

      // Members join and leave while records wait unread: the gate holds every member's
      // batches from the moment a round is produced until the change is made.
      const logs = [newLog(), newLog(), newLog(), newLog()]
      yield* produceRound(1_500, 1_000)
      const a = yield* startMember(logs[0]!)
      const b = yield* startMember(logs[1]!)
      const c = yield* startMember(logs[2]!)
      const settled = (members: ReadonlyArray<MemberLog>) => () =>
        members.every((l) => l.owned.size === PARTITIONS / members.length) && new Set(members.flatMap((l) => [...l.owned])).size === PARTITIONS
      yield* waitUntil(settled(logs.slice(0, 3)), "three members holding two partitions each")
      yield* waitUntil(() => progressed() >= 1_000, "the first members to make progress")

      gate.open = false
      yield* produceRound(1_500, 10_000)
      const d = yield* startMember(logs[3]!)
      yield* waitUntil(() => logs[3]!.joined, "the fourth member to join")
      gate.open = true
      yield* waitUntil(() => logs[3]!.owned.size > 0, "the fourth member's first assignment")

      gate.open = false
      yield* produceRound(1_500, 20_000)
      const leaving = logs[0]!.owned.size + logs[1]!.owned.size
      yield* Fiber.interrupt(a)
      yield* Fiber.interrupt(b)
      gate.open = true
      expect(leaving, "the members that leave hold partitions").toBeGreaterThan(0)
      yield* waitUntil(settled([logs[2]!, logs[3]!]), "the two members left to hold three partitions each")
      yield* waitUntil(() => consumedAll(broker, applicationId, inputTopics), "the last two members to consume everything")
      yield* Fiber.interrupt(c)
      yield* Fiber.interrupt(d)

      const revoked = logs.flatMap((l) => l.revoked.flat())
      expect(revoked.length, "partitions were revoked from members (the 4th joining)").toBeGreaterThan(0)
      expect(logs[3]!.restoredEntries, "the member that joined restored the state of the partitions it took over").toBeGreaterThan(0)
      expect(logs[2]!.assigned.length, "a member that stayed took over partitions of those that left").toBeGreaterThan(1)
      expect(logs.flatMap((l) => l.strayPunctuations), "only tasks a member holds are punctuated").toEqual([])
      expect(logs.reduce((n, l) => n + l.punctuations, 0), "tasks were punctuated").toBeGreaterThan(0)

      const records = inputTopics.flatMap((t) => broker.records(t))
      const expected = expectedState(perKey(records))
      const scaled = finalState(broker)
      expect(scaled, "final state from the changelog: exact counts per key").toEqual(expected)
      const totals = totalsPerKey(broker.records("counted"))
      for (const [key, n] of perKey(records)) {
        expect(totals[key], `running totals of ${key}: each of 1..${n} once (no record handled twice or lost)`).toEqual(
          Array.from({ length: n }, (_, i) => i + 1)
        )
      }

      // One runtime alone on the same input, on a broker of its own.
      const alone = yield* Effect.gen(function*() {
        const single = yield* EmbeddedBroker
        const client = yield* KafkaClient
        yield* client.createTopics(topicSpecs(applicationId, PARTITIONS))
        yield* client.produce(records.map((r) => ({ topic: r.topic, partition: r.partition, key: r.key, value: r.value, timestamp: r.timestamp })))
        yield* runUntilIdle({ ...settings, alignment, task: countingTask() })
        return { state: finalState(single), totals: totalsPerKey(single.records("counted")) }
      }).pipe(Effect.provide(EmbeddedKafka.layer()))
      expect(scaled, "the same final state as one runtime").toEqual(alone.state)
      expect(totals, "the same outputs as one runtime").toEqual(alone.totals)
    }).pipe(Effect.provide(EmbeddedKafka.layer())), 120_000)

  it.live("a member that gains one of N partitions reads only that partition of each changelog", () =>
    Effect.gen(function*() {
      const broker = yield* EmbeddedBroker
      const inner = yield* KafkaClient
      const app = "scale-reads"
      yield* inner.createTopics(topicSpecs(app, 3))
      const changelogs = [countsSpec, rolloversSpec].map((spec) => changelogTopic(app, spec))
      const member = (client: KafkaClient["Service"], owned: Set<number>, onAssigned: Effect.Effect<void> = Effect.void) =>
        Effect.forkChild(Effect.scoped(Runtime.run({
          ...settings,
          applicationId: app,
          alignment,
          assignment: "co-partitioned",
          task: countingTask(),
          onAssigned: (tasks) => Effect.andThen(Effect.sync(() => tasks.forEach((t) => owned.add(t.taskId))), onAssigned),
          onRevoked: (tasks) => Effect.sync(() => tasks.forEach((t) => owned.delete(t.taskId)))
        })).pipe(Effect.provideService(KafkaClient, client)))
      const consumed = () => consumedAll(broker, app, [...inputs])

      yield* produceRound(900, 1_000)
      const [ownedA, ownedB, ownedC] = [new Set<number>(), new Set<number>(), new Set<number>()]
      const a = yield* member(inner, ownedA)
      const b = yield* member(inner, ownedB)
      yield* waitUntil(() => ownedA.size + ownedB.size === 3 && ownedB.size > 0 && consumed(), "two members to share and consume the input")

      // The third member's restore reads go through a client that counts them.
      const reads: Array<{ readonly topic: string; readonly partition: number; readonly records: number }> = []
      const readAlls: Array<string> = []
      const counting = KafkaClient.of({
        ...inner,
        readAll: (topic) => Effect.tap(inner.readAll(topic), () => Effect.sync(() => void readAlls.push(topic))),
        readPartition: (topic, partition) =>
          Effect.tap(inner.readPartition(topic, partition), (records) => Effect.sync(() => void reads.push({ topic, partition, records: records.length })))
      })
      const sizes = new Map<string, number>()
      const measure = Effect.gen(function*() {
        for (const topic of changelogs) {
          sizes.set(`${topic}/all`, (yield* inner.readAll(topic)).length)
          for (const p of ownedC) sizes.set(`${topic}/${p}`, (yield* inner.readPartition(topic, p)).length)
        }
      })
      const c = yield* member(counting, ownedC, Effect.orDie(measure))
      yield* waitUntil(() => ownedC.size === 1, "the third member to gain one partition")
      yield* produceRound(300, 5_000)
      yield* waitUntil(consumed, "the three members to consume the rest")
      for (const fiber of [a, b, c]) yield* Fiber.interrupt(fiber)

      const [gained] = [...ownedC]
      expect(readAlls, "no whole changelog is read").toEqual([])
      expect(reads.map((r) => `${r.topic}/${r.partition}`).sort(), "one read of the gained partition per changelog").toEqual(
        changelogs.map((topic) => `${topic}/${gained}`).sort()
      )
      for (const r of reads) {
        expect(r.records, `${r.topic}: the records of partition ${gained} as they stood`).toBe(sizes.get(`${r.topic}/${gained}`))
        expect(r.records, `${r.topic}: partition ${gained} held state`).toBeGreaterThan(0)
        expect(r.records, `${r.topic}: fewer than the whole changelog`).toBeLessThan(sizes.get(`${r.topic}/all`)!)
      }
    }).pipe(Effect.provide(EmbeddedKafka.layer())), 120_000)
})
