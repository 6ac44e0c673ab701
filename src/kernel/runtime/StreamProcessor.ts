/**
 * Runs a stateful consumer: one consumer-group subscription to the input topics,
 * merged with a clock tick when there is clock work, handled strictly one event at a time. After each event its
 * outputs are written, then its state changes (changelog), then the input offsets are
 * committed (at_least_once); or all three in one Kafka transaction (exactly_once_v2).
 */
import { Duration, Effect, Schedule, Stream } from "effect"
import type { Scope } from "effect"
import {
  KafkaClient,
  type KafkaError,
  type OutgoingRecord,
  type RecordBatch,
  type Subscription,
  type TopicPartitionOffset
} from "../kafka/KafkaPort.ts"

export type Guarantee = "at_least_once" | "exactly_once_v2"

export interface StepOutput {
  /** Output records, in the order they must be written. */
  readonly records: ReadonlyArray<OutgoingRecord>
  /** State changes to persist after the outputs and before the offsets. */
  readonly changelog: ReadonlyArray<OutgoingRecord>
}

export interface ProcessorOptions {
  readonly groupId: string
  readonly topics: ReadonlyArray<string>
  readonly guarantee: Guarantee
  readonly handleBatch: (batch: RecordBatch) => Effect.Effect<StepOutput>
  /** Clock work and how often it runs; no timer at all without it. */
  readonly tick?: {
    readonly intervalMs: number
    /** `progress` is the subscription's, when its adapter has it. */
    readonly run: (progress: Subscription["progress"]) => Effect.Effect<StepOutput>
  } | undefined
}

/**
 * Backoff for writes that fail with a retriable error (broker down, leader moving):
 * exponential from 200 ms, capped at 30 s, for as long as it takes. The batch's state is
 * already applied in memory, so the same output is written again rather than the batch
 * being re-handled; a non-retriable error ends the processor (and the service restarts
 * from the changelog and the last committed offsets).
 */
const writeRetry = Schedule.exponential("200 millis").pipe(
  Schedule.modifyDelay((m) => Effect.succeed(Math.min(Duration.toMillis(m.output), 30_000)))
)

type Event = { readonly _tag: "Batch"; readonly batch: RecordBatch } | { readonly _tag: "Tick" }

const nextOffsets = (batch: RecordBatch): ReadonlyArray<TopicPartitionOffset> => {
  const last = batch.records[batch.records.length - 1]
  return last === undefined ? [] : [{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1 }]
}

/** Attributes of a batch's span, after the messaging semantic conventions (`process` of a batch). */
const processAttributes = (groupId: string, batch: RecordBatch) => ({
  "messaging.system": "kafka",
  "messaging.operation.type": "process",
  "messaging.operation.name": "process",
  "messaging.destination.name": batch.topic,
  "messaging.destination.partition.id": String(batch.partition),
  "messaging.consumer.group.name": groupId,
  "messaging.batch.message_count": batch.records.length,
  ...(batch.records.length === 0 ? {} : {
    "messaging.kafka.offset": batch.records[0]!.offset,
    "messaging.kafka.batch.last_offset": batch.records[batch.records.length - 1]!.offset
  })
})

/** Consumes until interrupted (closing the scope leaves the group). */
export const run = (options: ProcessorOptions): Effect.Effect<void, KafkaError, KafkaClient | Scope.Scope> =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const subscription = yield* kafka.subscribe({ groupId: options.groupId, topics: options.topics, fromBeginning: true })

    const write = (output: StepOutput, offsets: ReadonlyArray<TopicPartitionOffset>) =>
      options.guarantee === "exactly_once_v2"
        ? kafka.transaction((tx) =>
          Effect.gen(function*() {
            yield* tx.produce([...output.records, ...output.changelog])
            if (offsets.length > 0) yield* tx.sendOffsets(options.groupId, offsets)
          })
        )
        : Effect.gen(function*() {
          if (output.records.length > 0) yield* kafka.produce(output.records)
          if (output.changelog.length > 0) yield* kafka.produce(output.changelog)
          if (offsets.length > 0) yield* subscription.commit(offsets)
        })

    const logFailure = (e: KafkaError) =>
      Effect.logWarning(`writing outputs failed (${e.operation}): ${e.message}${e.retriable ? "; retrying" : ""}`)

    const writeWithRetry = (output: StepOutput, offsets: ReadonlyArray<TopicPartitionOffset>, restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
      write(output, offsets).pipe(
        Effect.tapError(logFailure),
        Effect.catchIf((e) => e.retriable, () =>
          restore(write(output, offsets).pipe(
            Effect.tapError(logFailure),
            Effect.retry({ schedule: writeRetry, while: (e: KafkaError) => e.retriable })
          )))
      )

    // Each event is handled and written to completion: shutdown (interruption) waits for
    // the batch in flight, so its outputs, changelog and offsets are written before the
    // scope closes. Only waiting out a broker outage stays interruptible: abandoning that
    // write is safe, since neither its changelog nor its offsets were written, so the
    // batch is read again after the restart.
    //
    // A batch is one CONSUMER span (OpenTelemetry messaging conventions) around its handling
    // and its writes, so produce and commit spans are its children. Clock work gets a span
    // only when it has something to write.
    const handle = (event: Event) =>
      Effect.uninterruptibleMask((restore) =>
        event._tag === "Batch"
          ? Effect.flatMap(options.handleBatch(event.batch), (output) => writeWithRetry(output, nextOffsets(event.batch), restore)).pipe(
            Effect.withSpan(`process ${event.batch.topic}`, { kind: "consumer", attributes: processAttributes(options.groupId, event.batch) })
          )
          : Effect.flatMap(options.tick!.run(subscription.progress), (output) =>
            output.records.length === 0 && output.changelog.length === 0
              ? Effect.void
              : writeWithRetry(output, [], restore).pipe(
                Effect.withSpan("punctuate", { attributes: { "messaging.system": "kafka", "messaging.consumer.group.name": options.groupId } })
              ))
      )

    const batches = Stream.map(subscription.batches, (batch): Event => ({ _tag: "Batch", batch }))
    const events = options.tick === undefined
      ? batches
      : Stream.merge(batches, Stream.map(Stream.tick(options.tick.intervalMs), (): Event => ({ _tag: "Tick" })))
    yield* Stream.runForEach(events, handle)
  })
