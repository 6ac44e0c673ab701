/**
 * Runs a stateful consumer: one consumer-group subscription to the input topics,
 * merged with a clock tick when there is clock work, handled strictly one event at a time. After each event its
 * outputs are written, then its state changes (changelog), then the input offsets are
 * committed (at_least_once); or all three in one Kafka transaction (exactly_once_v2).
 */
import { Duration, Effect, Exit, Fiber, Option, Schedule, Stream } from "effect"
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

/** What the processor calls per batch and, if there is clock work, per tick. */
export interface Handler {
  /** `progress` is the subscription's, when its adapter can read it for every batch. */
  readonly handleBatch: (batch: RecordBatch, progress: Subscription["progress"]) => Effect.Effect<StepOutput>
  /** Clock work and how often it runs; no timer at all without it. */
  readonly tick?: {
    readonly intervalMs: number
    readonly run: (progress: Subscription["progress"]) => Effect.Effect<StepOutput>
  } | undefined
}

export interface MembershipOptions {
  readonly groupId: string
  readonly topics: ReadonlyArray<string>
  readonly guarantee: Guarantee
  /**
   * Shutdown grace (SHUTDOWN_TIMEOUT_MS): once the processor is interrupted, how long the
   * write of the event in flight may still take before it is abandoned. Default 10 s.
   */
  readonly shutdownGraceMs?: number | undefined
}

export interface ProcessorOptions extends MembershipOptions, Handler {}

/**
 * The one retry policy for writes (the Kafka adapters do not retry writes themselves
 * beyond their client's short built-in retries): a write that fails with a retriable
 * error (broker down, leader moving, rebalance) is retried with backoff exponential from
 * 200 ms, capped at 30 s, for as long as it takes or until shutdown. The batch's state is
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
  runWhenActive(options, Effect.succeed(options))

/**
 * Joins the group, waits until this member holds partitions (a standby waits for the
 * active member to leave), only then builds the handler (where state is restored, so it
 * includes everything the previous holder wrote), and consumes until interrupted.
 */
export const runWhenActive = <E, R>(
  options: MembershipOptions,
  makeHandler: Effect.Effect<Handler, E, R>
): Effect.Effect<void, KafkaError | E, KafkaClient | Scope.Scope | R> =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const subscription = yield* kafka.subscribe({ groupId: options.groupId, topics: options.topics, fromBeginning: true })
    yield* subscription.active
    const handler = yield* makeHandler

    /**
     * The steps of a write in their order; each is retried on its own, so a retry repeats
     * no earlier step. Suspended: every attempt calls the port again.
     */
    const writeSteps = (output: StepOutput, offsets: ReadonlyArray<TopicPartitionOffset>): ReadonlyArray<Effect.Effect<void, KafkaError>> =>
      (options.guarantee === "exactly_once_v2"
        ? [() =>
          kafka.transaction((tx) =>
            Effect.gen(function*() {
              yield* tx.produce([...output.records, ...output.changelog])
              if (offsets.length > 0) yield* tx.sendOffsets(options.groupId, offsets)
            })
          )]
        : [
          ...(output.records.length > 0 ? [() => kafka.produce(output.records)] : []),
          ...(output.changelog.length > 0 ? [() => kafka.produce(output.changelog)] : []),
          ...(offsets.length > 0 ? [() => subscription.commit(offsets)] : [])
        ]).map(Effect.suspend)

    const graceMs = options.shutdownGraceMs ?? 10_000

    // Bounded, at-least-once shutdown (issue 8). Handling an event (in memory, no I/O) is
    // never interrupted, so state is never half-applied. Its write (outputs, changelog,
    // offsets: each step retried by writeRetry) runs in a fiber of its own. When the
    // processor is interrupted during that write:
    // - waiting between two attempts: the write is abandoned at once;
    // - an attempt under way: it may finish within `graceMs`, without any further retry;
    //   still running then, or failed, the write is abandoned.
    // An abandoned write never committed its offsets, so its batch is consumed and handled
    // again after the restart (outputs may repeat; the changelog-restored state dedupes).
    // Waiting for the next event is interrupted at once.
    const writeWithinGrace = (output: StepOutput, offsets: ReadonlyArray<TopicPartitionOffset>) =>
      Effect.gen(function*() {
        /** A step failed and waits out the backoff before its next attempt. */
        let waiting = false
        let stopping = false
        const retried = (step: Effect.Effect<void, KafkaError>) =>
          Effect.suspend(() => {
            waiting = false
            return step
          }).pipe(
            Effect.tapError((e) => {
              const retrying = e.retriable && !stopping
              waiting = retrying
              return Effect.logWarning(`writing outputs failed (${e.operation}): ${e.message}${retrying ? "; retrying" : ""}`)
            }),
            Effect.retry({ schedule: writeRetry, while: (e: KafkaError) => e.retriable && !stopping })
          )
        const steps = writeSteps(output, offsets)
        if (steps.length === 0) return
        const fiber = yield* Effect.forkChild({ startImmediately: true })(Effect.forEach(steps, retried, { discard: true }))
        const abandon = (why: string) =>
          Effect.logWarning(`stopping: write abandoned (${why}); its batch is consumed again after the restart`).pipe(
            Effect.andThen(Fiber.interrupt(fiber))
          )
        const stop = Effect.gen(function*() {
          stopping = true
          if (waiting) return yield* abandon("it was waiting to be retried")
          yield* Effect.logInfo(`stopping: letting the write under way finish (up to ${graceMs} ms)`)
          const exit = yield* Effect.timeoutOption(Fiber.await(fiber), graceMs)
          if (Option.isNone(exit)) return yield* abandon(`not finished within ${graceMs} ms`)
          if (Exit.isFailure(exit.value)) return yield* abandon("its last attempt failed")
        })
        // Only the join is interruptible; `stop` runs as its (uninterruptible) reaction.
        return yield* Effect.interruptible(Fiber.join(fiber)).pipe(Effect.onInterrupt(() => stop))
      })

    // A batch is one CONSUMER span (OpenTelemetry messaging conventions) around its handling
    // and its writes, so produce and commit spans are its children. Clock work gets a span
    // only when it has something to write.
    const handle = (event: Event) =>
      Effect.uninterruptible(
        event._tag === "Batch"
          ? Effect.flatMap(
            handler.handleBatch(event.batch, subscription.progressPerBatch === true ? subscription.progress : undefined),
            (output) => writeWithinGrace(output, nextOffsets(event.batch))
          ).pipe(Effect.withSpan(`process ${event.batch.topic}`, { kind: "consumer", attributes: processAttributes(options.groupId, event.batch) }))
          : Effect.flatMap(handler.tick!.run(subscription.progress), (output) =>
            output.records.length === 0 && output.changelog.length === 0
              ? Effect.void
              : writeWithinGrace(output, []).pipe(
                Effect.withSpan("punctuate", { attributes: { "messaging.system": "kafka", "messaging.consumer.group.name": options.groupId } })
              ))
      )

    const batches = Stream.map(subscription.batches, (batch): Event => ({ _tag: "Batch", batch }))
    const tick = handler.tick
    const events = tick === undefined
      ? batches
      : Stream.merge(batches, Stream.map(Stream.tick(tick.intervalMs), (): Event => ({ _tag: "Tick" })))
    yield* Stream.runForEach(events, handle)
  })
