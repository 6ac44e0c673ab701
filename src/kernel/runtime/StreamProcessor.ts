/**
 * Runs a stateful consumer: one consumer-group subscription to the input topics, its
 * batches aligned into events (records of several partitions in timestamp order), and a
 * clock tick when there is clock work (and, scaled out, the member's assignment changes),
 * handled strictly one at a time. After each
 * event its outputs are written, then its state changes (changelog), then the offsets of
 * what it read are committed (at_least_once); or all three in one Kafka transaction
 * (exactly_once_v2). That write runs while the next event is handled; writes stay in order.
 */
import { Cause, Clock, Deferred, Duration, Effect, Exit, Fiber, Option, Schedule, Stream } from "effect"
import type { Scope } from "effect"
import {
  type AssignmentChange,
  type AssignmentStrategy,
  KafkaClient,
  type KafkaError,
  type OutgoingRecord,
  type Subscription,
  type TopicPartition,
  type TopicPartitionOffset
} from "../kafka/KafkaPort.ts"
import { AlignedInput, defaultAlignment, type AlignmentSettings } from "./AlignedInput.ts"
import { offsetsOf, topicsOf, type InputEvent } from "./InputEvent.ts"

export type Guarantee = "at_least_once" | "exactly_once_v2"

export interface StepOutput {
  /** Output records, in the order they must be written. */
  readonly records: ReadonlyArray<OutgoingRecord>
  /** State changes to persist after the outputs and before the offsets. */
  readonly changelog: ReadonlyArray<OutgoingRecord>
}

