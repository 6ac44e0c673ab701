/**
 * An in-process Kafka: topics with partitions and offsets, consumer groups with
 * committed offsets, headers, timestamps and all-or-nothing transactions. It backs
 * replay, the demo and tests with the same KafkaClient port the kafkajs adapter serves.
 */
import { Clock, Context, Deferred, Effect, Layer, Stream } from "effect"
import {
  KafkaClient,
  KafkaError,
  type ConsumedRecord,
  type OutgoingRecord,
  type RecordBatch,
  type SubscribeOptions,
  type TopicPartitionOffset,
  type TopicSpec
} from "./KafkaPort.ts"
import { partitionForKey } from "./Murmur2.ts"

export interface EmbeddedKafkaOptions {
  /** Partitions of a topic created implicitly by its first produce or subscribe. */
  readonly defaultPartitions?: number
  /** Most records one batch delivers (kafkajs delivers up to a fetch's worth). */
  readonly maxBatchSize?: number
}

const encoder = new TextEncoder()
const toBytes = (v: string | Uint8Array | null): Uint8Array | null =>
  v === null ? null : typeof v === "string" ? encoder.encode(v) : v

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`

/** The broker's mutable log; only this module touches it. */
class Log {
  readonly topics = new Map<string, Array<Array<ConsumedRecord>>>()
  readonly committed = new Map<string, Map<string, number>>()
  private roundRobin = 0
  private signal = Deferred.makeUnsafe<void>()

  constructor(readonly defaultPartitions: number) {}

  create(topic: string, partitions: number): Array<Array<ConsumedRecord>> {
    let parts = this.topics.get(topic)
    if (parts === undefined) {
      parts = Array.from({ length: partitions }, () => [])
      this.topics.set(topic, parts)
    }
    return parts
  }

  append(records: ReadonlyArray<OutgoingRecord>, now: number): void {
    for (const r of records) {
      const parts = this.create(r.topic, this.defaultPartitions)
      const key = toBytes(r.key)
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

  /** Resolves at the next append; consumers park on it instead of polling. */
  nextAppend(): Deferred.Deferred<void> {
    return this.signal
  }

  private wake(): void {
    const current = this.signal
    this.signal = Deferred.makeUnsafe<void>()
    Deferred.doneUnsafe(current, Effect.void)
  }
}

/** Read access to the embedded broker's topics, for replay output and tests. */
export class EmbeddedBroker extends Context.Service<EmbeddedBroker, {
  readonly records: (topic: string) => ReadonlyArray<ConsumedRecord>
  readonly topics: () => ReadonlyArray<string>
  readonly committed: (groupId: string) => ReadonlyArray<TopicPartitionOffset>
  readonly endOffsets: (topic: string) => ReadonlyArray<number>
}>()("stream-kernel/EmbeddedBroker") {}

interface Membership {
  readonly positions: Map<string, number>
}

const makeSubscription = (log: Log, options: SubscribeOptions, maxBatchSize: number) => {
  const member: Membership = { positions: new Map() }
  const position = (topic: string, partition: number): number => {
    const key = partitionKey(topic, partition)
    let p = member.positions.get(key)
    if (p === undefined) {
      p = log.committedOffset(options.groupId, topic, partition) ??
        (options.fromBeginning ? 0 : log.topics.get(topic)?.[partition]?.length ?? 0)
      member.positions.set(key, p)
    }
    return p
  }
  // Round-robin over partitions so one busy partition cannot starve the others.
  let cursor = 0
  const takeBatch = (): RecordBatch | undefined => {
    const assigned: Array<readonly [string, number]> = []
    for (const topic of options.topics) {
      const parts = log.create(topic, log.defaultPartitions)
      for (let p = 0; p < parts.length; p++) assigned.push([topic, p])
    }
    for (let i = 0; i < assigned.length; i++) {
      const [topic, partition] = assigned[(cursor + i) % assigned.length]!
      const records = log.topics.get(topic)![partition]!
      const from = position(topic, partition)
      if (from < records.length) {
        cursor = (cursor + i + 1) % assigned.length
        const batch = records.slice(from, from + maxBatchSize)
        member.positions.set(partitionKey(topic, partition), from + batch.length)
        return { topic, partition, records: batch, highWatermark: records.length }
      }
    }
    return undefined
  }
  const nextBatch: Effect.Effect<RecordBatch> = Effect.suspend(() => {
    const signal = log.nextAppend()
    const batch = takeBatch()
    return batch !== undefined ? Effect.succeed(batch) : Effect.flatMap(Deferred.await(signal), () => nextBatch)
  })
  return {
    // One member per group here: it holds every partition from the start.
    active: Effect.void,
    batches: Stream.unfold(undefined, () => Effect.map(nextBatch, (b) => [b, undefined] as const)),
    commit: (offsets: ReadonlyArray<TopicPartitionOffset>) => Effect.sync(() => log.commit(options.groupId, offsets)),
    progressPerBatch: true,
    progress: Effect.sync(() =>
      options.topics.flatMap((topic) =>
        log.create(topic, log.defaultPartitions).map((records, partition) => ({
          topic,
          partition,
          highWatermark: records.length,
          committed: log.committedOffset(options.groupId, topic, partition)
        }))
      )
    )
  }
}

/** Builds the embedded broker: its KafkaClient port and its inspector. */
export const make = (options: EmbeddedKafkaOptions = {}) =>
  Effect.sync(() => {
    const log = new Log(options.defaultPartitions ?? 1)
    const maxBatchSize = options.maxBatchSize ?? 500
    const produce = (records: ReadonlyArray<OutgoingRecord>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.try({
          try: () => log.append(records, now),
          catch: (cause) => new KafkaError({ operation: "produce", message: String(cause), retriable: false, cause })
        }))
    const client = KafkaClient.of({
      subscribe: (subscribeOptions) => Effect.sync(() => makeSubscription(log, subscribeOptions, maxBatchSize)),
      produce,
      transaction: (body) =>
        Effect.gen(function*() {
          const staged: Array<OutgoingRecord> = []
          const offsets: Array<readonly [string, ReadonlyArray<TopicPartitionOffset>]> = []
          const result = yield* body({
            produce: (records) => Effect.sync(() => void staged.push(...records)),
            sendOffsets: (groupId, o) => Effect.sync(() => void offsets.push([groupId, o]))
          })
          // Commit point: records and offsets become visible together, or not at all.
          yield* produce(staged)
          for (const [groupId, o] of offsets) log.commit(groupId, o)
          return result
        }),
      readAll: (topic) => Effect.sync(() => (log.topics.get(topic) ?? []).flat()),
      createTopics: (specs: ReadonlyArray<TopicSpec>) =>
        Effect.sync(() => {
          for (const spec of specs) log.create(spec.topic, spec.partitions)
        }),
      partitionCount: (topic) => Effect.sync(() => log.topics.get(topic)?.length)
    })
    const inspector = EmbeddedBroker.of({
      records: (topic) => (log.topics.get(topic) ?? []).flat(),
      topics: () => [...log.topics.keys()],
      committed: (groupId) =>
        [...(log.committed.get(groupId) ?? new Map<string, number>())].map(([key, offset]) => {
          const [topic, partition] = key.split("\u0000")
          return { topic: topic!, partition: Number(partition), offset }
        }),
      endOffsets: (topic) => (log.topics.get(topic) ?? []).map((p) => p.length)
    })
    return { client, inspector }
  })

export const layer = (options: EmbeddedKafkaOptions = {}): Layer.Layer<KafkaClient | EmbeddedBroker> =>
  Layer.effectContext(
    Effect.map(make(options), ({ client, inspector }) =>
      Context.make(KafkaClient, client).pipe(Context.add(EmbeddedBroker, inspector)))
  )
