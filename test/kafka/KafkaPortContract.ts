/**
 * What every KafkaClient adapter must do, as one suite run against each of them (the
 * embedded broker, kafkajs on the mock cluster, kafkajs on a real cluster). Consumers
 * here commit every batch they take, as the stream processor does: the kafkajs adapter
 * hands out the next batch only once the previous one is committed.
 */
import { expect, type Vitest } from "@effect/vitest"
import { Effect, Exit, Schedule, Scope, Semaphore, Stream } from "effect"
import {
  type AssignmentChange,
  KafkaClient,
  type ConsumedRecord,
  type OutgoingRecord,
  type RecordBatch,
  type Subscription,
  type TopicPartitionOffset
} from "../../src/kernel/kafka/KafkaPort.ts"
import { partitionForKey } from "../../src/kernel/kafka/Murmur2.ts"

export interface ContractTopic {
  readonly name: string
  readonly partitions: number
}

/** Topics the suite needs, pre-created by the target (the mock cannot create topics). */
export const contractTopics = (prefix: string) => ({
  records: { name: `${prefix}records`, partitions: 1 },
  ordered: { name: `${prefix}ordered`, partitions: 3 },
  batchesA: { name: `${prefix}batches-a`, partitions: 2 },
  batchesB: { name: `${prefix}batches-b`, partitions: 2 },
  resume: { name: `${prefix}resume`, partitions: 2 },
  paused: { name: `${prefix}paused`, partitions: 2 },
  leave: { name: `${prefix}leave`, partitions: 2 },
  readAll: { name: `${prefix}read-all`, partitions: 3 },
  readPartition: { name: `${prefix}read-partition`, partitions: 3 },
  coA: { name: `${prefix}co-a`, partitions: 2 },
  coB: { name: `${prefix}co-b`, partitions: 2 },
  handoverA: { name: `${prefix}handover-a`, partitions: 2 },
  handoverB: { name: `${prefix}handover-b`, partitions: 2 },
  empty: { name: `${prefix}empty`, partitions: 2 },
  txIn: { name: `${prefix}tx-in`, partitions: 1 },
  txOut: { name: `${prefix}tx-out`, partitions: 1 }
}) satisfies Record<string, ContractTopic>

export type ContractTopics = ReturnType<typeof contractTopics>

export interface ContractTarget {
  readonly topics: ContractTopics
  /** Prefix for names the suite makes up (groups, topics that must not exist yet). */
  readonly prefix: string
  /** Why a capability is missing (the test is skipped and says so), or undefined. */
  readonly missing: { readonly createTopics?: string | undefined; readonly transactions?: string | undefined }
  /** Longest wait for records (group joins take seconds on real brokers). */
  readonly waitMs: number
}

const utf8 = new TextDecoder()
const text = (b: Uint8Array | null) => (b === null ? null : utf8.decode(b))
const bytes = (b: Uint8Array | null) => (b === null ? null : Array.from(b))

const nextOffsets = (batch: RecordBatch): ReadonlyArray<TopicPartitionOffset> => {
  const last = batch.records[batch.records.length - 1]
  return last === undefined ? [] : [{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1 }]
}

/** Takes batches, committing each, until `count` records arrived; fails saying how many came. */
const consume = (subscription: Subscription, count: number, waitMs: number, what: string) =>
  Effect.suspend(() => {
    let seen = 0
    return subscription.batches.pipe(
      Stream.tap((batch) => subscription.commit(nextOffsets(batch))),
      Stream.takeUntil((batch) => (seen += batch.records.length) >= count),
      Stream.runCollect,
      Effect.timeoutOrElse({
        duration: waitMs,
        orElse: () => Effect.fail(new Error(`${what}: received ${seen} of ${count} records within ${waitMs} ms`))
      })
    )
  })

const recordsOf = (batches: ReadonlyArray<RecordBatch>): ReadonlyArray<ConsumedRecord> => batches.flatMap((b) => b.records)

const subscribeAndConsume = (groupId: string, topics: ReadonlyArray<ContractTopic>, count: number, waitMs: number) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const subscription = yield* kafka.subscribe({ groupId, topics: topics.map((t) => t.name), fromBeginning: true })
    return yield* consume(subscription, count, waitMs, `group ${groupId}`)
  }).pipe(Effect.scoped)