/** What the processor calls per input event and, if there is clock work, per tick. */
export interface Handler {
  /** `progress` is the subscription's, when its adapter can read it for every event. */
  readonly handleEvent: (event: InputEvent, progress: Subscription["progress"]) => Effect.Effect<StepOutput>
  /** Clock work and how often it runs; no timer at all without it. */
  readonly tick?: {
    readonly intervalMs: number
    readonly run: (progress: Subscription["progress"]) => Effect.Effect<StepOutput>
  } | undefined
  /**
   * Co-partitioned: this member got these partitions; no batch of them is handed out
   * before this returns (restore their state here). A failure ends the processor.
   */
  readonly assigned?: ((partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void, KafkaError>) | undefined
  /**
   * Co-partitioned: this member no longer holds these partitions. Every event before it
   * is handled and written, and none of these partitions comes after it (drop their state).
   */
  readonly revoked?: ((partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void>) | undefined
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
  /** How batches are cut into events: idle time and event bounds (defaults: AlignedInput's). */
  readonly alignment?: AlignmentSettings | undefined
  /**
   * How the group's partitions are spread over its members (default `single-active`).
   * `co-partitioned`: partition p of every input goes to one member and assignment
   * changes are handled in the event loop, between events (see `Handler.assigned`).
   */
  readonly assignment?: AssignmentStrategy | undefined
  /** Told how many input partitions flow control holds paused, whenever that may have changed (for a gauge). */
  readonly onPaused?: ((partitions: number) => Effect.Effect<void>) | undefined
  /**
   * Told how long the loop waited (for counters): `input` with nothing to handle (for a
   * batch, a tick, or the idle time of a partition that holds the cut back), `write` for
   * the previous write to finish before the next could start. With the time handling
   * events, they tell whether a member is bound by its input, its writes or its CPU.
   */
  readonly onWaited?: ((what: "input" | "write", seconds: number) => Effect.Effect<void>) | undefined
  /** Told how long each attempt of a write step took, from the call to its answer (for a histogram). */
  readonly onWriteStep?: ((step: WriteStep, seconds: number) => Effect.Effect<void>) | undefined
}

/**
 * The steps of a write, in their order: at_least_once writes the outputs, the changelog
 * (tombstones, then values) and the input offsets one after the other; exactly_once_v2
 * writes them in one transaction.
 */
export type WriteStep = "outputs" | "changelog" | "commit" | "transaction"

export interface ProcessorOptions extends MembershipOptions, Handler {}

/**
 * The one retry policy for writes (the Kafka adapters do not retry writes themselves
 * beyond their client's short built-in retries): a write that fails with a retriable
 * error (broker down, leader moving, rebalance) is retried with backoff exponential from
 * 200 ms, capped at 30 s, for as long as it takes or until shutdown. The event's state is
 * already applied in memory, so the same output is written again rather than the event
 * being re-handled; a non-retriable error ends the processor (and the service restarts
 * from the changelog and the last committed offsets).
 */
const writeRetry = Schedule.exponential("200 millis").pipe(
  Schedule.modifyDelay((m) => Effect.succeed(Math.min(Duration.toMillis(m.output), 30_000)))
)

/** Runs `effect` and tells `report` the seconds it took, however it ended. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>, report: ((seconds: number) => Effect.Effect<void>) | undefined): Effect.Effect<A, E, R> =>
  report === undefined ? effect : Effect.suspend(() => {
    const started = performance.now()
    return Effect.ensuring(effect, Effect.suspend(() => report((performance.now() - started) / 1000)))
  })

type Event = { readonly _tag: "Input"; readonly event: InputEvent } | { readonly _tag: "Tick" }

/**
 * The event's CONSUMER span after the messaging semantic conventions: `process <topic>`
 * when it read one topic, plain `process` with the topics listed when it read several.
 */
const processSpan = (groupId: string, event: InputEvent) => {
  const topics = topicsOf(event)
  const only = topics.length === 1 ? topics[0]! : undefined
  const single = event.partitions.length === 1 && event.records.length > 0 ? event.partitions[0]! : undefined
  return {
    name: only === undefined ? "process" : `process ${only}`,
    attributes: {
      "messaging.system": "kafka",
      "messaging.operation.type": "process",
      "messaging.operation.name": "process",
      ...(only === undefined ? { "messaging.kafka.destinations": topics.join(",") } : { "messaging.destination.name": only }),
      "messaging.consumer.group.name": groupId,
      "messaging.batch.message_count": event.records.length,
      ...(single === undefined ? {} : {
        "messaging.destination.partition.id": String(single.partition),
        "messaging.kafka.offset": event.records[0]!.offset,
        "messaging.kafka.batch.last_offset": event.records[event.records.length - 1]!.offset
      })
    }
  }
}

/**
 * An event's changelog as the writes that carry it: its tombstones first, then its values,
 * each write acknowledged before the next. A value of an event in the changelog then proves
 * its tombstones are there too, even once compaction has removed them (see TaskRestore).
 */
const changelogWrites = (changelog: ReadonlyArray<OutgoingRecord>): ReadonlyArray<ReadonlyArray<OutgoingRecord>> => {
  const tombstones = changelog.filter((r) => r.value === null)
  const values = changelog.filter((r) => r.value !== null)
  return [tombstones, values].filter((records) => records.length > 0)
}

/** A one-shot wake-up that is renewed each time it fires; a waiter takes the current one before it checks. */
const makeSignal = () => {
  let current = Deferred.makeUnsafe<void>()
  return {
    get next() {
      return current
    },
    fire: () => {
      const fired = current
      current = Deferred.makeUnsafe<void>()
      Deferred.doneUnsafe(fired, Effect.void)
    }
  }
}

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
    const coPartitioned = options.assignment === "co-partitioned"
    const subscription = yield* kafka.subscribe({
      groupId: options.groupId,
      topics: options.topics,
      fromBeginning: true,
      ...(coPartitioned ? { assignment: "co-partitioned" as const } : {})
    })
    yield* subscription.active
    const aligner = new AlignedInput(options.alignment ?? defaultAlignment)
    // What the broker says of each partition also tells the aligner which ones hold unread records.
    const progress = subscription.progress === undefined ? undefined : Effect.tap(subscription.progress, (partitions) =>
      Effect.sync(() => {
        for (const p of partitions) aligner.observe(p.topic, p.partition, p.highWatermark, p.committed)
      }))
    const handler = yield* makeHandler

    /**
     * The steps of a write in their order; each is retried on its own, so a retry repeats
     * no earlier step. Suspended: every attempt calls the port again.
     */
    const writeSteps = (output: StepOutput, offsets: ReadonlyArray<TopicPartitionOffset>): ReadonlyArray<Effect.Effect<void, KafkaError>> => {
      const step = (name: WriteStep, write: () => Effect.Effect<void, KafkaError>) =>
        Effect.suspend(() => timed(write(), options.onWriteStep === undefined ? undefined : (seconds) => options.onWriteStep!(name, seconds)))
      return options.guarantee === "exactly_once_v2"
        ? [step("transaction", () =>
          kafka.transaction((tx) =>
            Effect.gen(function*() {
              yield* tx.produce([...output.records, ...output.changelog])
              if (offsets.length > 0) yield* tx.sendOffsets(options.groupId, offsets)
            })
          ))]
        : [
          ...(output.records.length > 0 ? [step("outputs", () => kafka.produce(output.records))] : []),
          ...changelogWrites(output.changelog).map((records) => step("changelog", () => kafka.produce(records))),
          ...(offsets.length > 0 ? [step("commit", () => subscription.commit(offsets))] : [])
        ]
    }
    const waited = (what: "input" | "write") => options.onWaited === undefined ? undefined : (seconds: number) => options.onWaited!(what, seconds)

    const graceMs = options.shutdownGraceMs ?? 10_000
    const reportPaused = Effect.suspend(() => options.onPaused?.(aligner.pausedPartitions) ?? Effect.void)

    // Bounded, at-least-once shutdown (issue 8). Handling an event (in memory, no I/O) is
    // never interrupted, so state is never half-applied. Its write (outputs, changelog,
    // offsets: each step retried by writeRetry) runs in a fiber of its own. When the
    // processor is interrupted during that write:
    // - waiting between two attempts: the write is abandoned at once;
    // - an attempt under way: it may finish within `graceMs`, without any further retry;
    //   still running then, or failed, the write is abandoned.
    // An abandoned write never committed its offsets, so its records are consumed and handled
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
          Effect.logWarning(`stopping: write abandoned (${why}); its input is consumed again after the restart`).pipe(
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

    /**
     * The write of the event (or tick) handled last, left running while the next one is
     * handled, so the broker's round trips overlap the handling instead of idling the loop.
     * Writes stay one at a time and in order: the next starts once this one is done, so an
     * event's offsets are still committed only after its outputs, and every earlier
     * event's, are acknowledged. An event handled but not yet written when the loop stops
     * is simply not committed (read again after a restart).
     */
    let writing: Fiber.Fiber<void, KafkaError> | undefined
    /** Waits (interruptibly) for the write under way; its failure ends the loop. */
    const written = Effect.suspend(() => {
      const fiber = writing
      return fiber === undefined ? Effect.void : Effect.interruptible(Fiber.join(fiber)).pipe(Effect.tap(() => Effect.sync(() => {
        if (writing === fiber) writing = undefined
      })))
    })
    const startWrite = (write: Effect.Effect<void, KafkaError>) =>
      Effect.gen(function*() {
        yield* writing === undefined ? Effect.void : timed(written, waited("write"))
        // Wakes the loop when done, so a failure is seen even while it waits for input.
        writing = yield* Effect.forkChild({ startImmediately: true })(Effect.ensuring(write, Effect.sync(() => arrived.fire())))
      })

    // An event is one CONSUMER span (OpenTelemetry messaging conventions) around its
    // handling and its writes, so produce and commit spans are its children (the span may
    // end while its write, overlapping the next event, still runs). Clock work gets a span
    // only when it has something to write.
    const handle = (event: Event) =>
      Effect.uninterruptible(
        event._tag === "Input"
          ? Effect.suspend(() => {
            const span = processSpan(options.groupId, event.event)
            return Effect.flatMap(
              handler.handleEvent(event.event, subscription.progressPerBatch === true ? progress : undefined),
              (output) => startWrite(writeWithinGrace(output, offsetsOf(event.event)))
            ).pipe(Effect.withSpan(span.name, { kind: "consumer", attributes: span.attributes }))
          })
          : Effect.flatMap(handler.tick!.run(progress), (output) =>
            output.records.length === 0 && output.changelog.length === 0
              ? Effect.void
              : startWrite(writeWithinGrace(output, [])).pipe(
                Effect.withSpan("punctuate", { attributes: { "messaging.system": "kafka", "messaging.consumer.group.name": options.groupId } })
              ))
      )

    // Batches are pulled into the aligner as they come, until its buffer is full; the
    // loop below cuts one event at a time from it. A cut waits while a partition known to
    // hold unread records has none buffered, until a batch arrives or the idle time ends.
    let pulling = true
    let pullFailure: Cause.Cause<KafkaError> | undefined
    let tickDue = false
    /** Assignment changes not handled yet, in order (co-partitioned only). */
    const changes: Array<AssignmentChange> = []
    const arrived = makeSignal()
    const taken = makeSignal()
    /**
     * Partitions revoked and not assigned again since (co-partitioned): a batch of theirs
     * that was handed out before the revocation but pulled only after it is not this
     * member's to handle any more.
     */
    const givenUp = new Set<string>()
    const partitionKey = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`
    const pull = Stream.runForEach(subscription.batches, (batch) =>
      Effect.gen(function*() {
        if (givenUp.size > 0 && givenUp.has(partitionKey(batch))) return
        aligner.add(batch)
        arrived.fire()
        while (aligner.full) yield* Deferred.await(taken.next)
      })).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            pulling = false
            if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) pullFailure = exit.cause
            arrived.fire()
          })
        ),
        Effect.ignore
      )
    const tick = handler.tick
    const ticks = tick === undefined ? Effect.void : Stream.runForEach(Stream.tick(tick.intervalMs), () =>
      Effect.sync(() => {
        tickDue = true
        arrived.fire()
      }))

    const watchAssignments = Stream.runForEach(subscription.assignments, (change) =>
      Effect.sync(() => {
        changes.push(change)
        arrived.fire()
      })).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) pullFailure ??= exit.cause
            arrived.fire()
          })
        ),
        Effect.ignore
      )

    /**
     * An assignment change, between two events: a revocation forgets what the aligner
     * holds of those partitions (not committed, so their next holder reads it again) and
     * drops their state; an assignment restores theirs. Only then may the adapter go on.
     */
    const handleChange = (change: AssignmentChange) =>
      Effect.andThen(written, handleChangeWritten(change))
    const handleChangeWritten = (change: AssignmentChange) =>
      change._tag === "Revoked"
        ? Effect.uninterruptible(Effect.gen(function*() {
          for (const tp of change.partitions) givenUp.add(partitionKey(tp))
          aligner.drop(change.partitions)
          yield* reportPaused
          taken.fire()
          if (handler.revoked !== undefined) yield* handler.revoked(change.partitions)
          yield* change.done
        }))
        : Effect.suspend(() => {
          for (const tp of change.partitions) givenUp.delete(partitionKey(tp))
          return Effect.andThen(handler.assigned === undefined ? Effect.void : handler.assigned(change.partitions), change.done)
        })

    /** One event at a time: an assignment change first, then a due tick, else the next cut, else wait for a batch, a tick or the idle deadline. */
    const consume = Effect.gen(function*() {
      for (;;) {
        const woken = arrived.next
        if (pullFailure !== undefined) return yield* Effect.failCause(pullFailure)
        if (writing?.pollUnsafe() !== undefined) yield* written
        const change = changes.shift()
        if (change !== undefined) {
          yield* handleChange(change)
          continue
        }
        if (tickDue) {
          tickDue = false
          yield* handle({ _tag: "Tick" })
          continue
        }
        // In process, what every partition holds is known before each cut: none is passed over unseen.
        if (subscription.progressPerBatch === true && progress !== undefined) yield* Effect.ignore(progress)
        // Partitions read too far ahead of the slowest are paused until it catches up.
        const flow = aligner.flow()
        if (flow !== undefined) {
          if (flow.pause.length > 0) yield* subscription.pause(flow.pause)
          if (flow.resume.length > 0) yield* subscription.resume(flow.resume)
          yield* reportPaused
        }
        const now = yield* Clock.currentTimeMillis
        const event = aligner.cut(now)
        if (event !== undefined) {
          taken.fire()
          yield* handle({ _tag: "Input", event })
          continue
        }
        if (!pulling && aligner.buffered === 0 && tick === undefined) return yield* written
        const deadline = aligner.deadline()
        yield* timed(
          deadline === undefined ? Deferred.await(woken) : Effect.raceFirst(Deferred.await(woken), Effect.sleep(Math.max(0, deadline - now))),
          waited("input")
        )
      }
    })
    // The puller stops with the loop, before the subscription's scope closes, so the batches
    // it holds partly taken are given up at once (read again after a restart) instead of
    // being waited for at shutdown.
    const puller = yield* Effect.forkChild(pull)
    const ticker = yield* Effect.forkChild(ticks)
    const watcher = yield* Effect.forkChild(coPartitioned ? watchAssignments : Effect.void)
    // The write under way gets its grace (see writeWithinGrace) when the loop is interrupted.
    const stopWriting = Effect.suspend(() => (writing === undefined ? Effect.void : Fiber.interrupt(writing)))
    return yield* consume.pipe(
      Effect.ensuring(Effect.andThen(Effect.andThen(Effect.andThen(Fiber.interrupt(puller), Fiber.interrupt(ticker)), Fiber.interrupt(watcher)), stopWriting))
    )
  })
