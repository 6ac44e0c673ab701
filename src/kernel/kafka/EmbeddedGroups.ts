/**
 * Consumer groups of the embedded broker: members join and leave, every change
 * rebalances the group (single-active or co-partitioned), and a partition moves only
 * once its previous holder has committed what it was handed and let it go, so a
 * partition is never read by two members at a time.
 */
import { Cause, Deferred, Effect, Exit, Queue, Stream } from "effect"
import type { Scope } from "effect"
import { assignPartitions, sharedPartitionCount } from "./CoPartitionedAssignment.ts"
import { type Log, partitionKey } from "./EmbeddedLog.ts"
import {
  type AssignmentChange,
  type AssignmentStrategy,
  KafkaError,
  type RecordBatch,
  type SubscribeOptions,
  type Subscription,
  type TopicPartition
} from "./KafkaPort.ts"

/**
 * A partition a member holds: `assigning` until the member has handled its `Assigned`,
 * `reading` (batches handed out), `draining` (due to move: no more batches, waiting for
 * the member's commits to reach what it was handed), `revoking` (`Revoked` sent, waiting for `done`).
 */
interface Held {
  readonly tp: TopicPartition
  state: "assigning" | "reading" | "draining" | "revoking"
  /** Next offset to hand out, once the member has read from it. */
  position: number | undefined
  /** The offset it began reading at: a partition that handed nothing out since may move at once. */
  start: number | undefined
  /** Paused by the member (`Subscription.pause`): no batch until resumed; forgotten with the partition. */
  paused: boolean
}

interface Member {
  readonly id: string
  readonly options: SubscribeOptions
  readonly held: Map<string, Held>
  readonly changes: Queue.Queue<AssignmentChange, KafkaError | Cause.Done>
  readonly active: Deferred.Deferred<void, KafkaError>
  left: boolean
  cursor: number
}

interface Group {
  readonly id: string
  readonly strategy: AssignmentStrategy
  readonly topics: ReadonlyArray<string>
  /** In join order; member ids sort in join order too. */
  readonly members: Array<Member>
  /** Partition key -> the member that should hold it. */
  target: Map<string, string>
}

const sameTopics = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
  [...new Set(a)].sort().join("\u0000") === [...new Set(b)].sort().join("\u0000")

export class Groups {
  private readonly groups = new Map<string, Group>()
  private joined = 0

  constructor(private readonly log: Log, private readonly maxBatchSize: number) {}

  private partitionsOf(topics: ReadonlyArray<string>): Array<TopicPartition> {
    return topics.flatMap((topic) => (this.log.topics.get(topic) ?? []).map((_, partition) => ({ topic, partition })))
  }

  private rebalance(group: Group): void {
    const all = this.partitionsOf(group.topics)
    const target = new Map<string, string>()
    if (group.strategy === "single-active") {
      const first = group.members[0]
      if (first !== undefined) for (const tp of all) target.set(partitionKey(tp.topic, tp.partition), first.id)
    } else {
      // What each member reads now, so the rule can leave it there (sticky).
      const previous = new Map(group.members.map((m) => [
        m.id,
        [...m.held.values()].filter((h) => h.state === "reading" || h.state === "assigning").map((h) => h.tp.partition)
      ]))
      const numbers = assignPartitions(group.members.map((m) => m.id), sharedPartitionCount(group.topics.map((topic) => ({
        topic,
        partitions: this.log.topics.get(topic)?.length ?? 0
      }))), previous)
      for (const [member, partitions] of numbers) {
        for (const topic of group.topics) for (const p of partitions) target.set(partitionKey(topic, p), member)
      }
    }
    group.target = target
  }