const produce = (records: ReadonlyArray<OutgoingRecord>) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    yield* kafka.produce(records)
  })

const until = (done: () => boolean, ms: number, what: () => string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (!done()) {
      if (Date.now() > deadline) return yield* Effect.fail(new Error(`waited ${ms} ms for ${what()}`))
      yield* Effect.sleep("50 millis")
    }
  })

/**
 * A co-partitioned member as the runtime is meant to be one: it handles each assignment
 * change (taking a while, as a restore does) before running its `done`, handles and
 * commits each batch, and notes anything it was handed that it did not hold.
 */
class CoMember {
  /** Partitions held, by `topic/partition`: "assigned" until the change is done. */
  readonly held = new Map<string, "assigned" | "ready">()
  readonly seen = new Set<string>()
  readonly violations: Array<string> = []

  constructor(readonly name: string) {}

  join(groupId: string, topics: ReadonlyArray<ContractTopic>) {
    return Effect.gen({ self: this }, function*() {
      const kafka = yield* KafkaClient
      const subscription = yield* kafka.subscribe({ groupId, topics: topics.map((t) => t.name), fromBeginning: true, assignment: "co-partitioned" })
      const where = (tp: { topic: string; partition: number }) => `${tp.topic}/${tp.partition}`
      const handle = (change: AssignmentChange) =>
        Effect.gen({ self: this }, function*() {
          if (change._tag === "Revoked") {
            for (const tp of change.partitions) {
              if (!this.held.has(where(tp))) this.violations.push(`${this.name} lost ${where(tp)}, which it did not hold`)
              this.held.delete(where(tp))
            }
          } else {
            for (const tp of change.partitions) this.held.set(where(tp), "assigned")
            // Long enough for a batch of a partition not yet ready to show up if the adapter let it through.
            yield* Effect.sleep("300 millis")
            for (const tp of change.partitions) if (this.held.get(where(tp)) === "assigned") this.held.set(where(tp), "ready")
          }
          yield* change.done
        })
      yield* subscription.assignments.pipe(Stream.runForEach(handle), Effect.forkScoped)
      yield* subscription.batches.pipe(
        Stream.runForEach((batch) =>
          Effect.gen({ self: this }, function*() {
            const state = this.held.get(where(batch))
            if (state !== "ready") this.violations.push(`${this.name} got a batch of ${where(batch)} while it was ${state ?? "not held"}`)
            for (const r of batch.records) this.seen.add(text(r.value)!)
            yield* subscription.commit(nextOffsets(batch)).pipe(
              Effect.retry({ while: (e) => e.retriable, schedule: Schedule.spaced("200 millis") })
            )
          })
        ),
        Effect.forkScoped
      )
    })
  }

  /** Partition numbers held per topic, as `topic:0,1`. */
  partitions(topics: ReadonlyArray<ContractTopic>): ReadonlyArray<string> {
    return topics.map((t) => `${t.name}:${[...this.held.keys()].filter((k) => k.startsWith(`${t.name}/`)).map((k) => Number(k.split("/")[1])).sort().join(",")}`)
  }

  holdsReady(count: number): boolean {
    return this.held.size === count && [...this.held.values()].every((s) => s === "ready")
  }
}

const skipNote = (reason: string | undefined) => (reason === undefined ? "" : ` (skipped: ${reason})`)

