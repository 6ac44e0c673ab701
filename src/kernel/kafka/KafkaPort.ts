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
  /**
   * Where reading goes on after this batch, when that is past its last record: the client
   * skipped records it does not hand out (transaction markers, aborted transactions).
   * Such a batch may hold no record at all.
   */
  readonly nextOffset?: number | undefined
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

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/**
 * How a group's partitions are spread over its members. `single-active`: the member that
 * joined first holds every partition, the others stand by (state that cannot move with
 * its partitions stays in one process). `co-partitioned`: partition p of every subscribed
 * topic goes to one member, balanced over the members; the topics must have equal
 * partition counts (a subscription to unequal ones fails), and state moves with its
 * partitions through `Subscription.assignments`. Every member of a group uses the same.
 */
export type AssignmentStrategy = "single-active" | "co-partitioned"

export interface SubscribeOptions {
  readonly groupId: string
  readonly topics: ReadonlyArray<string>
  /** Where a group without committed offsets starts. SPEC 2: earliest. */
  readonly fromBeginning: boolean
  /** Default `single-active`. */
  readonly assignment?: AssignmentStrategy | undefined
}

/**
 * A change of the partitions this member holds. `done` tells the adapter the caller has
 * handled it; it is idempotent. With `co-partitioned` assignment the adapter waits for it:
 * - `Assigned`: no batch of these partitions is handed out before `done` (restore their
 *   state first). Reading starts at the group's committed offsets.
 * - `Revoked`: no batch of these partitions is handed out after this change. What each
 *   adapter guarantees about the batches already handed out differs (Kafka's eager
 *   rebalance protocol, as kafkajs speaks it, reports a revocation only after the fact):
 *   - embedded broker: the change comes once every batch of these partitions handed to
 *     this member is committed (a batch never committed holds the partition here until
 *     the member leaves), and the partitions go to their next owner only after `done` (or
 *     when this member leaves);
 *   - kafkajs (eager rebalancing: a member gives up every partition when it rejoins): the
 *     change comes, for every partition held, as soon as the member learns of the
 *     rebalance (a heartbeat or a commit refused for it, or kafkajs rejoining), and the
 *     batches still out are given back only at `done`, so while it has batches out the
 *     member rejoins, and the next owner reads, only after `done`. A commit refused for the
 *     rebalance is dropped rather than failed (the next owner reads again from the last
 *     committed offsets). The partitions kept come back with the next `Assigned`.
 * With `single-active` assignment nothing waits for `done`.
 * Within one rebalance, a member's `Revoked` comes before its `Assigned`.
 */
export type AssignmentChange =
  | { readonly _tag: "Assigned"; readonly partitions: ReadonlyArray<TopicPartition>; readonly done: Effect.Effect<void> }
  | { readonly _tag: "Revoked"; readonly partitions: ReadonlyArray<TopicPartition>; readonly done: Effect.Effect<void> }

/**
 * A live consumer-group membership. Closing its scope leaves the group. A reader must
 * commit each batch it has handled: an adapter may withhold the next batch until then
 * (the kafkajs adapter does, for backpressure). How partitions are spread over the
 * group's members is the subscription's `assignment`: by default one active member, the
 * others standing by (no batches) until it leaves.
 */
export interface Subscription {
  /**
   * Single-active: completes once this member holds partitions: at once for the group's
   * first member, on takeover for a standby. Build state only then, so it includes the
   * writes of the member that held the partitions before. Co-partitioned: completes once
   * the member has joined the group (state follows `assignments`).
   */
  readonly active: Effect.Effect<void, KafkaError>
  /**
   * Batches in arrival order; each batch holds one topic-partition. A batch holds no
   * record when it only moves the partition's position (see `RecordBatch.nextOffset`).
   */
  readonly batches: Stream.Stream<RecordBatch, KafkaError>
  /**
   * This member's assignment changes, in order, from its first assignment on; ends when
   * the subscription closes. A `co-partitioned` subscriber must read it and run each
   * change's `done`, or newly assigned partitions are never read. A `co-partitioned`
   * member that joins and is given no partition gets an `Assigned` of none, so it knows
   * it holds nothing (rather than waiting for an assignment still to come).
   */
  readonly assignments: Stream.Stream<AssignmentChange, KafkaError>
  /**
   * Commits offsets for this group (next offset to read, per partition). Like every write
   * of the port it is tried once: a failure that a retry may fix (broker away, rebalance)
   * is a retriable KafkaError, and retrying, or giving up on shutdown, is the caller's.
   */
  readonly commit: (offsets: ReadonlyArray<TopicPartitionOffset>) => Effect.Effect<void, KafkaError>
  /**
   * Flow control: no further batch of these partitions is fetched or handed out until they
   * are resumed (a batch already handed out is not affected). A reader pauses the
   * partitions that run ahead of the others. Advisory: a pause may be lost when the
   * client rejoins or restarts, so a batch of a partition paused may still come, and a
   * partition newly assigned is never paused. Partitions not held are ignored.
   */
  readonly pause: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void>
  /** Ends `pause` for these partitions: their batches come again. */
  readonly resume: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void>
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
  /**
   * Every record currently in `topic` (up to the high watermark), for state restore. On a
   * compacted topic (`cleanup.policy=compact`) a broker may return anything from the whole
   * log to its compacted form (the latest record per key, tombstones gone once old), so a
   * reader folds records by key, the last one winning, and treats tombstones as deletes.
   */
  readonly readAll: (topic: string) => Effect.Effect<ReadonlyArray<ConsumedRecord>, KafkaError>
  /**
   * Every record of one partition of `topic` below its high watermark at call time, in
   * offset order, as `readAll` reads them (per-partition restore). Empty for a topic or
   * partition that does not exist.
   */
  readonly readPartition: (topic: string, partition: number) => Effect.Effect<ReadonlyArray<ConsumedRecord>, KafkaError>
  /** Creates the topics that do not exist yet; existing topics are left as they are. */
  readonly createTopics: (topics: ReadonlyArray<TopicSpec>) => Effect.Effect<void, KafkaError>
  /** Partition count of a topic, or `undefined` when it does not exist. */
  readonly partitionCount: (topic: string) => Effect.Effect<number | undefined, KafkaError>
}>()("stream-kernel/KafkaClient") {}
