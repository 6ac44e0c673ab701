/**
 * Two-sided join per key in session windows: a left and a right value with the same key
 * join when their record timestamps are at most `gapMs` apart. A side still alone when
 * its window closes (`gapMs` after its key's last record, on the service clock) comes
 * back as unmatched, so nothing waits forever.
 *
 * Buffers live in a Map kept in order of last activity (touching a key re-inserts it),
 * so closing windows only looks at the oldest entries.
 */
export type Side = "left" | "right"

export interface Pending<V> {
  readonly value: V
  readonly recordTimestamp: number
}

interface Entry<L, R> {
  readonly group: string
  left: Pending<L> | undefined
  right: Pending<R> | undefined
  lastActivity: number
}

/** A key's buffered sides, as persisted and restored. */
export interface BufferedKey<L, R> {
  readonly group: string
  readonly left: Pending<L> | undefined
  readonly right: Pending<R> | undefined
  readonly lastActivity: number
}

export interface Unmatched<L, R> {
  readonly key: string
  readonly group: string
  readonly side: Side
  readonly pending: Pending<L> | Pending<R>
}

export type OfferResult<L, R> =
  | { readonly _tag: "Buffered"; readonly expired: ReadonlyArray<Unmatched<L, R>> }
  | { readonly _tag: "Joined"; readonly left: L; readonly right: R }

export class SessionJoin<L, R> {
  private readonly entries = new Map<string, Entry<L, R>>()
  private readonly byGroup = new Map<string, Set<string>>()

  constructor(readonly gapMs: number) {}

  get size(): number {
    return this.entries.size
  }

  /**
   * Offers one side. Joins with a buffered other side from the same session; a buffered
   * side from an older session (timestamps further apart than the gap) is returned as
   * unmatched and this value starts a new session. A repeat of the same side is ignored.
   */
  offer(key: string, group: string, side: Side, value: L | R, recordTimestamp: number, now: number): OfferResult<L, R> {
    const entry = this.entries.get(key)
    const pending = { value, recordTimestamp }
    if (entry === undefined) {
      this.insert(key, { group, left: side === "left" ? (pending as Pending<L>) : undefined, right: side === "right" ? (pending as Pending<R>) : undefined, lastActivity: now })
      return { _tag: "Buffered", expired: [] }
    }
    const other = side === "left" ? entry.right : entry.left
    if (other !== undefined && Math.abs(other.recordTimestamp - recordTimestamp) <= this.gapMs) {
      this.remove(key, entry.group)
      return side === "left"
        ? { _tag: "Joined", left: value as L, right: other.value as R }
        : { _tag: "Joined", left: other.value as L, right: value as R }
    }
    const expired: Array<Unmatched<L, R>> = []
    if (other !== undefined) {
      expired.push({ key, group: entry.group, side: side === "left" ? "right" : "left", pending: other })
      if (side === "left") entry.right = undefined
      else entry.left = undefined
    }
    if (side === "left") entry.left ??= pending as Pending<L>
    else entry.right ??= pending as Pending<R>
    entry.lastActivity = now
    this.entries.delete(key)
    this.entries.set(key, entry)
    return { _tag: "Buffered", expired }
  }

  /** Closes every window whose last activity is `gapMs` or more before `now`. */
  expire(now: number): ReadonlyArray<Unmatched<L, R>> {
    const out: Array<Unmatched<L, R>> = []
    for (const [key, entry] of this.entries) {
      if (entry.lastActivity + this.gapMs > now) break
      this.remove(key, entry.group)
      this.pushSides(out, key, entry)
    }
    return out
  }

  /** Releases every buffered side of a group (a finished job) as unmatched. */
  releaseGroup(group: string): ReadonlyArray<Unmatched<L, R>> {
    const keys = this.byGroup.get(group)
    if (keys === undefined) return []
    const out: Array<Unmatched<L, R>> = []
    for (const key of keys) {
      const entry = this.entries.get(key)
      if (entry !== undefined) this.pushSides(out, key, entry)
      this.entries.delete(key)
    }
    this.byGroup.delete(group)
    return out
  }

  /** The sides buffered under `key`, if any. */
  peek(key: string): BufferedKey<L, R> | undefined {
    const entry = this.entries.get(key)
    return entry === undefined ? undefined : { ...entry }
  }

  /** Puts back a buffered key from persisted state; restore in order of last activity. */
  restore(key: string, buffered: BufferedKey<L, R>): void {
    this.insert(key, { ...buffered })
  }

  private pushSides(out: Array<Unmatched<L, R>>, key: string, entry: Entry<L, R>): void {
    if (entry.left !== undefined) out.push({ key, group: entry.group, side: "left", pending: entry.left })
    if (entry.right !== undefined) out.push({ key, group: entry.group, side: "right", pending: entry.right })
  }

  private insert(key: string, entry: Entry<L, R>): void {
    this.entries.set(key, entry)
    let keys = this.byGroup.get(entry.group)
    if (keys === undefined) {
      keys = new Set()
      this.byGroup.set(entry.group, keys)
    }
    keys.add(key)
  }

  private remove(key: string, group: string): void {
    this.entries.delete(key)
    const keys = this.byGroup.get(group)
    if (keys !== undefined) {
      keys.delete(key)
      if (keys.size === 0) this.byGroup.delete(group)
    }
  }
}
