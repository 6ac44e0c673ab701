/**
 * A task: the unit of work of the runtime, one per input partition (or one for all
 * partitions when the inputs are not partitioned by the state's key). A task owns its
 * store shards and handles its records one at a time: whatever a record's handler
 * changes, publishes or dead-letters becomes real only if the handler returns; if it
 * throws, the record's changes are undone and the record is dead-lettered.
 */
import type { ConsumedRecord, Headers, OutgoingRecord } from "../kafka/KafkaPort.ts"
import type { Sink } from "../output/Sink.ts"
import type { DeadLetterReason, SourceRef } from "../source/DeadLetter.ts"
import type { KeyValueStore } from "../store/KeyValueStore.ts"
import type { StoreSpec } from "../store/StoreSpec.ts"
import * as StoreKey from "../store/StoreKey.ts"
import { Schema } from "effect"

/** What a handler may do while it handles one record (or one batch end, or one punctuation). */
export interface TaskContext<E> {
  /** The task's id: its input partition, or 0 for a single task. */
  readonly taskId: number
  /** The task's clock (Effect `Clock`, so TestClock drives it), read once per event. */
  readonly now: number
  /**
   * The time up to which the task has read everything that was in its partitions (see
   * ReadProgress). Decisions taken from the absence of records (windows closing,
   * deadlines passing) use this time, not `now`, so a task that is behind, restoring or
   * cut off from the broker does not decide that a record is missing while it is unread.
   */
  readonly decisionTime: number
  /**
   * Active time: a clock that runs only while the task is caught up with its inputs
   * (persisted, so it also stands still while the service is down). Deadlines measured
   * on it are not eaten by restarts, outages or a backlog. Tasks without `activeClock`
   * get `decisionTime` here.
   */
  readonly activeTime: number
  readonly publish: <A>(sink: Sink<A>, value: A, headers?: Headers) => void
  /** An output record built by the handler itself (e.g. one it forwards as it came). */
  readonly emit: (record: OutgoingRecord) => void
  /** `context` headers (e.g. a traceparent) are added where the original record has none. */
  readonly deadLetter: (source: SourceRef, reason: DeadLetterReason, context?: Headers) => void
  /** A domain event, handed to `afterCommit` once the batch is written (metrics, logs, tracing). */
  readonly event: (event: E) => void
}

/** The stores of one task, by spec. */
export interface TaskStores {
  readonly get: <K, V>(spec: StoreSpec<K, V>) => KeyValueStore<K, V>
}

export interface TaskHandlers<E> {
  /** Handles one consumed record of any input topic (see `Inputs.route` for typed routing). */
  readonly process: (record: ConsumedRecord, ctx: TaskContext<E>) => void
  /** Runs after the task's records of an input event, before its state is flushed (e.g. accumulators folded in). */
  readonly endBatch?: ((ctx: TaskContext<E>) => void) | undefined
  /** Scheduled work (window closes, deadlines, periodic publishing) if the definition asks for it. */
  readonly punctuate?: ((ctx: TaskContext<E>) => void) | undefined
}

export type Partitioning = "perPartition" | "single"

export interface TaskDefinition<E = never> {
  readonly name: string
  readonly topics: ReadonlyArray<string>
  readonly stores: ReadonlyArray<StoreSpec<any, any>>
  /**
   * `perPartition`: a task per partition number, its store shards written to the same
   * partition of their changelogs (inputs must be keyed by the state's key and
   * co-partitioned). `single`: one task for every partition.
   */
  readonly partitioning: Partitioning
  /** Every how many ms `punctuate` runs; no timer at all when absent. */
  readonly punctuateEveryMs?: number | undefined
  readonly make: (stores: TaskStores, taskId: number) => TaskHandlers<E>
  /**
   * Keeps a persisted active-time clock for the task (see `TaskContext.activeTime`), in
   * the changelog `changelog` (default: the task's own `<task>-clock`).
   */
  readonly activeClock?: { readonly changelog?: string | undefined } | undefined
}

const clockSpecs = new WeakMap<TaskDefinition<any>, StoreSpec<string, number>>()

/** The store that persists a task's active time (one spec per definition: stores are found by spec). */
export const activeClockSpec = (definition: TaskDefinition<any>): StoreSpec<string, number> | undefined => {
  if (definition.activeClock === undefined) return undefined
  let spec = clockSpecs.get(definition)
  if (spec === undefined) {
    spec = { name: "task-clock", key: StoreKey.string, value: Schema.Number, changelog: definition.activeClock.changelog ?? `${definition.name}-clock` }
    clockSpecs.set(definition, spec)
  }
  return spec
}

/** Every store of a task: its own and the runtime's. */
export const storesOf = (definition: TaskDefinition<any>): ReadonlyArray<StoreSpec<any, any>> => {
  const clock = activeClockSpec(definition)
  return clock === undefined ? definition.stores : [...definition.stores, clock]
}
