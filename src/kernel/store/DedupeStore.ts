/**
 * A seen-set with retention: remembers keys (e.g. message ids) for `retentionMs` after
 * they were first seen, so a redelivered or duplicated record is recognised. It is a
 * key-value store of first-seen times, so it is restored and rolled back like any store.
 */
import { Schema } from "effect"
import { KeyValueStore } from "./KeyValueStore.ts"
import type { StoreKey } from "./StoreKey.ts"
import type { StoreSpec } from "./StoreSpec.ts"

export const spec = <K>(name: string, key: StoreKey<K>, retentionMs: number): StoreSpec<K, number> => ({
  name,
  key,
  value: Schema.Number,
  ttl: { ms: retentionMs }
})

export class DedupeStore<K> {
  constructor(readonly store: KeyValueStore<K, number>) {}

  /** True if `key` was seen within the retention; otherwise remembers it and says false. */
  seen(key: K): boolean {
    if (this.store.has(key)) return true
    this.store.put(key, this.store.now)
    return false
  }

  /** Forgets keys older than the retention. */
  expire(now: number): number {
    return this.store.expire(now).length
  }

  get size(): number {
    return this.store.size
  }
}
