/**
 * Producing on kafkajs: one plain producer for at_least_once, and a transactional one
 * (created on first use) for exactly_once_v2. Records keep their order; a large write
 * is split into requests that stay below the broker's default `message.max.bytes`.
 * A write is tried once (with kafkajs's own short retries) and fails with a KafkaError
 * saying whether it is retriable: retrying, and giving up on shutdown, is the caller's.
 */
import { Effect, Exit, identity, Scope, Semaphore } from "effect"
import { CompressionTypes, type IHeaders, type Kafka, type Message, type Producer, type TopicMessages } from "kafkajs"
import type { KafkaJsOptions } from "./KafkaJsSettings.ts"
import { attempt, retryRetriable } from "./KafkaJsErrors.ts"
import { murmur2Partitioner } from "./KafkaJsPartitioner.ts"
import type { KafkaError, OutgoingRecord, TopicPartitionOffset, TransactionContext } from "./KafkaPort.ts"
import { withSendSpan } from "./MessagingSpans.ts"

/** Below the broker default of 1 MiB per record batch, with room for framing. */
const maxRequestBytes = 900_000

const toBuffer = (v: string | Uint8Array): Buffer | string =>
  typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)

const toMessage = (r: OutgoingRecord): Message => {
  const message: Message = { key: r.key === null ? null : toBuffer(r.key), value: r.value === null ? null : toBuffer(r.value) }
  // kafkajs only reads the headers: the record's own object is passed, not a copy per record.
  if (r.headers !== undefined) message.headers = r.headers as IHeaders
  if (r.partition !== undefined) message.partition = r.partition
  if (r.timestamp !== undefined) message.timestamp = String(r.timestamp)
  return message
}

const byteLength = (v: string | Uint8Array | null): number => (v === null ? 0 : typeof v === "string" ? Buffer.byteLength(v) : v.byteLength)

const sizeOf = (r: OutgoingRecord): number => {
  let size = 64 + byteLength(r.key) + byteLength(r.value)
  const headers = r.headers
  if (headers !== undefined) for (const name in headers) size += name.length + Buffer.byteLength(headers[name]!)
  return size
}

/** Consecutive records grouped into requests, each request's records grouped by topic in order. */
export const toRequests = (records: ReadonlyArray<OutgoingRecord>): ReadonlyArray<Array<TopicMessages>> => {
  const requests: Array<Array<TopicMessages>> = []
  let current = new Map<string, Array<Message>>()
  let bytes = 0
  const flush = () => {
    if (current.size > 0) requests.push([...current].map(([topic, messages]) => ({ topic, messages })))
    current = new Map()
    bytes = 0
  }
  for (const r of records) {
    const size = sizeOf(r)
    if (bytes > 0 && bytes + size > maxRequestBytes) flush()
    let messages = current.get(r.topic)
    if (messages === undefined) current.set(r.topic, messages = [])
    messages.push(toMessage(r))
    bytes += size
  }
  flush()
  return requests
}

const byTopic = (offsets: ReadonlyArray<TopicPartitionOffset>) => {
  const topics = new Map<string, Array<{ partition: number; offset: string }>>()
  for (const o of offsets) {
    let partitions = topics.get(o.topic)
    if (partitions === undefined) topics.set(o.topic, partitions = [])
    partitions.push({ partition: o.partition, offset: String(o.offset) })
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }))
}

const compressionOf = (settings: KafkaJsOptions) =>
  settings.compression === "gzip" ? CompressionTypes.GZIP : CompressionTypes.None

const producerConfig = {
  // Java-compatible murmur2 for keyed records (the port's promise), as kafkajs's
  // DefaultPartitioner chooses; naming one also silences kafkajs's v2 warning.
  createPartitioner: murmur2Partitioner,
  allowAutoTopicCreation: false
}

/** `waitForBroker`: at start-up, wait (logged, interruptibly) for the broker instead of failing. */
const connected = (producer: Producer, shutdownTimeoutMs: number, waitForBroker: boolean) =>
  Effect.acquireRelease(
    (waitForBroker ? retryRetriable : identity)(attempt("producer.connect", () => producer.connect())).pipe(Effect.as(producer)),
    (p) =>
      attempt("producer.disconnect", () => p.disconnect()).pipe(
        Effect.timeout(shutdownTimeoutMs),
        Effect.catchCause((cause) => Effect.logWarning("producer did not disconnect cleanly", cause))
      ),
    // Waiting for an unreachable broker must not block a shutdown signal.
    { interruptible: true }
  )