  /**
   * Moves every partition of the group one step closer to its target member. Members
   * parked for batches are woken only when what they may read changed.
   */
  private settle(group: Group): void {
    const acks = group.strategy === "co-partitioned"
    let changed = false
    for (const member of group.members) {
      const ready: Array<Held> = []
      for (const [key, held] of member.held) {
        const due = group.target.get(key) !== member.id
        if (!due && held.state === "draining") held.state = "reading"
        if (due && (held.state === "reading" || held.state === "assigning")) held.state = "draining"
        if (held.state !== "draining") continue
        const committed = this.log.committedOffset(group.id, held.tp.topic, held.tp.partition)
        // Free to go once the member committed all it was handed, or was handed nothing (an empty
        // partition: no commit will ever come, and waiting for one held the group's rebalance forever).
        if (held.position === undefined || held.position === held.start || (committed !== undefined && committed >= held.position)) ready.push(held)
      }
      if (ready.length === 0) continue
      for (const held of ready) held.state = "revoking"
      const keys = ready.map((h) => partitionKey(h.tp.topic, h.tp.partition))
      const release = () => {
        for (const key of keys) if (member.held.get(key)?.state === "revoking") member.held.delete(key)
      }
      const done = Effect.sync(() => {
        release()
        this.settle(group)
        this.log.wake()
      })
      if (!acks) release()
      changed = true
      Queue.offerUnsafe(member.changes, { _tag: "Revoked", partitions: ready.map((h) => h.tp), done })
    }
    const owned = new Set(group.members.flatMap((m) => [...m.held.keys()]))
    const gained = new Map<Member, Array<Held>>()
    for (const [key, memberId] of group.target) {
      if (owned.has(key)) continue
      const member = group.members.find((m) => m.id === memberId)!
      const [topic, partition] = key.split("\u0000")
      const held: Held = { tp: { topic: topic!, partition: Number(partition) }, state: acks ? "assigning" : "reading", position: undefined, start: undefined, paused: false }
      member.held.set(key, held)
      gained.set(member, [...(gained.get(member) ?? []), held])
    }
    for (const [member, helds] of gained) {
      const done = Effect.sync(() => {
        const ready = helds.filter((held) => held.state === "assigning")
        for (const held of ready) held.state = "reading"
        if (ready.length > 0) this.log.wake()
      })
      Queue.offerUnsafe(member.changes, { _tag: "Assigned", partitions: helds.map((h) => h.tp), done })
      if (!acks) Deferred.doneUnsafe(member.active, Exit.void)
      changed = true
    }
    if (changed) this.log.wake()
  }

  /** Re-examines a group after its offsets moved: a draining partition may be free to go. */
  committed(groupId: string): void {
    const group = this.groups.get(groupId)
    if (group !== undefined) this.settle(group)
  }

  private takeBatch(member: Member): RecordBatch | undefined {
    const reading = [...member.held.values()].filter((h) => h.state === "reading" && !h.paused)
    // Round-robin over partitions so one busy partition cannot starve the others.
    for (let i = 0; i < reading.length; i++) {
      const held = reading[(member.cursor + i) % reading.length]!
      const { topic, partition } = held.tp
      const records = this.log.topics.get(topic)![partition]!
      const from = held.position ??
        this.log.committedOffset(member.options.groupId, topic, partition) ??
        (member.options.fromBeginning ? 0 : records.length)
      held.position = from
      held.start ??= from
      if (from < records.length) {
        member.cursor = (member.cursor + i + 1) % reading.length
        const batch = records.slice(from, from + this.maxBatchSize)
        held.position = from + batch.length
        return { topic, partition, records: batch, highWatermark: records.length }
      }
    }
    return undefined
  }

  private leave(group: Group, member: Member): void {
    member.left = true
    group.members.splice(group.members.indexOf(member), 1)
    Queue.endUnsafe(member.changes)
    // Its batch stream, parked or not, ends now.
    this.log.wake()
    if (group.members.length === 0) {
      this.groups.delete(group.id)
      return
    }
    this.rebalance(group)
    this.settle(group)
  }

