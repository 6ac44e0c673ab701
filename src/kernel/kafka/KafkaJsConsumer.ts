/**
 * Consumer-group subscriptions and full-topic reads on kafkajs. A batch is handed to
 * the stream from `eachBatch`, which then waits (heartbeating) until the pipeline has
 * committed all of it: kafkajs fetches no further batch of that partition meanwhile, so a
 * slow pipeline slows consumption instead of piling batches up, and nothing is committed
 * that was not handled. Batches of several partitions are out at once, for the reader to
 * align them.
 */
import { Cause, Deferred, Effect, Exit, Queue, Stream } from "effect"
import type { Batch, Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from "kafkajs"
import type { KafkaJsOptions } from "./KafkaJsSettings.ts"
import { attempt, retryRetriable, rootCause, toKafkaError } from "./KafkaJsErrors.ts"
import { HeldPartitions } from "./KafkaJsHeldPartitions.ts"
import { coPartitionedAssigner } from "./KafkaJsCoPartitionedAssigner.ts"
import { fixedAssigner } from "./KafkaJsFixedAssigner.ts"
import { singleActiveAssigner } from "./KafkaJsSingleActiveAssigner.ts"
import {
  type AssignmentChange,
  type ConsumedRecord,
  KafkaError,
  type RecordBatch,
  type SubscribeOptions,
  type Subscription,
  type TopicPartition,
  type TopicPartitionOffset
} from "./KafkaPort.ts"

const utf8 = new TextDecoder()

const bytes = (buffer: Buffer | null): Uint8Array | null =>
  buffer === null ? null : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)

/** Records without headers (most input) share one empty, frozen object instead of one each. */
const NO_HEADERS: Record<string, string> = Object.freeze({})

/** Kafka allows a header name twice; like Java's `lastHeader`, the last value wins. */
const headerText = (headers: IHeaders | undefined): Record<string, string> => {
  if (headers === undefined) return NO_HEADERS
  let out: Record<string, string> | undefined
  for (const name in headers) {
    const value = headers[name]
    const last = Array.isArray(value) ? value[value.length - 1] : value
    if (last !== undefined) (out ??= {})[name] = typeof last === "string" ? last : utf8.decode(last)
  }
  return out ?? NO_HEADERS
}

