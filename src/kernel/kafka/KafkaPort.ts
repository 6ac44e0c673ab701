/**
 * The Kafka port: everything the pipeline needs of Kafka, as one Effect service.
 * Adapters (the embedded in-memory broker, kafkajs) implement it; nothing above the
 * port knows which one runs.
 */
import { Context, Data } from "effect"
import type { Effect, Scope, Stream } from "effect"

/** Header values are UTF-8 text; binary header values are not used by this pipeline. */
export type Headers = Readonly<Record<string, string>>

export interface ConsumedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  /** Record timestamp in epoch milliseconds (CreateTime or LogAppendTime). */
  readonly timestamp: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
  readonly headers: Headers
}

/** Records of one topic-partition delivered together, in offset order. */
export interface RecordBatch {
  readonly topic: string
  readonly partition: number
  readonly records: ReadonlyArray<ConsumedRecord>
  /** Offset after the partition's last record when the batch was fetched (for lag), if known. */
  readonly highWatermark?: number | undefined
}

export interface OutgoingRecord {
  readonly topic: string
  readonly key: string | Uint8Array | null
  /** `null` is a tombstone (deletes the key from a compacted topic). */
  readonly value: string | Uint8Array | null
  readonly headers?: Headers | undefined
  /** Explicit partition; otherwise the adapter partitions by key (murmur2, as Java clients do). */
  readonly partition?: number | undefined
  readonly timestamp?: number | undefined
}

/** Kafka's convention: the committed offset is the offset of the next record to read. */
export interface TopicPartitionOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

export interface SubscribeOptions {
  readonly groupId: string
  readonly topics: ReadonlyArray<string>
  /** Where a group without committed offsets starts. SPEC 2: earliest. */
  readonly fromBeginning: boolean
}

/**
 * A live consumer-group membership. Closing its scope leaves the group. A reader must
 * commit each batch it has handled: an adapter may withhold the next batch until then
 * (the kafkajs adapter does, for backpressure). A group has one active member until
 * partitions can move with their state: the kafkajs adapter gives every partition to the
 * member that joined first, and later members get no batches (standby) until it leaves.
 */
export interface Subscription {
  /**
   * Completes once this member holds partitions: at once for the group's first member, on
   * takeover for a standby. Build state only then, so it includes the writes of the member
   * that held the partitions before.
   */
  readonly active: Effect.Effect<void, KafkaError>
  /** Batches in arrival order; each batch holds one topic-partition. */
  readonly batches: Stream.Stream<RecordBatch, KafkaError>
  /**
   * Commits offsets for this group (next offset to read, per partition). Like every write
   * of the port it is tried once: a failure that a retry may fix (broker away, rebalance)
   * is a retriable KafkaError, and retrying, or giving up on shutdown, is the caller's.
   */
  readonly commit: (offsets: ReadonlyArray<TopicPartitionOffset>) => Effect.Effect<void, KafkaError>
  /**
   * For every partition this member reads: its high watermark (offset after the last
   * record) and the group's committed offset, where the adapter can tell them cheaply.
   * Without it, the watermarks carried by batches are all a reader knows.
   */
  readonly progress?: Effect.Effect<ReadonlyArray<PartitionProgress>, KafkaError> | undefined
  /** Whether `progress` is cheap enough to read for every batch (in process), not only on ticks. */
  readonly progressPerBatch?: boolean | undefined
}

export interface PartitionProgress {
  readonly topic: string
  readonly partition: number
  readonly highWatermark: number
  readonly committed: number | undefined
}

/** Producer side of one Kafka transaction; everything in it becomes visible together. */
export interface TransactionContext {
  readonly produce: (records: ReadonlyArray<OutgoingRecord>) => Effect.Effect<void, KafkaError>
  /** Commits consumer offsets as part of the transaction (`sendOffsetsToTransaction`). */
  readonly sendOffsets: (groupId: string, offsets: ReadonlyArray<TopicPartitionOffset>) => Effect.Effect<void, KafkaError>
}

export interface TopicSpec {
  readonly topic: string
  readonly partitions: number
  readonly replicationFactor: number
  /** Topic configs, e.g. `{ "cleanup.policy": "compact" }`. */
  readonly config?: Readonly<Record<string, string>> | undefined
}

export class KafkaError extends Data.TaggedError("KafkaError")<{
  readonly operation: string
  readonly message: string
  /** Whether retrying the same operation may succeed (broker down, leader moved, ...). */
  readonly retriable: boolean
  readonly cause?: unknown
}> {}

export class KafkaClient extends Context.Service<KafkaClient, {
  readonly subscribe: (options: SubscribeOptions) => Effect.Effect<Subscription, KafkaError, Scope.Scope>
  readonly produce: (records: ReadonlyArray<OutgoingRecord>) => Effect.Effect<void, KafkaError>
  /**
   * Runs `body` inside one Kafka transaction: commits when it succeeds, aborts when it
   * fails. Adapters that cannot do transactions fail with a non-retriable KafkaError.
   */
  readonly transaction: <A, E>(
    body: (tx: TransactionContext) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E | KafkaError>
  /** Every record currently in `topic` (up to the high watermark), for state restore. */
  readonly readAll: (topic: string) => Effect.Effect<ReadonlyArray<ConsumedRecord>, KafkaError>
  /** Creates the topics that do not exist yet; existing topics are left as they are. */
  readonly createTopics: (topics: ReadonlyArray<TopicSpec>) => Effect.Effect<void, KafkaError>
  /** Partition count of a topic, or `undefined` when it does not exist. */
  readonly partitionCount: (topic: string) => Effect.Effect<number | undefined, KafkaError>
}>()("stream-kernel/KafkaClient") {}