export const kafkaPortContract = (it: Vitest.MethodsNonLive<KafkaClient>, target: ContractTarget): void => {
  const { topics, waitMs } = target
  const group = (name: string) => `${target.prefix}${name}`

  it.effect("delivers key, value, headers and timestamp as produced, tombstones as null values", () =>
    Effect.gen(function*() {
      const before = Date.now()
      const binary = new Uint8Array([0, 255, 1, 0xfe])
      yield* produce([
        { topic: topics.records.name, key: "k1", value: "v1", headers: { source: "test", word: "리뷰" }, timestamp: 1_700_000_000_123 },
        { topic: topics.records.name, key: binary, value: binary },
        { topic: topics.records.name, key: null, value: "keyless" },
        { topic: topics.records.name, key: "gone", value: null }
      ])
      const after = Date.now()
      const records = recordsOf(yield* subscribeAndConsume(group("records"), [topics.records], 4, waitMs))
      expect(records.map((r) => ({ key: bytes(r.key), value: bytes(r.value), offset: r.offset, partition: r.partition }))).toEqual([
        { key: bytes(new TextEncoder().encode("k1")), value: bytes(new TextEncoder().encode("v1")), offset: 0, partition: 0 },
        { key: bytes(binary), value: bytes(binary), offset: 1, partition: 0 },
        { key: null, value: bytes(new TextEncoder().encode("keyless")), offset: 2, partition: 0 },
        { key: bytes(new TextEncoder().encode("gone")), value: null, offset: 3, partition: 0 }
      ])
      expect(records.every((r) => r.topic === topics.records.name)).toBe(true)
      expect(records[0]!.headers, "headers of the first record").toEqual({ source: "test", word: "리뷰" })
      expect(records[1]!.headers, "a record produced without headers has none").toEqual({})
      expect(records[0]!.timestamp, "an explicit timestamp is kept").toBe(1_700_000_000_123)
      for (const r of records.slice(1)) {
        expect(r.timestamp, "a record without timestamp gets the produce time").toBeGreaterThanOrEqual(before - 1_000)
        expect(r.timestamp).toBeLessThanOrEqual(after + 1_000)
      }
    }))

  it.effect("keeps each partition in produce order and partitions keys by murmur2 like the Java client", () =>
    Effect.gen(function*() {
      const keys = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
      const keyed = Array.from({ length: 30 }, (_, i) => ({ topic: topics.ordered.name, key: keys[i % keys.length]!, value: String(i) }))
      const pinned = Array.from({ length: 3 }, (_, i) => ({ topic: topics.ordered.name, key: "alpha", value: `pinned-${i}`, partition: 2 }))
      yield* produce([...keyed, ...pinned])
      const records = recordsOf(yield* subscribeAndConsume(group("ordered"), [topics.ordered], 33, waitMs))
      expect(records).toHaveLength(33)
      for (const key of keys) {
        const ofKey = records.filter((r) => text(r.key) === key && !text(r.value)!.startsWith("pinned"))
        expect(new Set(ofKey.map((r) => r.partition)), `partitions of key ${key}`).toEqual(
          new Set([partitionForKey(new TextEncoder().encode(key), topics.ordered.partitions)])
        )
        const values = ofKey.map((r) => Number(text(r.value)))
        expect(values, `values of key ${key} in consumption order`).toEqual([...values].sort((a, b) => a - b))
      }
      expect(records.filter((r) => text(r.value)!.startsWith("pinned")).map((r) => r.partition), "explicit partition").toEqual([2, 2, 2])
      for (let p = 0; p < topics.ordered.partitions; p++) {
        const offsets = records.filter((r) => r.partition === p).map((r) => r.offset)
        expect(offsets, `offsets of partition ${p}`).toEqual(offsets.map((_, i) => i))
      }
    }))

  it.effect("delivers non-empty batches of one topic-partition each, continuing without gaps or repeats", () =>
    Effect.gen(function*() {
      const spread = (topic: ContractTopic) =>
        Array.from({ length: 20 }, (_, i) => ({ topic: topic.name, key: `k${i}`, value: `${topic.name}-${i}`, partition: i % topic.partitions }))
      yield* produce([...spread(topics.batchesA), ...spread(topics.batchesB)])
      const batches = yield* subscribeAndConsume(group("batches"), [topics.batchesA, topics.batchesB], 40, waitMs)
      const position = new Map<string, number>()
      for (const batch of batches) {
        expect(batch.records.length, "batch size").toBeGreaterThan(0)
        const where = `${batch.topic}/${batch.partition}`
        for (const r of batch.records) {
          expect(`${r.topic}/${r.partition}`, "record of a batch").toBe(where)
          expect(r.offset, `offset in ${where}`).toBe(position.get(where) ?? 0)
          position.set(where, r.offset + 1)
        }
        // The high watermark (for the consumer-lag metric) is past the batch's last record.
        expect(batch.highWatermark, `high watermark of ${where}`).toBeGreaterThanOrEqual(batch.records.at(-1)!.offset + 1)
        expect(batch.highWatermark, `high watermark of ${where}`).toBeLessThanOrEqual(10)
      }
      expect(Object.fromEntries(position)).toEqual({
        [`${topics.batchesA.name}/0`]: 10,
        [`${topics.batchesA.name}/1`]: 10,
        [`${topics.batchesB.name}/0`]: 10,
        [`${topics.batchesB.name}/1`]: 10
      })
    }))

  it.effect("resumes a group after its committed offsets; another group starts from the beginning", () =>
    Effect.gen(function*() {
      const batch = (from: number, n: number) =>
        Array.from({ length: n }, (_, i) => ({ topic: topics.resume.name, key: null, value: `r${from + i}`, partition: (from + i) % 2 }))
      yield* produce(batch(0, 10))
      const first = recordsOf(yield* subscribeAndConsume(group("resume"), [topics.resume], 10, waitMs))
      expect(first.map((r) => text(r.value)).sort()).toEqual(batch(0, 10).map((r) => r.value).sort())
      yield* produce(batch(10, 4))
      const second = recordsOf(yield* subscribeAndConsume(group("resume"), [topics.resume], 4, waitMs))
      expect(second.map((r) => text(r.value)).sort(), "only records after the committed offsets").toEqual(["r10", "r11", "r12", "r13"])
      expect(second.map((r) => `${r.partition}:${r.offset}`).sort()).toEqual(["0:5", "0:6", "1:5", "1:6"])
      const fresh = recordsOf(yield* subscribeAndConsume(group("resume-other"), [topics.resume], 14, waitMs))
      expect(fresh).toHaveLength(14)
    }))

  it.effect("hands out no batch of a paused partition until it is resumed, and then all of it", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      const records = (partition: number) =>
        Array.from({ length: 5 }, (_, i) => ({ topic: topics.paused.name, key: null, value: `p${partition}-${i}`, partition }))
      yield* produce(records(0))
      const subscription = yield* kafka.subscribe({ groupId: group("paused"), topics: [topics.paused.name], fromBeginning: true })
      yield* subscription.active
      const one = { topic: topics.paused.name, partition: 1 }
      yield* subscription.pause([one])
      const seen: Array<string> = []
      yield* subscription.batches.pipe(
        Stream.runForEach((batch) =>
          Effect.andThen(Effect.sync(() => seen.push(...batch.records.map((r) => text(r.value)!))), subscription.commit(nextOffsets(batch)))
        ),
        Effect.forkScoped
      )
      yield* until(() => seen.length >= 5, waitMs, () => `partition 0's 5 records (got ${seen.length})`)
      // Produced only now, after a fetch that may have started before the pause has had time to end.
      yield* Effect.sleep("1500 millis")
      yield* produce(records(1))
      yield* Effect.sleep("1500 millis")
      expect(seen, "nothing of the paused partition").toEqual(records(0).map((r) => r.value))
      yield* subscription.resume([one])
      yield* until(() => seen.length >= 10, waitMs, () => `partition 1's records after the resume (got ${seen.length - 5})`)
      expect(seen.slice(5)).toEqual(records(1).map((r) => r.value))
    }).pipe(Effect.scoped))

  it.effect("closing the subscription's scope leaves the group, so a new member takes over every partition", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      const two = (tag: string) => [0, 1].map((partition) => ({ topic: topics.leave.name, key: null, value: `${tag}${partition}`, partition }))
      yield* produce(two("a"))
      const scope = yield* Scope.make()
      const first = yield* kafka.subscribe({ groupId: group("leave"), topics: [topics.leave.name], fromBeginning: true }).pipe(
        Scope.provide(scope)
      )
      yield* consume(first, 2, waitMs, "first member")
      yield* Scope.close(scope, Exit.void)
      yield* produce(two("b"))
      const started = Date.now()
      const taken = recordsOf(yield* subscribeAndConsume(group("leave"), [topics.leave], 2, waitMs))
      expect(taken.map((r) => text(r.value)).sort(), "the new member gets both partitions").toEqual(["b0", "b1"])
      expect(Date.now() - started, "takeover time").toBeLessThan(waitMs)
    }))

  it.effect("readAll returns every record of every partition up to the end, tombstones included", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      const records = Array.from({ length: 9 }, (_, i) => ({
        topic: topics.readAll.name,
        key: `key-${i % 4}`,
        value: i === 7 ? null : `value-${i}`,
        partition: i % 3,
        headers: { seq: String(i) }
      }))
      yield* produce(records)
      const read = yield* kafka.readAll(topics.readAll.name)
      expect(read.map((r) => ({ p: r.partition, key: text(r.key), value: text(r.value), seq: r.headers["seq"] })).sort((a, b) =>
        Number(a.seq) - Number(b.seq)
      )).toEqual(records.map((r) => ({ p: r.partition, key: r.key, value: r.value, seq: r.headers.seq })))
      for (let p = 0; p < 3; p++) {
        expect(read.filter((r) => r.partition === p).map((r) => r.offset), `offsets of partition ${p}`).toEqual([0, 1, 2])
      }
      expect(yield* kafka.readAll(topics.empty.name), "an empty topic").toEqual([])
      expect(yield* kafka.readAll(`${target.prefix}never-created`), "a topic that does not exist").toEqual([])
    }))

  it.effect("readPartition returns every record of one partition in offset order, nothing of the others", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      const topic = topics.readPartition.name
      yield* produce(Array.from({ length: 8 }, (_, i) => ({ topic, key: `key-${i}`, value: i === 5 ? null : `value-${i}`, partition: i % 2 })))
      const one = yield* kafka.readPartition(topic, 1)
      expect(one.map((r) => ({ p: r.partition, offset: r.offset, value: text(r.value) })), "partition 1").toEqual(
        [1, 3, 5, 7].map((i, offset) => ({ p: 1, offset, value: i === 5 ? null : `value-${i}` }))
      )
      expect((yield* kafka.readPartition(topic, 0)).map((r) => text(r.value)), "partition 0").toEqual(["value-0", "value-2", "value-4", "value-6"])
      expect(yield* kafka.readPartition(topic, 2), "an empty partition").toEqual([])
      expect(yield* kafka.readPartition(topic, 7), "a partition that does not exist").toEqual([])
      expect(yield* kafka.readPartition(`${target.prefix}never-created`, 0), "a topic that does not exist").toEqual([])
    }))

  it.effect("co-partitioned members hold partition p of every topic together, never a partition at once, and hand partitions over losing no record", () =>
    Effect.gen(function*() {
      const co = [topics.coA, topics.coB]
      const groupId = group("co")
      const wave = (tag: string) =>
        produce(co.flatMap((t) => [0, 1].flatMap((partition) => [0, 1].map((i) => ({ topic: t.name, key: null, value: `${tag}-${t.name}-${partition}-${i}`, partition })))))
      const all = (tags: ReadonlyArray<string>) => tags.flatMap((tag) => co.flatMap((t) => [0, 1].flatMap((p) => [0, 1].map((i) => `${tag}-${t.name}-${p}-${i}`))))
      const first = new CoMember("first")
      const second = new CoMember("second")
      const seenByAny = (v: string) => first.seen.has(v) || second.seen.has(v)
      const missing = (tags: ReadonlyArray<string>) => () => `records never handed out: ${all(tags).filter((v) => !seenByAny(v)).join(", ")}`

      yield* wave("w1")
      yield* first.join(groupId, co)
      yield* until(() => first.holdsReady(4) && all(["w1"]).every(seenByAny), waitMs, missing(["w1"]))
      expect(first.partitions(co), "a lone member holds everything").toEqual(co.map((t) => `${t.name}:0,1`))

      const secondScope = yield* Scope.make()
      yield* second.join(groupId, co).pipe(Scope.provide(secondScope))
      yield* until(() => first.holdsReady(2) && second.holdsReady(2), waitMs, () => `a split: first holds ${first.partitions(co)}, second ${second.partitions(co)}`)
      const split = [first, second].map((m) => m.partitions(co).map((s) => s.split(":")[1]))
      for (const [i, numbers] of split.entries()) expect(new Set(numbers), `partition numbers of member ${i} across the topics`).toHaveLength(1)
      expect([split[0]![0], split[1]![0]].sort(), "the two members split the partition numbers").toEqual(["0", "1"])

      yield* wave("w2")
      yield* until(() => all(["w1", "w2"]).every(seenByAny), waitMs, missing(["w1", "w2"]))
      const holder = (t: ContractTopic, p: number) => (first.held.has(`${t.name}/${p}`) ? first : second)
      const wrong = co.flatMap((t) => [0, 1].flatMap((p) => [0, 1].map((i) => [holder(t, p), `w2-${t.name}-${p}-${i}`] as const)))
        .filter(([member, v]) => !member.seen.has(v)).map(([, v]) => v)
      expect(wrong, "records of the second wave not read by the member holding their partition").toEqual([])

      yield* Scope.close(secondScope, Exit.void)
      yield* until(() => first.holdsReady(4), waitMs, () => `the first member taking everything back: it holds ${first.partitions(co)}`)
      yield* wave("w3")
      yield* until(() => all(["w3"]).every((v) => first.seen.has(v)), waitMs, () => "the third wave read by the remaining member")
      expect([...first.violations, ...second.violations], "batches of partitions not held and ready, or revocations of partitions not held").toEqual([])
    }), 4 * target.waitMs)

  it.effect("a member busy with a batch when another joins gives its partitions up (Revoked done) before the newcomer reads any of them", () =>
    Effect.gen(function*() {
      const co = [topics.handoverA, topics.handoverB]
      const groupId = group("handover")
      const where = (tp: { topic: string; partition: number }) => `${tp.topic}/${tp.partition}`
      const wave = (tag: string, perPartition: number) =>
        produce(co.flatMap((t) => [0, 1].flatMap((partition) =>
          Array.from({ length: perPartition }, (_, i) => ({ topic: t.name, key: null, value: `${tag}-${t.name}-${partition}-${i}`, partition }))
        )))
      /**
       * What happened, in order: `handled <tp>` (the first member's batches of the second
       * wave, written and about to be committed), `gave up <tp>` (its Revoked done), `read
       * <tp>` (the newcomer's batches).
       */
      const log: Array<string> = []
      const kafka = yield* KafkaClient

      // The first member handles changes and batches one at a time, as the runtime does
      // (a revocation waits for the batch in hand and takes a while), slowly once `slow` is set.
      const held = new Set<string>()
      const lock = yield* Semaphore.make(1)
      let slow = false
      let busy = false
      let seen = 0
      const first = yield* kafka.subscribe({ groupId, topics: co.map((t) => t.name), fromBeginning: true, assignment: "co-partitioned" })
      yield* first.assignments.pipe(
        Stream.runForEach((change) =>
          lock.withPermit(Effect.gen(function*() {
            for (const tp of change.partitions) {
              if (change._tag === "Assigned") held.add(where(tp))
              else held.delete(where(tp))
            }
            if (change._tag === "Revoked") {
              // As the runtime takes its time to drop a partition's state.
              yield* Effect.sleep("1 second")
              for (const tp of change.partitions) log.push(`gave up ${where(tp)}`)
            }
            yield* change.done
          }))
        ),
        Effect.forkScoped
      )
      yield* first.batches.pipe(
        Stream.runForEach((batch) =>
          lock.withPermit(Effect.gen(function*() {
            if (!held.has(where(batch))) return
            if (slow) {
              busy = true
              yield* Effect.sleep("3 seconds")
            }
            seen += batch.records.length
            if (slow) log.push(`handled ${where(batch)}`)
            yield* first.commit(nextOffsets(batch)).pipe(
              Effect.retry({ while: (e) => e.retriable, schedule: Schedule.spaced("200 millis"), times: 50 }),
              Effect.ignore
            )
          }))
        ),
        Effect.forkScoped
      )
      yield* wave("w1", 1)
      yield* until(() => seen >= 4, waitMs, () => `the first member reading the first wave (${seen} of 4 records)`)

      slow = true
      yield* wave("w2", 2)
      yield* until(() => busy, waitMs, () => "the first member taking a batch of the second wave")
      const second = yield* kafka.subscribe({ groupId, topics: co.map((t) => t.name), fromBeginning: true, assignment: "co-partitioned" })
      yield* second.assignments.pipe(Stream.runForEach((change) => change.done), Effect.forkScoped)
      yield* second.batches.pipe(
        Stream.runForEach((batch) =>
          Effect.andThen(
            Effect.sync(() => log.push(`read ${where(batch)}`)),
            second.commit(nextOffsets(batch)).pipe(Effect.retry({ while: (e) => e.retriable, schedule: Schedule.spaced("200 millis"), times: 50 }), Effect.ignore)
          )
        ),
        Effect.forkScoped
      )
      // Long enough for the embedded broker, which revokes only once every batch out is committed.
      yield* until(() => log.some((l) => l.startsWith("read ")), 4 * waitMs, () => `the newcomer reading the second wave's records the first member had not committed (log: ${log.join(", ")})`)
      // Let a batch the first member still had in hand finish, if it was handed one.
      yield* Effect.sleep("4 seconds")
      const readAt = (tp: string) => log.indexOf(`read ${tp}`)
      const readTooEarly = log.filter((l, i) => l.startsWith("read ") && !log.slice(0, i).includes(`gave up ${l.slice("read ".length)}`))
      expect(readTooEarly, `partitions the newcomer read before the first member gave them up (log: ${log.join(", ")})`).toEqual([])
      const handledLate = log.filter((l, i) => l.startsWith("handled ") && readAt(l.slice("handled ".length)) !== -1 && readAt(l.slice("handled ".length)) < i)
      expect(handledLate, `batches the first member handled after the newcomer read their partition (log: ${log.join(", ")})`).toEqual([])
    }), 6 * target.waitMs)

  it.effect("a co-partitioned subscription to topics of unequal partition counts fails, naming them", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      const error = yield* kafka.subscribe({
        groupId: group("co-unequal"),
        topics: [topics.coA.name, topics.readPartition.name],
        fromBeginning: true,
        assignment: "co-partitioned"
      }).pipe(Effect.scoped, Effect.flip)
      expect({ retriable: error.retriable, message: error.message }).toEqual({
        retriable: false,
        message: expect.stringContaining(`same number of partitions, but ${topics.coA.name} has 2, ${topics.readPartition.name} has 3`)
      })
    }))

  it.effect("partitionCount gives the partitions of a topic and undefined for an unknown one", () =>
    Effect.gen(function*() {
      const kafka = yield* KafkaClient
      expect(yield* kafka.partitionCount(topics.ordered.name)).toBe(3)
      expect(yield* kafka.partitionCount(topics.records.name)).toBe(1)
      expect(yield* kafka.partitionCount(`${target.prefix}no-such-topic`)).toBeUndefined()
    }))

  it.effect.skipIf(target.missing.createTopics !== undefined)(
    `createTopics creates missing topics and leaves existing ones alone${skipNote(target.missing.createTopics)}`,
    () =>
      Effect.gen(function*() {
        const kafka = yield* KafkaClient
        const created = `${target.prefix}created`
        yield* kafka.createTopics([
          { topic: created, partitions: 2, replicationFactor: 1, config: { "cleanup.policy": "compact" } },
          { topic: topics.ordered.name, partitions: 5, replicationFactor: 1 }
        ])
        expect(yield* kafka.partitionCount(created)).toBe(2)
        expect(yield* kafka.partitionCount(topics.ordered.name), "existing topic untouched").toBe(3)
        yield* produce([{ topic: created, key: "k", value: "v" }])
        expect((yield* kafka.readAll(created)).map((r) => text(r.value))).toEqual(["v"])
      })
  )

  it.effect.skipIf(target.missing.transactions !== undefined)(
    `a transaction makes records and offsets visible together, and nothing of an aborted one${skipNote(target.missing.transactions)}`,
    () =>
      Effect.gen(function*() {
        const kafka = yield* KafkaClient
        const groupId = group("tx")
        yield* produce([0, 1, 2].map((i) => ({ topic: topics.txIn.name, key: null, value: `in${i}` })))
        const failure = yield* kafka.transaction((tx) =>
          Effect.gen(function*() {
            yield* tx.produce([{ topic: topics.txOut.name, key: "k", value: "aborted" }])
            yield* tx.sendOffsets(groupId, [{ topic: topics.txIn.name, partition: 0, offset: 3 }])
            return yield* Effect.fail("body failed" as const)
          })
        ).pipe(Effect.flip)
        expect(failure).toBe("body failed")
        yield* kafka.transaction((tx) =>
          Effect.gen(function*() {
            yield* tx.produce([{ topic: topics.txOut.name, key: "k", value: "committed" }])
            yield* tx.sendOffsets(groupId, [{ topic: topics.txIn.name, partition: 0, offset: 2 }])
          })
        )
        expect((yield* kafka.readAll(topics.txOut.name)).map((r) => text(r.value)), "visible output").toEqual(["committed"])
        // The committed transaction's offset (2), not the aborted one's (3): only in2 remains.
        const resumed = recordsOf(yield* subscribeAndConsume(groupId, [topics.txIn], 1, waitMs))
        expect(resumed.map((r) => text(r.value))).toEqual(["in2"])
      })
  )
}