export const toConsumedRecord = (topic: string, partition: number, m: KafkaMessage): ConsumedRecord => ({
  topic,
  partition,
  offset: Number(m.offset),
  timestamp: Number(m.timestamp),
  key: bytes(m.key ?? null),
  value: bytes(m.value),
  headers: headerText(m.headers)
})

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`

/**
 * Offsets committed per consumer group through this client, by `Subscription.commit` or
 * inside a transaction (`sendOffsets`); subscriptions listen to release their batches.
 */
export class CommittedOffsets {
  private readonly listeners = new Map<string, Set<(offsets: ReadonlyArray<TopicPartitionOffset>) => void>>()

  listen(groupId: string, listener: (offsets: ReadonlyArray<TopicPartitionOffset>) => void): () => void {
    let set = this.listeners.get(groupId)
    if (set === undefined) this.listeners.set(groupId, set = new Set())
    set.add(listener)
    return () => void set.delete(listener)
  }

  committed(groupId: string, offsets: ReadonlyArray<TopicPartitionOffset>): void {
    for (const listener of this.listeners.get(groupId) ?? []) listener(offsets)
  }
}

/**
 * How a handed-out batch ends: committed; given back for a rejoin of the group (kafkajs
 * fetches it again from the committed offset); or abandoned because nobody reads any more.
 */
type Outcome = "handled" | "released" | "abandoned"

/** A batch handed to the pipeline and not yet committed; `eachBatch` waits on it. */
interface InFlight {
  readonly nextOffset: number
  readonly settled: Promise<Outcome>
  readonly settle: (outcome: Outcome) => void
}

const inFlight = (nextOffset: number): InFlight => {
  let settle!: (outcome: Outcome) => void
  const settled = new Promise<Outcome>((resolve) => (settle = resolve))
  return { nextOffset, settled, settle }
}

const delay = (ms: number) => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms))

/** Commit failures that mean "the group is rebalancing": kafkajs rejoins, then a retry succeeds. */
const rebalanceTypes = new Set(["REBALANCE_IN_PROGRESS", "NOT_COORDINATOR_FOR_GROUP", "ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID"])
const isRebalance = (error: unknown): boolean => {
  const root = rootCause(error) as { type?: unknown; message?: unknown } | undefined
  return (typeof root?.type === "string" && rebalanceTypes.has(root.type)) ||
    // kafkajs between a crash and its automatic restart.
    (typeof root?.message === "string" && root.message.includes("Consumer group was not initialized"))
}

/** What makes kafkajs rejoin when thrown from eachBatch: the rebalance's protocol error, or one like it. */
const rebalanceError = (cause: unknown): unknown =>
  cause !== undefined ? rootCause(cause) : Object.assign(new Error("the group is rebalancing"), { type: "REBALANCE_IN_PROGRESS", retriable: true })

export const consumerConfig = (settings: KafkaJsOptions, groupId: string) => ({
  groupId,
  sessionTimeout: settings.sessionTimeoutMs,
  rebalanceTimeout: settings.rebalanceTimeoutMs,
  heartbeatInterval: settings.heartbeatIntervalMs,
  // Short fetch waits keep shutdown and idle latency low (Java's fetch.max.wait.ms default).
  maxWaitTimeInMs: 500,
  maxBytes: settings.fetchMaxBytes ?? 10 * 1024 * 1024,
  maxBytesPerPartition: settings.fetchMaxBytesPerPartition ?? 1024 * 1024,
  allowAutoTopicCreation: false,
  readUncommitted: false
})

/**
 * Connects and starts a consumer, retrying while the broker is unavailable. The
 * disconnect is registered first, so it also runs when a shutdown interrupts the waiting.
 */
const runConsumer = (
  consumer: Consumer,
  options: {
    readonly topics: ReadonlyArray<string>
    readonly eachBatch: (payload: EachBatchPayload) => Promise<void>
    readonly concurrency?: number | undefined
  },
  shutdownTimeoutMs: number
) =>
  Effect.gen(function*() {
    yield* Effect.addFinalizer(() =>
      attempt("consumer.disconnect", () => consumer.disconnect()).pipe(
        Effect.timeout(shutdownTimeoutMs),
        Effect.catchCause((cause) => Effect.logWarning("consumer did not disconnect cleanly", cause))
      )
    )
    yield* retryRetriable(
      attempt("consumer.connect", async () => {
        try {
          await consumer.connect()
          await consumer.subscribe({ topics: [...options.topics], fromBeginning: true })
          await consumer.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently: options.concurrency ?? 1,
            eachBatch: options.eachBatch
          })
        } catch (error) {
          await consumer.disconnect().catch(() => {})
          throw error
        }
      })
    )
  })

export const subscribe = (kafka: Kafka, settings: KafkaJsOptions, offsets: CommittedOffsets, options: SubscribeOptions) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<RecordBatch, KafkaError | Cause.Done>()
    const pending = new Map<string, InFlight>()
    /** Offsets this member committed, per partition: a batch they already cover is not handed out again. */
    const committedUpTo = new Map<string, number>()
    const commits = new Set<Promise<unknown>>()
    /** No further batch is handed out (shutdown, or nobody reads the stream any more). */
    let closing = false
    let shuttingDown = false
    /** Set while a commit failed for a rebalance: kafkajs must rejoin before the retry can succeed. */
    let rejoinWith: unknown
    /** The error that told of the rebalance under way; thrown to kafkajs so it rejoins. */
    let rebalanceUnderWay: unknown

    // A commit that covers only part of a batch leaves it waiting: its rest is still
    // buffered by the reader, and kafkajs must not fetch past it.
    const acknowledge = (committed: ReadonlyArray<TopicPartitionOffset>) => {
      for (const o of committed) {
        const key = tpKey(o.topic, o.partition)
        committedUpTo.set(key, Math.max(o.offset, committedUpTo.get(key) ?? 0))
        const batch = pending.get(key)
        if (batch !== undefined && o.offset >= batch.nextOffset) batch.settle("handled")
      }
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => offsets.listen(options.groupId, acknowledge)),
      (unlisten) => Effect.sync(unlisten)
    )

    const strategy = options.assignment ?? "single-active"
    const changes = yield* Queue.unbounded<AssignmentChange, KafkaError | Cause.Done>()
    yield* Effect.addFinalizer(() => Queue.end(changes))
    const assignment = new HeldPartitions()

    const consumer = kafka.consumer({
      ...consumerConfig(settings, options.groupId),
      // Single-active: one active member per group (the first to join), later ones stand by.
      partitionAssigners: [strategy === "co-partitioned" ? coPartitionedAssigner(() => assignment.partitionNumbers()) : singleActiveAssigner(Date.now())]
    })
    let crashed = false
    const active = yield* Deferred.make<void, KafkaError>()
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts itself after retriable crashes; only a final one ends the stream
      // (or the wait for partitions: a member that can never join must not idle for ever).
      if (payload.restart) return revokeAll()
      crashed = true
      const error = toKafkaError("consume")(payload.error)
      Deferred.doneUnsafe(active, Exit.fail(error))
      Queue.failCauseUnsafe(queue, Cause.fail(error))
      Queue.failCauseUnsafe(changes, Cause.fail(error))
    })
    const log = Effect.runForkWith(yield* Effect.context<never>())

    /** Partitions paused through `Subscription.pause` and not resumed since. */
    const pausedByReader = new Map<string, TopicPartition>()
    /**
     * kafkajs's own pause and resume, applied from its next fetch on. Before `run` (or while
     * kafkajs restarts after a crash) there is no consumer group to pause in and the pause
     * is lost with it; pausing is advisory (see Subscription.pause), so that is ignored.
     */
    const pauseOrResume = (partitions: ReadonlyArray<TopicPartition>, paused: boolean) => {
      const byTopic = new Map<string, Array<number>>()
      for (const tp of partitions) {
        const numbers = byTopic.get(tp.topic)
        if (numbers === undefined) byTopic.set(tp.topic, [tp.partition])
        else numbers.push(tp.partition)
      }
      const topics = [...byTopic].map(([topic, numbers]) => ({ topic, partitions: numbers }))
      try {
        if (paused) consumer.pause(topics)
        else consumer.resume(topics)
      } catch {
        // No consumer group yet: nothing is fetched that a pause could hold back.
      }
    }

    /**
     * Co-partitioned, the rebalance under way was reported: every held partition was
     * revoked (kafkajs rebalances eagerly, so this member gives them all up) and no batch is
     * handed out until the group is joined again. Cleared by the join.
     */
    let revoking = false
    /**
     * A rebalance has begun (a heartbeat or a commit said so, or kafkajs is rejoining):
     * reports every held partition as revoked at once, before the rejoin that lets their
     * next owner read them. Its `done` comes once the reader has finished the event in
     * flight, written and committed it, and dropped what it holds of them; only then are
     * the batches still out given back, so kafkajs can rejoin (eachBatch holds it until).
     * Reported at a join instead only if kafkajs rejoined without saying so first.
     */
    const revokeAll = () => {
      if (strategy !== "co-partitioned" || revoking) return
      revoking = true
      const partitions = assignment.giveUpAll()
      const release = Effect.sync(() => {
        for (const batch of pending.values()) batch.settle("released")
      })
      if (partitions.length === 0) return Effect.runSync(release)
      Queue.offerUnsafe(changes, { _tag: "Revoked", partitions, done: release })
    }
    // kafkajs rejoins right after this event (its own heartbeat, between fetches, saw the
    // rebalance): every batch out was committed by then, so the reader holds nothing unwritten.
    consumer.on(consumer.events.REBALANCING, () => revokeAll())
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (closing || revoking) return
      const moved = filteredBatch(payload)
      if (moved !== undefined) Queue.offerUnsafe(queue, moved)
    })
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      // Rejoined: a commit failure of the previous generation must not force yet another rebalance.
      rejoinWith = undefined
      // kafkajs keeps pauses across rejoins, but a partition assigned is never paused
      // (Subscription.pause): the reader's are lifted, and it pauses again what runs ahead.
      if (pausedByReader.size > 0 && !closing) {
        pauseOrResume([...pausedByReader.values()], false)
        pausedByReader.clear()
      }
      revokeAll()
      revoking = false
      for (const change of assignment.joined(payload.memberAssignment, strategy === "co-partitioned" ? consumer : undefined)) {
        Queue.offerUnsafe(changes, change)
      }
      const assigned = Object.values(payload.memberAssignment).reduce((n, partitions) => n + partitions.length, 0)
      if (strategy === "co-partitioned") {
        log(Effect.logInfo(`joined consumer group '${options.groupId}' (co-partitioned), holding ${assigned} partitions`))
        Deferred.doneUnsafe(active, Exit.void)
      } else if (assigned > 0) {
        log(Effect.logInfo(`active: consuming all ${assigned} partitions of consumer group '${options.groupId}'`))
        Deferred.doneUnsafe(active, Exit.void)
      } else if (Deferred.isDoneUnsafe(active)) {
        // Another member now holds the partitions (clock skew between hosts can do this):
        // the state built while active is stale from here on, so this member stops for good.
        Queue.failCauseUnsafe(queue, Cause.fail(new KafkaError({
          operation: "consume",
          message: `another member of consumer group '${options.groupId}' took every partition; stopping ` +
            "(the state this member built is stale now; a restart restores it and stands by)",
          retriable: false
        })))
      } else {
        log(Effect.logWarning(
          `standby: another member of consumer group '${options.groupId}' holds every partition; this instance ` +
            "consumes nothing and takes over when that member leaves (one active member per group: " +
            "several would split the partitions and the state kept per key)"
        ))
      }
    })

    const eachBatch = async ({ batch, resolveOffset, heartbeat, pause }: EachBatchPayload): Promise<void> => {
      if (closing) {
        // Nobody takes batches any more: stop fetching this partition instead of looping on it.
        pause()
        return
      }
      const last = batch.messages[batch.messages.length - 1]
      if (last === undefined) return
      // Hand out nothing more until the group is rejoined; throwing makes kafkajs rejoin now.
      if (rejoinWith !== undefined) throw rootCause(rejoinWith)
      if (revoking) throw rebalanceError(rebalanceUnderWay)
      const key = tpKey(batch.topic, batch.partition)
      // Fetched again after a rejoin although this member committed it meanwhile: done.
      if ((committedUpTo.get(key) ?? 0) > Number(last.offset)) return resolveOffset(last.offset)
      const handed = inFlight(Number(last.offset) + 1)
      pending.set(key, handed)
      Queue.offerUnsafe(queue, toRecordBatch(batch))
      let rebalancing: unknown
      let outcome: Outcome | undefined
      try {
        while ((outcome = await Promise.race([handed.settled, delay(settings.heartbeatIntervalMs)])) === undefined) {
          // A long batch must not cost the group membership; a rebalance is acted on once the batch is settled.
          await heartbeat().catch((error: unknown) => {
            if (!isRebalance(error)) return
            rebalancing ??= error
            rebalanceUnderWay = error
            revokeAll()
          })
        }
      } finally {
        pending.delete(key)
      }
      if (outcome === "handled") resolveOffset(last.offset)
      if (outcome === "abandoned") pause()
      const rejoin = rebalancing ?? rejoinWith ?? (revoking ? rebalanceError(rebalanceUnderWay) : undefined)
      // The protocol error itself (not kafkajs's wrapper): its type is what makes kafkajs rejoin.
      if (rejoin !== undefined) throw rootCause(rejoin)
    }

    // Several partitions' batches are out at once (one kafkajs worker each), so the reader
    // can merge them by timestamp. kafkajs's runner (consumer/fetcher.js, workerQueue.js)
    // fetches from each broker, hands that fetch's batches to the workers and fetches from
    // that broker again only once every one of them has returned from eachBatch. As each
    // waits until it is committed, a partition whose batch the reader has used up gets its
    // next batch only after the reader has committed all the others of the same fetch: a
    // reader that waits for that partition waits in vain, until its idle time
    // (MAX_TASK_IDLE_MS) lets it pass the partition over. Partitions beyond the concurrency
    // wait for a free worker, i.e. for a commit.
    yield* runConsumer(consumer, {
      topics: options.topics,
      eachBatch,
      concurrency: settings.partitionsConsumedConcurrently ?? 64
    }, settings.shutdownTimeoutMs)

    // Registered after the consumer, so it runs before the disconnect: let the pipeline
    // finish and commit the batch it holds, then leave the group.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        shuttingDown = true
        closing = true
        yield* Queue.end(queue)
        const settledAll = Promise.all([...pending.values()].map((b) => b.settled))
        yield* Effect.promise(() => settledAll.then(() => Promise.all(commits))).pipe(
          Effect.timeout(settings.shutdownTimeoutMs),
          Effect.catchCause(() => Effect.logWarning("in-flight batch not committed before shutdown; it will be consumed again"))
        )
        for (const batch of pending.values()) batch.settle("abandoned")
      })
    )

    /** Commits refused for a rebalance while co-partitioned: given up rather than failed (see commitOnce). */
    const droppedCommits = new WeakSet<KafkaError>()
    const commitOnce = (committed: ReadonlyArray<TopicPartitionOffset>) =>
      Effect.tryPromise({
        try: () => {
          const request = consumer.commitOffsets(committed.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })))
          commits.add(request)
          return request.finally(() => commits.delete(request))
        },
        catch: (error) => {
          const mapped = toKafkaError("commit")(error)
          if (!isRebalance(error) || crashed || shuttingDown) return mapped
          rebalanceUnderWay = error
          if (strategy === "co-partitioned") {
            // Every partition is being given up: the commit is dropped, not retried (the
            // next owner reads again from the last committed offsets; the outputs it covers
            // are written, so nothing is lost). The batches stay out until the revocation is
            // done, so the group waits for this member to finish.
            revokeAll()
            const dropped = new KafkaError({ operation: mapped.operation, message: mapped.message, retriable: false, cause: error })
            droppedCommits.add(dropped)
            return dropped
          }
          // The group is rebalancing: free eachBatch so kafkajs can rejoin; the retry then
          // commits in the new generation. Batches not covered by this commit are given back.
          rejoinWith = error
          for (const [key, batch] of pending) {
            const covered = committed.some((o) => tpKey(o.topic, o.partition) === key && o.offset >= batch.nextOffset)
            batch.settle(covered ? "handled" : "released")
          }
          return new KafkaError({ operation: mapped.operation, message: mapped.message, retriable: true, cause: error })
        }
      }).pipe(Effect.tap(() => Effect.sync(() => (rejoinWith = undefined))))

    /** The reader's flow control; once closing, the adapter's own pauses (see eachBatch) must stay. */
    const flow = (partitions: ReadonlyArray<TopicPartition>, paused: boolean) =>
      Effect.sync(() => {
        if (partitions.length === 0 || closing) return
        for (const tp of partitions) {
          if (paused) pausedByReader.set(tpKey(tp.topic, tp.partition), tp)
          else pausedByReader.delete(tpKey(tp.topic, tp.partition))
        }
        pauseOrResume(partitions, paused)
      })

    const subscription: Subscription = {
      active: Deferred.await(active),
      pause: (partitions) => flow(partitions, true),
      resume: (partitions) => flow(partitions, false),
      assignments: Stream.fromQueue(changes),
      batches: Stream.fromQueue(queue).pipe(
        // The stream's reader stopped (done, interrupted, failed) while the subscription is
        // open: nothing will commit what it held. On our own shutdown the finalizer waits instead.
        Stream.onExit(() =>
          Effect.sync(() => {
            if (shuttingDown) return
            closing = true
            for (const batch of pending.values()) batch.settle("abandoned")
          })
        )
      ),
      commit: Effect.fn("KafkaJs.commit")(function*(committed: ReadonlyArray<TopicPartitionOffset>) {
        if (committed.length === 0) return
        // Tried once: a retriable failure (broker away, rebalance) is the caller's to retry.
        const done = yield* commitOnce(committed).pipe(
          Effect.as(true),
          Effect.catchIf((e) => droppedCommits.has(e), (e) =>
            Effect.as(Effect.logWarning(`commit dropped, the group is rebalancing (${e.message}); the partitions' next owner reads from the last committed offsets`), false))
        )
        if (done) acknowledge(committed)
      })
    }
    return subscription
  })

