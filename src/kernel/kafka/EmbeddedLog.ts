/**
 * The embedded broker's storage: topics of partitioned, offset-numbered records with
 * their configs, and committed offsets per consumer group. Only the embedded broker's
 * modules touch it.
 */
import { Deferred, Effect } from "effect"
import type { ConsumedRecord, OutgoingRecord, TopicPartitionOffset } from "./KafkaPort.ts"
import { partitionForKey } from "./Murmur2.ts"

const encoder = new TextEncoder()
const toBytes = (v: string | Uint8Array | null): Uint8Array | null =>
  v === null ? null : typeof v === "string" ? encoder.encode(v) : v

export const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`

const keyIdentity = (key: Uint8Array): string => Array.prototype.join.call(key, ",")

/**
 * A compacted partition as the log cleaner leaves it once it has run over everything: the
 * latest record per key, offsets unchanged (so with gaps), tombstones gone. Consumers of a
 * subscription still see the whole log, as they may before the cleaner runs.
 */
export const compacted = (records: ReadonlyArray<ConsumedRecord>): ReadonlyArray<ConsumedRecord> => {
  const latest = new Map<string, number>()
  records.forEach((r, i) => latest.set(keyIdentity(r.key!), i))
  return records.filter((r, i) => r.value !== null && latest.get(keyIdentity(r.key!)) === i)
}

export class Log {
  readonly topics = new Map<string, Array<Array<ConsumedRecord>>>()
  readonly configs = new Map<string, Readonly<Record<string, string>>>()
  readonly committed = new Map<string, Map<string, number>>()
  private roundRobin = 0
  private signal = Deferred.makeUnsafe<void>()

  constructor(readonly defaultPartitions: number) {}

  create(topic: string, partitions: number, config: Readonly<Record<string, string>> = {}): Array<Array<ConsumedRecord>> {
    let parts = this.topics.get(topic)
    if (parts === undefined) {
      parts = Array.from({ length: partitions }, () => [])
      this.topics.set(topic, parts)
      this.configs.set(topic, config)
    }
    return parts
  }

  isCompacted(topic: string): boolean {
    return (this.configs.get(topic)?.["cleanup.policy"] ?? "").split(",").includes("compact")
  }

  append(records: ReadonlyArray<OutgoingRecord>, now: number): void {
    for (const r of records) {
      const parts = this.create(r.topic, this.defaultPartitions)
      const key = toBytes(r.key)
      // As a Kafka broker does: a compacted log cannot keep a record it could never clean.
      if (key === null && this.isCompacted(r.topic)) throw new Error(`a record without a key cannot go to the compacted topic ${r.topic}`)
      const partition = r.partition ??
        (key === null ? this.roundRobin++ % parts.length : partitionForKey(key, parts.length))
      const log = parts[partition]
      if (log === undefined) throw new Error(`partition ${partition} of ${r.topic} does not exist`)
      log.push({
        topic: r.topic,
        partition,
        offset: log.length,
        timestamp: r.timestamp ?? now,
        key,
        value: toBytes(r.value),
        headers: { ...r.headers }
      })
    }
    if (records.length > 0) this.wake()
  }

  /** One partition as a reader of the whole topic sees it: compacted on compacted topics. */
  read(topic: string, partition: number): ReadonlyArray<ConsumedRecord> {
    const records = this.topics.get(topic)?.[partition] ?? []
    return this.isCompacted(topic) ? compacted(records) : records
  }

  commit(groupId: string, offsets: ReadonlyArray<TopicPartitionOffset>): void {
    let group = this.committed.get(groupId)
    if (group === undefined) {
      group = new Map()
      this.committed.set(groupId, group)
    }
    for (const o of offsets) group.set(partitionKey(o.topic, o.partition), o.offset)
  }

  committedOffset(groupId: string, topic: string, partition: number): number | undefined {
    return this.committed.get(groupId)?.get(partitionKey(topic, partition))
  }

  /** Resolves at the next change (records, group changes); members park on it instead of polling. */
  nextChange(): Deferred.Deferred<void> {
    return this.signal
  }

  wake(): void {
    const current = this.signal
    this.signal = Deferred.makeUnsafe<void>()
    Deferred.doneUnsafe(current, Effect.void)
  }
}
