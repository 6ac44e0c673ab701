/**
 * The common shape of a pipeline as one declaration: a typed source, optionally
 * deduplicated by a key, grouped by a key, aggregated with a monoid into a state store,
 * and published with a Schema, once per changed group per batch (as a Kafka Streams
 * KTable with a record cache). It compiles to a task; anything it cannot say is written
 * with the task API directly.
 */
import type { Schema } from "effect"
import type { Monoid } from "../monoid/Monoids.ts"
import * as Sink from "../output/Sink.ts"
import * as Inputs from "../runtime/Inputs.ts"
import type { Partitioning, TaskDefinition } from "../runtime/Task.ts"
import type { Source } from "../source/Source.ts"
import { DedupeStore, spec as dedupeSpec } from "../store/DedupeStore.ts"
import * as StoreKey from "../store/StoreKey.ts"
import type { StoreSpec } from "../store/StoreSpec.ts"

export interface AggregateOptions<A, S, O> {
  /** Names the task and its stores (`<name>` for the state, `<name>-seen` for dedupe). */
  readonly name: string
  readonly source: Source<A>
  /** Drops a value whose key was seen within the retention (redeliveries, upstream retries). */
  readonly dedupe?: { readonly key: (value: A) => string; readonly retentionMs: number } | undefined
  /** The group a value counts in. With `perPartition` (default) the input must be keyed by it. */
  readonly groupBy: (value: A) => string
  readonly monoid: Monoid<S>
  /** One value's contribution to its group. */
  readonly lift: (value: A) => S
  /** Schema of the group state, for its changelog. */
  readonly state: Schema.Codec<S, any>
  readonly publish: {
    readonly topic: string
    readonly schema: Schema.Codec<O, any>
    readonly render: (group: string, state: S) => O
  }
  readonly partitioning?: Partitioning | undefined
}

/** Events of an aggregate task, for whoever observes it (metrics). */
export type AggregateEvent = "duplicate"

export const aggregate = <A, S, O>(options: AggregateOptions<A, S, O>): TaskDefinition<AggregateEvent> => {
  const state: StoreSpec<string, S> = { name: options.name, key: StoreKey.string, value: options.state }
  const seen = options.dedupe === undefined ? undefined : dedupeSpec(`${options.name}-seen`, StoreKey.string, options.dedupe.retentionMs)
  const sink = Sink.make({ topic: options.publish.topic, schema: options.publish.schema, key: () => null })
  const groupOf = options.groupBy
  return {
    name: options.name,
    topics: [options.source.topic],
    stores: seen === undefined ? [state] : [state, seen],
    partitioning: options.partitioning ?? "perPartition",
    // Retention of the seen-set is enforced a few times per retention period.
    punctuateEveryMs: options.dedupe === undefined ? undefined : Math.max(1_000, Math.floor(options.dedupe.retentionMs / 10)),
    make: (stores) => {
      const groups = stores.get(state)
      const dedupe = seen === undefined ? undefined : new DedupeStore(stores.get(seen))
      return {
        process: Inputs.route<AggregateEvent>([Inputs.input({
          source: options.source,
          element: ({ value }, _record, ctx) => {
            if (dedupe !== undefined && dedupe.seen(options.dedupe!.key(value))) return ctx.event("duplicate")
            const group = groupOf(value)
            const previous = groups.get(group)
            const delta = options.lift(value)
            groups.put(group, previous === undefined ? options.monoid.combine(options.monoid.initialValue, delta) : options.monoid.combine(previous, delta))
          }
        })]),
        endBatch: (ctx) => {
          for (const [group, value] of groups.changed()) {
            if (value !== undefined) ctx.emit({ ...sink.record(options.publish.render(group, value)), key: group })
          }
        },
        punctuate: dedupe === undefined ? undefined : (ctx) => void dedupe.expire(ctx.now)
      }
    }
  }
}
