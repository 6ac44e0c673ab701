/**
 * What a state store is: a name, key and value codecs, the format version of its
 * changelog values, and optional retention. Specs are plain values; the runtime builds
 * one store shard per task from them and restores it from the store's changelog.
 */
import type { Result, Schema } from "effect"
import type { StoreKey } from "./StoreKey.ts"

/** A compact text form of values, used instead of the Schema's JSON form where it is smaller (e.g. original bytes kept unescaped). */
export interface ValueText<V> {
  readonly encode: (value: V) => string
  readonly decode: (text: string) => Result.Result<V, string>
}

/**
 * How the keys of a packed store split into a group and a member within it, and back:
 * `key(groupOf(k), member(k))` must be `k` again (chunks hold only the member, and a
 * group-lived store lists its members and rebuilds their keys from them).
 */
export interface Packing<K> {
  readonly member: (key: K) => string
  readonly key: (group: string, member: string) => K
  /**
   * Keys leave only with their whole group (an index dropped when its entity ends): a
   * single key cannot be deleted, and there is no retention. The changelog then keeps
   * its chunks as long as their group lives (GroupLivedChangelog) and tracks no key's
   * latest chunk: for members written in two events each (seen, then complete), chunks
   * that also hold final records of other members live on anyway, and that per-key
   * bookkeeping was most of a running entity's state. A running group's superseded
   * records stay in the topic until it ends (a restore reads them and keeps the latest).
   * A store that deleted single keys cannot be declared so while its changelog holds such
   * deletions: a restore reports each chunk that holds one and skips it.
   */
  readonly keysLeaveWithGroup?: boolean | undefined
}

export interface StoreSpec<K, V> {
  /** Unique within an application; names the changelog `<APPLICATION_ID>-<changelog ?? name>-changelog`. */
  readonly name: string
  readonly key: StoreKey<K>
  /** Schema of the values; their JSON form (Schema.toCodecJson) is what the changelog holds. */
  readonly value: Schema.Codec<V, any>
  /** Format version written with every value; a value of another version is reported at restore and skipped. */
  readonly version?: number | undefined
  /**
   * Shares one changelog topic between several stores of a task (their keys are then
   * prefixed `<name>|`). Default: the store's own topic.
   */
  readonly changelog?: string | undefined
  /** False for scratch state that lives only within a batch: no changelog, nothing restored. */
  readonly logged?: boolean | undefined
  /**
   * Entries expire `ms` after their last write (`expire` removes them). With
   * `restartOnRestore`, the clock of every restored entry restarts when the store is
   * restored (downtime does not count as inactivity).
   */
  readonly ttl?: { readonly ms: number; readonly restartOnRestore?: boolean | undefined } | undefined
  /** Groups keys (e.g. by the entity they belong to) so a group can be listed or dropped at once. */
  readonly groupOf?: ((key: K) => string) | undefined
  /**
   * Compares each value flushed with the last one written (or restored) for its key and
   * writes nothing when the text is the same: for large values put often but seldom
   * changed (snapshots). Costs the last text per key in memory.
   */
  readonly writeOnChange?: boolean | undefined
  /** Values in the changelog in this text form instead of the Schema's JSON form (the Schema still reads older records). */
  readonly text?: ValueText<V> | undefined
  /**
   * With `groupOf`: the changes of one group are written as one changelog record per
   * flush (a chunk of members) instead of one per key, and a chunk is deleted once newer
   * chunks have superseded all of it. For many small per-entity entries (see PackedChangelog).
   */
  readonly packed?: Packing<K> | undefined
  /**
   * With `packed` and without `ttl`: the values are integers from 0 to 2^31-1 (flags,
   * counts), and the store keeps its keys and values in typed arrays outside the JS heap
   * (TextIntTable) instead of a Map. For stores of a million small entries, whose heap
   * strings and map entries the garbage collector would reserve several times over.
   * Putting any other value throws (the record is dead-lettered); give the value Schema
   * the same range so that a restore reports such a value instead.
   */
  readonly offHeap?: boolean | undefined
}

export const changelogTopic = (applicationId: string, spec: StoreSpec<any, any>): string =>
  `${applicationId}-${spec.changelog ?? spec.name}-changelog`
