/**
 * Two-sided join per key in session windows: a left and a right value with the same key
 * join when their record timestamps are at most `gapMs` apart. A side still alone when
 * its window closes (`gapMs` after its key's last record, on the task's clock) comes
 * back as unmatched, so nothing waits forever.
 *
 * The waiting sides live in a state store whose retention is the gap: the store keeps
 * keys in order of last write, restores them with the task, and undoes a failed
 * record's changes like any other state.
 */
import { Result, Schema } from "effect"
import type { KeyValueStore } from "../store/KeyValueStore.ts"
import type { StoreKey } from "../store/StoreKey.ts"
import type { Packing, StoreSpec, ValueText } from "../store/StoreSpec.ts"
import { readNumberField } from "../store/ValueCodec.ts"

export type Side = "left" | "right"

export interface Pending<V> {
  readonly value: V
  readonly recordTimestamp: number
}

/** What waits under one key. */
export interface Buffered<L, R> {
  readonly left: Pending<L> | undefined
  readonly right: Pending<R> | undefined
}

export interface Unmatched<K, L, R> {
  readonly key: K
  readonly side: Side
  readonly pending: Pending<L> | Pending<R>
}

export type OfferResult<K, L, R> =
  | { readonly _tag: "Buffered"; readonly expired: ReadonlyArray<Unmatched<K, L, R>> }
  | { readonly _tag: "Joined"; readonly left: L; readonly right: R }

export interface JoinStoreOptions<K, L, R> {
  readonly name: string
  readonly key: StoreKey<K>
  readonly left: Schema.Codec<L, any>
  readonly right: Schema.Codec<R, any>
  readonly gapMs: number
  readonly changelog?: string | undefined
  readonly groupOf?: ((key: K) => string) | undefined
  /** Compact text forms of the sides; with both, the changelog holds them instead of the Schemas' JSON. */
  readonly leftText?: ValueText<L> | undefined
  readonly rightText?: ValueText<R> | undefined
  readonly packed?: Packing<K> | undefined
  /** Format version of the changelog values. */
  readonly version?: number | undefined
}

const pending = <V>(value: Schema.Codec<V, any>) => Schema.UndefinedOr(Schema.Struct({ value, recordTimestamp: Schema.Number }))

/**
 * The join's store. Windows restart when the store is restored: the partner of a waiting
 * side may still be unread in the backlog, and downtime is not inactivity.
 */
export const spec = <K, L, R>(options: JoinStoreOptions<K, L, R>): StoreSpec<K, Buffered<L, R>> => ({
  name: options.name,
  key: options.key,
  value: Schema.Struct({ left: pending(options.left), right: pending(options.right) }) as unknown as Schema.Codec<Buffered<L, R>, any>,
  changelog: options.changelog,
  ttl: { ms: options.gapMs, restartOnRestore: true },
  groupOf: options.groupOf,
  packed: options.packed,
  version: options.version,
  text: options.leftText !== undefined && options.rightText !== undefined ? bufferedText(options.leftText, options.rightText) : undefined
})

/** Each waiting side as `L|R<record timestamp>:<length>:<text>`. */
const bufferedText = <L, R>(left: ValueText<L>, right: ValueText<R>): ValueText<Buffered<L, R>> => {
  const side = (tag: string, p: Pending<unknown> | undefined, text: (v: any) => string) => {
    if (p === undefined) return ""
    const t = text(p.value)
    return `${tag}${p.recordTimestamp}:${t.length}:${t}`
  }
  const read = <V>(raw: string, at: number, decode: ValueText<V>["decode"]): Result.Result<{ readonly pending: Pending<V>; readonly next: number }, string> => {
    const ts = readNumberField(raw, at + 1, ":")
    const len = ts === undefined ? undefined : readNumberField(raw, ts.next, ":")
    if (ts === undefined || len === undefined || len.next + len.n > raw.length) return Result.fail(`malformed join side at ${at}`)
    return Result.map(decode(raw.slice(len.next, len.next + len.n)), (value) => ({
      pending: { value, recordTimestamp: ts.n },
      next: len.next + len.n
    }))
  }
  return {
    encode: (b) => side("L", b.left, left.encode) + side("R", b.right, right.encode),
    decode: (raw) => {
      let l: Pending<L> | undefined
      let r: Pending<R> | undefined
      let at = 0
      while (at < raw.length) {
        const tag = raw[at]
        if (tag !== "L" && tag !== "R") return Result.fail(`expected a join side (L or R) at ${at}`)
        const got: Result.Result<{ readonly pending: Pending<unknown>; readonly next: number }, string> = read<unknown>(raw, at, tag === "L" ? left.decode : right.decode)
        if (Result.isFailure(got)) return Result.fail(got.failure)
        if (tag === "L") l = got.success.pending as Pending<L>
        else r = got.success.pending as Pending<R>
        at = got.success.next
      }
      return Result.succeed({ left: l, right: r })
    }
  }
}

export class SessionJoin<K, L, R> {
  readonly gapMs: number

  constructor(private readonly store: KeyValueStore<K, Buffered<L, R>>) {
    this.gapMs = store.spec.ttl!.ms
  }

  get size(): number {
    return this.store.size
  }

  /**
   * Offers one side. Joins with a buffered other side from the same session; a buffered
   * side from an older session (timestamps further apart than the gap) is returned as
   * unmatched and this value starts a new session. A repeat of the same side is ignored
   * (but keeps the window open).
   */
  offer(key: K, side: Side, value: L | R, recordTimestamp: number): OfferResult<K, L, R> {
    const entry = this.store.get(key)
    const mine = { value, recordTimestamp }
    const other = entry === undefined ? undefined : side === "left" ? entry.right : entry.left
    if (other !== undefined && Math.abs(other.recordTimestamp - recordTimestamp) <= this.gapMs) {
      this.store.delete(key)
      return side === "left"
        ? { _tag: "Joined", left: value as L, right: other.value as R }
        : { _tag: "Joined", left: other.value as L, right: value as R }
    }
    const expired: Array<Unmatched<K, L, R>> = []
    if (other !== undefined) expired.push({ key, side: side === "left" ? "right" : "left", pending: other })
    const left = side === "left" ? entry?.left ?? (mine as Pending<L>) : undefined
    const right = side === "right" ? entry?.right ?? (mine as Pending<R>) : undefined
    this.store.put(key, { left, right })
    return { _tag: "Buffered", expired }
  }

  /** Closes every window whose last activity is `gapMs` or more before `now`. */
  expire(now: number): ReadonlyArray<Unmatched<K, L, R>> {
    return this.store.expire(now).flatMap(([key, entry]) => sides(key, entry))
  }

  /** Releases every buffered side of a group (e.g. a finished job) as unmatched. */
  releaseGroup(group: string): ReadonlyArray<Unmatched<K, L, R>> {
    return this.store.deleteGroup(group).flatMap(([key, entry]) => sides(key, entry))
  }
}

const sides = <K, L, R>(key: K, entry: Buffered<L, R>): Array<Unmatched<K, L, R>> => {
  const out: Array<Unmatched<K, L, R>> = []
  if (entry.left !== undefined) out.push({ key, side: "left", pending: entry.left })
  if (entry.right !== undefined) out.push({ key, side: "right", pending: entry.right })
  return out
}
