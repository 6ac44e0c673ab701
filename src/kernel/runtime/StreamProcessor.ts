/**
 * Runs a stateful consumer: one consumer-group subscription to the input topics,
 * merged with a clock tick, handled strictly one event at a time. After each event its
 * outputs are written, then its state changes (changelog), then the input offsets are
 * committed (at_least_once); or all three in one Kafka transaction (exactly_once_v2).
 */
import { Effect, Stream } from "effect"
import type { Scope } from "effect"
import {
  KafkaClient,
  type KafkaError,
  type OutgoingRecord,
  type RecordBatch,
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
  readonly tickIntervalMs: number
  readonly handleBatch: (batch: RecordBatch) => Effect.Effect<StepOutput>
  readonly tick: Effect.Effect<StepOutput>
}

type Event = { readonly _tag: "Batch"; readonly batch: RecordBatch } | { readonly _tag: "Tick" }

const nextOffsets = (batch: RecordBatch): ReadonlyArray<TopicPartitionOffset> => {
  const last = batch.records[batch.records.length - 1]
  return last === undefined ? [] : [{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1 }]
}

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

    const handle = (event: Event) =>
      event._tag === "Batch"
        ? Effect.flatMap(options.handleBatch(event.batch), (output) => write(output, nextOffsets(event.batch)))
        : Effect.flatMap(options.tick, (output) => write(output, []))

    const events = Stream.merge(
      Stream.map(subscription.batches, (batch): Event => ({ _tag: "Batch", batch })),
      Stream.map(Stream.tick(options.tickIntervalMs), (): Event => ({ _tag: "Tick" }))
    )
    yield* Stream.runForEach(events, handle)
  })