export const toRecordBatch = (batch: Pick<Batch, "topic" | "partition" | "messages" | "highWatermark" | "lastOffset">): RecordBatch => {
  const records = batch.messages.map((m) => toConsumedRecord(batch.topic, batch.partition, m))
  // kafkajs's last offset counts the records it filtered out (transaction markers, aborted ones).
  const next = Number(batch.lastOffset()) + 1
  return {
    topic: batch.topic,
    partition: batch.partition,
    records,
    // kafkajs reports the partition's high watermark with each fetch (consumer lag metric).
    highWatermark: Number(batch.highWatermark),
    ...(next > (records.at(-1)?.offset ?? -1) + 1 ? { nextOffset: next } : {})
  }
}

/**
 * A fetched batch kafkajs hands to no `eachBatch` because it filtered out every record
 * in it (transaction markers, aborted transactions): the position it moved to, as an
 * empty batch, so the reader does not take the partition for one with unread records.
 */
export const filteredBatch = (payload: {
  readonly topic: string
  readonly partition: number
  readonly highWatermark: string
  readonly batchSize: number
  readonly lastOffset: string
}): RecordBatch | undefined =>
  payload.batchSize > 0 ? undefined : {
    topic: payload.topic,
    partition: payload.partition,
    records: [],
    highWatermark: Number(payload.highWatermark),
    nextOffset: Number(payload.lastOffset) + 1
  }

