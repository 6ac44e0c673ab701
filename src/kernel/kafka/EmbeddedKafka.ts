/**
 * An in-process Kafka: topics with partitions and offsets, consumer groups of several
 * members with committed offsets and rebalances, headers, timestamps, all-or-nothing
 * transactions and compacted reads. It backs replay, the demo and tests with the same
 * KafkaClient port the kafkajs adapter serves.
 */
import { Clock, Context, Effect, Layer } from "effect"
import { Groups } from "./EmbeddedGroups.ts"
import { Log } from "./EmbeddedLog.ts"
import {
  KafkaClient,
  KafkaError,
  type ConsumedRecord,
  type OutgoingRecord,
  type TopicPartitionOffset,
  type TopicSpec
} from "./KafkaPort.ts"

export interface EmbeddedKafkaOptions {
  /** Partitions of a topic created implicitly by its first produce or subscribe. */
  readonly defaultPartitions?: number
  /** Most records one batch delivers (kafkajs delivers up to a fetch's worth). */
  readonly maxBatchSize?: number
}

/** Read access to the embedded broker's topics, for replay output and tests. */
export class EmbeddedBroker extends Context.Service<EmbeddedBroker, {
  readonly records: (topic: string) => ReadonlyArray<ConsumedRecord>
  readonly topics: () => ReadonlyArray<string>
  readonly committed: (groupId: string) => ReadonlyArray<TopicPartitionOffset>
  readonly endOffsets: (topic: string) => ReadonlyArray<number>
}>()("stream-kernel/EmbeddedBroker") {}

/** Builds the embedded broker: its KafkaClient port and its inspector. */
export const make = (options: EmbeddedKafkaOptions = {}) =>
  Effect.sync(() => {
    const log = new Log(options.defaultPartitions ?? 1)
    const groups = new Groups(log, options.maxBatchSize ?? 500)
    const commit = (groupId: string, offsets: ReadonlyArray<TopicPartitionOffset>) => {
      log.commit(groupId, offsets)
      groups.committed(groupId)
    }
    const produce = (records: ReadonlyArray<OutgoingRecord>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.try({
          try: () => log.append(records, now),
          catch: (cause) => new KafkaError({ operation: "produce", message: String(cause), retriable: false, cause })
        }))
    const client = KafkaClient.of({
      subscribe: (subscribeOptions) => groups.join(subscribeOptions),
      produce,
      transaction: (body) =>
        Effect.gen(function*() {
          const staged: Array<OutgoingRecord> = []
          const offsets: Array<readonly [string, ReadonlyArray<TopicPartitionOffset>]> = []
          const result = yield* body({
            produce: (records) => Effect.sync(() => {
              for (const record of records) staged.push(record)
            }),
            sendOffsets: (groupId, o) => Effect.sync(() => void offsets.push([groupId, o]))
          })
          // Commit point: records and offsets become visible together, or not at all.
          yield* produce(staged)
          for (const [groupId, o] of offsets) commit(groupId, o)
          return result
        }),
      readAll: (topic) => Effect.sync(() => (log.topics.get(topic) ?? []).flatMap((_, partition) => log.read(topic, partition))),
      readPartition: (topic, partition) => Effect.sync(() => log.read(topic, partition)),
      createTopics: (specs: ReadonlyArray<TopicSpec>) =>
        Effect.sync(() => {
          for (const spec of specs) log.create(spec.topic, spec.partitions, spec.config)
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