/** The plain producer, connected for the lifetime of the scope. */
export const makeProducer = (kafka: Kafka, settings: KafkaJsOptions) =>
  Effect.gen(function*() {
    const producer = yield* connected(kafka.producer(producerConfig), settings.shutdownTimeoutMs, true)
    const compression = compressionOf(settings)
    return (records: ReadonlyArray<OutgoingRecord>) =>
      Effect.gen(function*() {
        for (const topicMessages of toRequests(records)) {
          // acks=all: a record counts as written once every in-sync replica has it.
          yield* attempt("produce", () => producer.sendBatch({ topicMessages, acks: -1, compression }))
        }
      }).pipe(withSendSpan(records))
  })

/**
 * Transactions on an idempotent, transactional producer (one at a time, as kafkajs
 * requires). `onOffsetsCommitted` hears about offsets that became committed with a
 * transaction, so subscriptions can release the batches they cover.
 */
export const makeTransactions = (
  kafka: Kafka,
  settings: KafkaJsOptions,
  onOffsetsCommitted: (groupId: string, offsets: ReadonlyArray<TopicPartitionOffset>) => void
) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const lock = yield* Semaphore.make(1)
    const compression = compressionOf(settings)
    let producer: Producer | undefined
    // Created on first use: at_least_once never needs a transaction coordinator.
    const transactional = Effect.suspend(() =>
      producer !== undefined
        ? Effect.succeed(producer)
        : connected(
          kafka.producer({
            ...producerConfig,
            transactionalId: settings.transactionalId,
            idempotent: true,
            maxInFlightRequests: 1
          }),
          settings.shutdownTimeoutMs,
          // Inside a write: an unreachable coordinator fails it (retriable), the caller retries.
          false
        ).pipe(Scope.provide(scope), Effect.tap((p) => Effect.sync(() => (producer = p))))
    )

    const once = <A, E>(body: (tx: TransactionContext) => Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        const p = yield* transactional
        const tx = yield* attempt("transaction.begin", () => p.transaction())
        const offsets: Array<readonly [string, ReadonlyArray<TopicPartitionOffset>]> = []
        let committed = false
        const context: TransactionContext = {
          produce: (records) =>
            Effect.forEach(toRequests(records), (topicMessages) =>
              attempt("transaction.produce", () => tx.sendBatch({ topicMessages, acks: -1, compression })), { discard: true }).pipe(withSendSpan(records)),
          sendOffsets: (consumerGroupId, o) =>
            attempt("transaction.sendOffsets", () =>
              tx.sendOffsets({
                consumerGroupId,
                topics: byTopic(o)
              })).pipe(Effect.tap(() => Effect.sync(() => void offsets.push([consumerGroupId, o]))))
        }
        const result = yield* Effect.gen(function*() {
          const value = yield* body(context)
          yield* attempt("transaction.commit", () => tx.commit())
          committed = true
          return value
        }).pipe(
          // Failure or interruption before the commit: abort, so nothing of it becomes visible.
          Effect.onExit((exit) =>
            Exit.isSuccess(exit) || committed
              ? Effect.void
              : attempt("transaction.abort", () => tx.abort()).pipe(
                // Runs uninterruptibly (also on shutdown): bounded, so an unreachable broker
                // cannot hold it; an unaborted transaction is aborted by the coordinator later.
                Effect.timeout(settings.shutdownTimeoutMs),
                Effect.catchCause((cause) => Effect.logWarning("transaction abort failed", cause))
              )
          )
        )
        for (const [groupId, o] of offsets) onOffsetsCommitted(groupId, o)
        return result
      })

    return <A, E>(body: (tx: TransactionContext) => Effect.Effect<A, E>): Effect.Effect<A, E | KafkaError> =>
      // A failure aborts; a retriable one (broker away, coordinator moved) lets the caller run it again.
      lock.withPermit(once(body)).pipe(Effect.withSpan("KafkaJs.transaction"))
  })