/**
 * Every record of the partitions of `topic` in `watermarks` below their high watermarks
 * read at call time, via a throwaway consumer group holding just those partitions
 * (kafkajs has no group-less assignment). Ends once each partition's
 * position reaches its watermark; transaction markers count as consumed. The record
 * just below a watermark always exists: it sits in the active segment, which compaction
 * never touches.
 */
export const readAll = (kafka: Kafka, settings: KafkaJsOptions, topic: string, watermarks: ReadonlyMap<number, number>) =>
  Effect.scoped(Effect.gen(function*() {
    // Keyed by position: a redelivery after a rebalance must not duplicate records.
    const records = new Map<string, ConsumedRecord>()
    if (watermarks.size === 0) return []
    const remaining = new Set(watermarks.keys())
    let finished!: () => void
    let failed!: (error: KafkaError) => void
    const done = new Promise<void>((resolve, reject) => {
      finished = resolve
      failed = reject
    })
    // A crash may reject before the await below is reached; that must not count as unhandled.
    done.catch(() => {})
    const groupId = `${settings.clientId}-restore-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
    // Only the partitions asked for are assigned, so no other partition is fetched.
    const consumer = kafka.consumer({ ...consumerConfig(settings, groupId), partitionAssigners: [fixedAssigner([...watermarks.keys()])] })
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const high = watermarks.get(payload.partition)
      if (high !== undefined && Number(payload.lastOffset) + 1 >= high) remaining.delete(payload.partition)
      if (remaining.size === 0) finished()
    })
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) failed(toKafkaError("readAll")(payload.error))
    })
    const eachBatch = async ({ batch, resolveOffset }: EachBatchPayload): Promise<void> => {
      const high = watermarks.get(batch.partition) ?? 0
      for (const m of batch.messages) {
        if (Number(m.offset) < high) records.set(`${batch.partition}:${m.offset}`, toConsumedRecord(topic, batch.partition, m))
      }
      resolveOffset(batch.lastOffset())
    }
    yield* runConsumer(consumer, { topics: [topic], eachBatch }, settings.shutdownTimeoutMs)
    yield* Effect.tryPromise({ try: () => done, catch: toKafkaError("readAll") })
    return [...records.values()].sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  }))