  /** Joins `options.groupId`; closing the scope leaves it (its partitions go to the others). */
  join(options: SubscribeOptions): Effect.Effect<Subscription, KafkaError, Scope.Scope> {
    const strategy = options.assignment ?? "single-active"
    const refuse = (message: string) => Effect.fail(new KafkaError({ operation: "subscribe", message, retriable: false }))
    return Effect.gen({ self: this }, function*() {
      const existing = this.groups.get(options.groupId)
      if (existing !== undefined && existing.strategy !== strategy) {
        return yield* refuse(`consumer group '${options.groupId}' uses ${existing.strategy} assignment, not ${strategy}`)
      }
      if (existing !== undefined && !sameTopics(existing.topics, options.topics)) {
        return yield* refuse(`consumer group '${options.groupId}' reads ${existing.topics.join(", ")}, not ${options.topics.join(", ")}`)
      }
      for (const topic of options.topics) this.log.create(topic, this.log.defaultPartitions)
      if (strategy === "co-partitioned") {
        try {
          sharedPartitionCount(options.topics.map((topic) => ({ topic, partitions: this.log.topics.get(topic)!.length })))
        } catch (error) {
          return yield* refuse(String((error as Error).message))
        }
      }
      const group: Group = existing ?? { id: options.groupId, strategy, topics: [...options.topics], members: [], target: new Map() }
      this.groups.set(group.id, group)
      const member: Member = {
        id: `${options.groupId}-${String(this.joined++).padStart(8, "0")}`,
        options,
        held: new Map(),
        changes: yield* Queue.unbounded<AssignmentChange, KafkaError | Cause.Done>(),
        active: yield* Deferred.make<void, KafkaError>(),
        left: false,
        cursor: 0
      }
      group.members.push(member)
      if (strategy === "co-partitioned") Deferred.doneUnsafe(member.active, Exit.void)
      this.rebalance(group)
      this.settle(group)
      // Given no partition (more members than partitions): reported, so the member knows it holds none.
      if (strategy === "co-partitioned" && ![...group.target.values()].includes(member.id)) {
        Queue.offerUnsafe(member.changes, { _tag: "Assigned", partitions: [], done: Effect.void })
      }
      yield* Effect.addFinalizer(() => Effect.sync(() => this.leave(group, member)))

      const nextBatch: Effect.Effect<RecordBatch | undefined> = Effect.suspend(() => {
        if (member.left) return Effect.undefined
        const signal = this.log.nextChange()
        const batch = this.takeBatch(member)
        return batch !== undefined ? Effect.succeed(batch) : Effect.flatMap(Deferred.await(signal), () => nextBatch)
      })
      const setPaused = (partitions: ReadonlyArray<TopicPartition>, paused: boolean) => {
        let resumed = false
        for (const tp of partitions) {
          const held = member.held.get(partitionKey(tp.topic, tp.partition))
          if (held === undefined || held.paused === paused) continue
          held.paused = paused
          resumed ||= !paused
        }
        // A member parked for batches may read the resumed partitions now.
        if (resumed) this.log.wake()
      }
      const reading = () => [...member.held.values()].filter((h) => h.state === "reading").map((h) => h.tp)
      const subscription: Subscription = {
        active: Deferred.await(member.active),
        batches: Stream.unfold(undefined, () => Effect.map(nextBatch, (b) => (b === undefined ? undefined : [b, undefined] as const))),
        assignments: Stream.fromQueue(member.changes),
        commit: (offsets) =>
          Effect.sync(() => {
            this.log.commit(options.groupId, offsets)
            this.committed(options.groupId)
          }),
        pause: (partitions) => Effect.sync(() => setPaused(partitions, true)),
        resume: (partitions) => Effect.sync(() => setPaused(partitions, false)),
        progressPerBatch: true,
        progress: Effect.sync(() =>
          reading().map(({ topic, partition }) => ({
            topic,
            partition,
            highWatermark: this.log.topics.get(topic)![partition]!.length,
            committed: this.log.committedOffset(options.groupId, topic, partition)
          }))
        )
      }
      return subscription
    })
  }
}
