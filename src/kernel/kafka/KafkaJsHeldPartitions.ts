/**
 * What a kafkajs member holds, turned into the port's assignment changes at each join of
 * the group (kafkajs reports assignments only through its GROUP_JOIN event).
 */
import { Effect } from "effect"
import type { Consumer } from "kafkajs"
import type { AssignmentChange, TopicPartition } from "./KafkaPort.ts"

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`

/**
 * The partitions this member holds, turned into assignment changes at each join. kafkajs
 * rebalances eagerly: a member gives up every partition when it rejoins. Co-partitioned,
 * the consumer gives them all up (`giveUpAll`) as soon as it learns of the rebalance, so
 * a join then only assigns; with a `consumer` given, newly assigned partitions stay
 * paused until their change is done.
 */
export class HeldPartitions {
  private held = new Map<string, TopicPartition>()
  /** Paused partitions, by the join that assigned them: a stale `done` resumes nothing. */
  private readonly awaiting = new Map<string, number>()
  private joins = 0
  /** The partition numbers of the last join, kept through `giveUpAll`. */
  private lastJoined: ReadonlyArray<number> = []

  /**
   * What this member claims when it (re)joins, so the leader can leave it in place: the
   * partitions of its last join, even when it has already given them up for the rebalance
   * under way (else every rebalance would forget where partitions were and move them).
   */
  partitionNumbers(): ReadonlyArray<number> {
    return this.lastJoined
  }

  /** Every partition held, now no longer held (a rebalance has begun). */
  giveUpAll(): ReadonlyArray<TopicPartition> {
    const partitions = [...this.held.values()]
    this.held = new Map()
    this.awaiting.clear()
    return partitions
  }

  joined(memberAssignment: Record<string, Array<number>>, consumer: Consumer | undefined): ReadonlyArray<AssignmentChange> {
    const next = new Map(Object.entries(memberAssignment).flatMap(([topic, partitions]) =>
      partitions.map((partition) => [tpKey(topic, partition), { topic, partition }] as const)
    ))
    const revoked = [...this.held].filter(([key]) => !next.has(key))
    const gained = [...next].filter(([key]) => !this.held.has(key))
    this.held = next
    this.lastJoined = [...new Set([...next.values()].map((tp) => tp.partition))]
    const join = ++this.joins
    const out: Array<AssignmentChange> = []
    for (const [key] of revoked) this.awaiting.delete(key)
    if (revoked.length > 0) out.push({ _tag: "Revoked", partitions: revoked.map(([, tp]) => tp), done: Effect.void })
    // Co-partitioned, a first join that gives nothing is still reported: the member learns it holds no partition.
    if (gained.length === 0 && join === 1 && consumer !== undefined) out.push({ _tag: "Assigned", partitions: [], done: Effect.void })
    if (gained.length === 0) return out
    if (consumer !== undefined) {
      consumer.pause(byTopic(gained.map(([, tp]) => tp)))
      for (const [key] of gained) this.awaiting.set(key, join)
    }
    const done = Effect.sync(() => {
      const ready = gained.filter(([key]) => this.awaiting.get(key) === join)
      for (const [key] of ready) this.awaiting.delete(key)
      if (ready.length > 0) consumer?.resume(byTopic(ready.map(([, tp]) => tp)))
    })
    out.push({ _tag: "Assigned", partitions: gained.map(([, tp]) => tp), done })
    return out
  }
}

const byTopic = (partitions: ReadonlyArray<TopicPartition>) =>
  [...new Set(partitions.map((tp) => tp.topic))].map((topic) => ({
    topic,
    partitions: partitions.filter((tp) => tp.topic === topic).map((tp) => tp.partition)
  }))
