/**
 * One shard of a typed key-value store, owned by one task. It is mutable (copying a map
 * of immutable values on every batch would cost more than the work), and everything
 * else follows from who may touch it:
 * - the task's handlers read and write it while they handle a record; every change of
 *   one record is undone if the handler fails part-way (`begin`/`commit`/`rollback`);
 * - the runtime `flush`es it once per batch: one changelog entry per key changed since
 *   the last flush, nothing for a key that was put and deleted in between (write cache);
 *   a packed store writes one entry per changed group instead (PackedChangelog);
 * - readers outside the task (HTTP) get copies, never the live maps.
 */
import { Result } from "effect"
import type { ChunkLog, PackedChange } from "./ChunkLog.ts"
import { GroupLivedChangelog } from "./GroupLivedChangelog.ts"
import { isChunkKey, PackedChangelog } from "./PackedChangelog.ts"
import { TextIntTable } from "./TextIntTable.ts"
import type { StoreKey } from "./StoreKey.ts"
import type { StoreSpec } from "./StoreSpec.ts"
import * as ValueCodec from "./ValueCodec.ts"

/** What a store without compact entries keeps per key. */
interface Slot<K, V> {
  readonly key: K
  readonly value: V
  /** Time of last write; 0 in a store without retention, which never reads it. */
  readonly writtenAt: number
}

/**
 * What the store's map holds per key: a Slot, or in a store of compact entries (see
 * `compact`) the value itself. Read only through `valueIn`, `writtenAtIn` and `keyOf`.
 */
type Stored = unknown

/** A changelog entry: key text and value text, `null` deleting the key. */
export interface ChangelogEntry {
  readonly key: string
  readonly value: string | null
}

/** What the store keeps its entries in: a Map, or for `offHeap` a TextIntTable (the same calls). */
interface Entries {
  readonly size: number
  get(text: string): Stored | undefined
  has(text: string): boolean
  set(text: string, stored: Stored): unknown
  delete(text: string): boolean
  clear(): void
  values(): IterableIterator<Stored>
  [Symbol.iterator](): IterableIterator<[string, Stored]>
}

export class KeyValueStore<K, V> {
  private readonly data: Entries
  /**
   * A grouped store's key texts per group. A packed store keeps only each group's size:
   * its chunks and the keys changed since the last flush list a group's members (see
   * `membersOf`), and a set entry per key was an eighth of a running job's state.
   */
  private readonly groups: Map<string, Set<string>> | undefined
  private readonly groupSizes: Map<string, number> | undefined
  /** Keys changed since the last flush, each with whether it existed at that flush (not a packed store). */
  private readonly dirty = new Map<string, boolean>()
  /**
   * A packed store's keys changed since the last flush, instead of `dirty`: each text with
   * its key (a deleted key has no slot to read it from).
   */
  private readonly dirtyKeys: Map<string, K> | undefined
  private readonly packed: ChunkLog<K, V> | undefined
  /**
   * A store whose keys leave only with their group (`Packing.keysLeaveWithGroup`): the
   * keys first put since the last flush (its changelog lists each key once, when first written).
   */
  private readonly newKeys: Set<string> | undefined
  /** With `writeOnChange`: the text last written or restored per key. */
  private readonly lastWritten: Map<string, string> | undefined
  /** Keys restored from per-key records of a store packed since (moved into chunks at the next flush). */
  private legacyKeys: Array<readonly [string, K]> = []
  /** Whether a record is being handled (its changes can be undone). */
  private recording = false
  /** Each key the record touched with the entry it had before, in order (undone in reverse), and keys it made dirty; reused. */
  private readonly undoTexts: Array<string> = []
  private readonly undoStored: Array<Stored | undefined> = []
  private readonly undoDirty: Array<string> = []
  /** Groups the record dropped first in this batch. */
  private readonly undoDropped: Array<string> = []
  /** A packed store's groups dropped whole since the last flush: the flush tombstones their chunks without a change per key. */
  private readonly droppedGroups: Set<string> | undefined
  private readonly keyCodec: StoreKey<K>
  private readonly unlogged: boolean
  private readonly valueCodec: ValueCodec.ValueCodec<V>
  private readonly timed: boolean
  /**
   * A packed store without retention keeps only the value per entry, no slot: it may
   * hold a million entries of a running entity, where a key tuple and a time per entry
   * were a third of its memory and all of it promoted to the old generation, and an
   * object around the value another seventh. The key is decoded from its text on the
   * paths that need it (listing entries, dropping a group, undoing). Its values must not
   * be `undefined` (that is how a missing key reads).
   */
  private readonly compact: boolean
  /** The task's clock, set by the runtime before each event (for retention). */
  now = 0
  /**
   * The last key encoded and its text: a handler reads and then writes the same key
   * (the same immutable tuple), which then costs one encoding, and one string hash.
   */
  private lastKey: K | undefined
  private lastText = ""

  constructor(readonly spec: StoreSpec<K, V>) {
    this.keyCodec = spec.key
    this.unlogged = spec.logged === false
    this.timed = spec.ttl !== undefined
    this.compact = spec.packed !== undefined && !this.timed
    if (spec.offHeap === true && !this.compact) throw new Error(`store "${spec.name}": offHeap needs packed and no ttl (it holds bare values)`)
    this.data = spec.offHeap === true ? new TextIntTable(spec.name) : new Map()
    this.valueCodec = ValueCodec.make(spec)
    this.groups = spec.groupOf === undefined || spec.packed !== undefined ? undefined : new Map()
    this.groupSizes = spec.groupOf === undefined || spec.packed === undefined ? undefined : new Map()
    const groupLived = spec.packed?.keysLeaveWithGroup === true
    if (groupLived && this.timed) throw new Error(`store "${spec.name}": keysLeaveWithGroup cannot go with ttl (retention deletes single keys)`)
    this.packed = spec.packed === undefined
      ? undefined
      : groupLived
      ? new GroupLivedChangelog(spec, this.keyCodec, this.valueCodec)
      : new PackedChangelog(spec, this.keyCodec, this.valueCodec)
    this.newKeys = groupLived ? new Set() : undefined
    this.dirtyKeys = this.packed === undefined ? undefined : new Map()
    this.droppedGroups = this.packed === undefined ? undefined : new Set()
    this.lastWritten = spec.writeOnChange === true ? new Map() : undefined
  }

  get size(): number {
    return this.data.size
  }

  get(key: K): V | undefined {
    const stored = this.data.get(this.textOf(key))
    return stored === undefined ? undefined : this.valueIn(stored)
  }

  has(key: K): boolean {
    return this.data.has(this.textOf(key))
  }

  put(key: K, value: V): void {
    const text = this.textOf(key)
    const prev = this.data.get(text)
    // Values are immutable: putting the one already there changes nothing (unless retention counts from the write).
    if (prev !== undefined && this.valueIn(prev) === value && !this.timed) return
    if (value === undefined && this.compact) throw new Error(`store "${this.spec.name}": undefined is not a value it can hold`)
    this.touch(text, key, prev)
    this.write(text, this.storedOf(key, value, this.now), prev, key)
  }

  /** Removes the key; true if it was there. */
  delete(key: K): boolean {
    if (this.newKeys !== undefined) throw new Error(`store "${this.spec.name}": its keys leave only with their group (keysLeaveWithGroup)`)
    const text = this.textOf(key)
    const prev = this.data.get(text)
    if (prev === undefined) return false
    this.touch(text, key, prev)
    this.erase(text, key)
    return true
  }

  *entries(): IterableIterator<readonly [K, V]> {
    for (const [text, stored] of this.data) yield [this.keyOf(text, stored), this.valueIn(stored)]
  }

  *values(): IterableIterator<V> {
    for (const stored of this.data.values()) yield this.valueIn(stored)
  }

  /** Entries of one group (see `StoreSpec.groupOf`). */
  *group(group: string): IterableIterator<readonly [K, V]> {
    const seen = new Set<string>()
    for (const text of [...this.membersOf(group)]) {
      const stored = this.data.get(text)
      if (stored === undefined || seen.has(text)) continue
      seen.add(text)
      yield [this.keyOf(text, stored), this.valueIn(stored)]
    }
  }

  /** Deletes every entry of a group and returns them. */
  deleteGroup(group: string): ReadonlyArray<readonly [K, V]> {
    const out: Array<readonly [K, V]> = []
    this.dropGroup(group, (key, value) => void out.push([key, value]))
    return out
  }

  /**
   * Deletes every entry of a group, handing each to `each` (if given) instead of returning
   * a list: a group may hold a million entries (the index of a large job), and a list of
   * them, with a decoded key and, packed, a change per entry, was a passing peak of
   * hundreds of MB when such a group ended. A packed store forgets the group whole: its
   * chunks are tombstoned at the next flush, and its keys are not tracked one by one.
   */
  dropGroup(group: string, each?: (key: K, value: V) => void): void {
    if (this.packed === undefined) {
      const members = this.groups?.get(group)
      if (members === undefined) return
      // The whole group goes: its member set is dropped once, not emptied key by key.
      this.groups!.delete(group)
      for (const text of members) {
        const stored = this.data.get(text)
        if (stored === undefined) continue
        const key = this.keyOf(text, stored)
        this.touch(text, key, stored)
        this.data.delete(text)
        each?.(key, this.valueIn(stored))
      }
      return
    }
    if (!this.groupSizes!.has(group)) return
    this.groupSizes!.delete(group)
    const dropped = this.droppedGroups!
    if (!dropped.has(group)) {
      dropped.add(group)
      if (this.recording) this.undoDropped.push(group)
    }
    // A member may be listed more than once (by several chunks): it is gone after the first.
    for (const text of this.membersOf(group)) {
      const stored = this.data.get(text)
      if (stored === undefined) continue
      this.remember(text, stored)
      this.data.delete(text)
      if (each !== undefined) each(this.keyOf(text, stored), this.valueIn(stored))
    }
  }

  /** Key texts of a group's members, perhaps repeated or already gone (check `data`); packed: from its chunks and its changed keys. */
  private *membersOf(group: string): IterableIterator<string> {
    if (this.packed === undefined) {
      yield* this.groups?.get(group) ?? []
      return
    }
    yield* this.packed.membersOf(group)
    yield* this.changedMembersOf(group)
  }

  /**
   * A packed store's keys of a group changed since the last flush. Scanned with `forEach`:
   * many groups may end in one batch, each scanning every changed key, and iterating the
   * map's entries allocated a pair per key and scan.
   */
  private changedMembersOf(group: string): Array<string> {
    const out: Array<string> = []
    const groupOf = this.spec.groupOf!
    this.dirtyKeys!.forEach((key, text) => {
      if (groupOf(key) === group) out.push(text)
    })
    return out
  }

  /**
   * Removes and returns the entries whose retention has run out at `now`. Entries are
   * kept in order of last write, so this stops at the first one still alive.
   */
  expire(now: number): ReadonlyArray<readonly [K, V]> {
    const ttl = this.spec.ttl?.ms
    if (ttl === undefined) return []
    const out: Array<readonly [K, V]> = []
    for (const [text, stored] of this.data) {
      if (this.writtenAtIn(stored) + ttl > now) break
      const key = this.keyOf(text, stored)
      this.touch(text, key, stored)
      this.erase(text, key)
      out.push([key, this.valueIn(stored)])
    }
    return out
  }

  // ---- used by the runtime ------------------------------------------------

  /** Starts recording the changes of one record. */
  begin(): void {
    this.recording = true
  }

  commit(): void {
    this.recording = false
    if (this.undoTexts.length > 0) {
      this.undoTexts.length = 0
      this.undoStored.length = 0
    }
    if (this.undoDirty.length > 0) this.undoDirty.length = 0
    if (this.undoDropped.length > 0) this.undoDropped.length = 0
  }

  /** Puts back every key the record touched, as it was before the record. */
  rollback(): void {
    const touched = this.undoTexts.length
    for (let i = touched - 1; i >= 0; i--) {
      const stored = this.undoStored[i]
      if (stored === undefined) this.erase(this.undoTexts[i]!)
      else this.write(this.undoTexts[i]!, stored)
    }
    const dirty = this.dirtyKeys ?? this.dirty
    for (const text of this.undoDirty) {
      dirty.delete(text)
      this.newKeys?.delete(text)
    }
    for (const group of this.undoDropped) this.droppedGroups!.delete(group)
    this.commit()
    // Re-inserted slots moved to the end; retention needs order of last write back.
    if (touched > 0 && this.spec.ttl !== undefined) this.reorderByWriteTime()
  }

  /** Changelog entries for every key changed since the last flush (one per key), then forgets them. */
  flush(): ReadonlyArray<ChangelogEntry> {
    if (this.packed !== undefined) return this.flushPacked(this.packed)
    const out: Array<ChangelogEntry> = []
    if (this.spec.logged !== false) {
      this.dirty.forEach((existedBefore, text) => {
        const stored = this.data.get(text)
        if (stored !== undefined) {
          const value = this.valueCodec.encode(this.valueIn(stored), this.writtenAtIn(stored))
          if (this.lastWritten !== undefined) {
            if (this.lastWritten.get(text) === value) return
            this.lastWritten.set(text, value)
          }
          out.push({ key: text, value })
        } else if (existedBefore) {
          this.lastWritten?.delete(text)
          out.push({ key: text, value: null })
        }
      })
    }
    this.dirty.clear()
    return out
  }

  private flushPacked(packed: ChunkLog<K, V>): ReadonlyArray<ChangelogEntry> {
    // Dropped groups first: their keys are then held by no chunk, and a key of theirs changed earlier in the batch writes nothing.
    const tombstones: Array<ChangelogEntry> = []
    for (const group of this.droppedGroups!) packed.dropGroup(group, tombstones)
    // A group dropped and begun again in this batch: each of its keys is new to the changelog.
    const begunAgain = this.newKeys === undefined || this.droppedGroups!.size === 0 ? undefined : new Set(this.droppedGroups)
    this.droppedGroups!.clear()
    const changes: Array<PackedChange<K, V>> = []
    this.dirtyKeys!.forEach((key, text) => {
      const stored = this.data.get(text)
      // A key put and deleted again since the last flush, of which no chunk holds a record: nothing to write.
      if (stored === undefined && !packed.holds(text)) return
      changes.push({ text, key, slot: stored === undefined ? undefined : { value: this.valueIn(stored), writtenAt: this.writtenAtIn(stored) } })
    })
    this.dirtyKeys!.clear()
    const newKeys = this.newKeys
    const chunks = packed.flush(
      changes,
      (group) => this.groupSizes!.has(group),
      (change, group) => newKeys !== undefined && (newKeys.has(change.text) || begunAgain?.has(group) === true)
    )
    newKeys?.clear()
    return tombstones.length === 0 ? chunks : [...tombstones, ...chunks]
  }

  /** Keys changed since the last flush, with their current value (undefined: deleted); a scratch (unlogged) store tracks none. */
  *changed(): IterableIterator<readonly [K, V | undefined]> {
    const dirty = this.dirtyKeys ?? this.dirty
    for (const text of dirty.keys()) yield* this.current(text)
    if (this.droppedGroups === undefined) return
    const listed = new Set<string>()
    for (const group of this.droppedGroups) {
      // A key changed since the flush is listed above; of the others, those that lived at the flush went with the group.
      for (const text of this.packed!.membersOf(group)) {
        if (dirty.has(text) || listed.has(text) || !this.packed!.hasValue(text)) continue
        listed.add(text)
        yield* this.current(text)
      }
    }
  }

  private *current(text: string): IterableIterator<readonly [K, V | undefined]> {
    const stored = this.data.get(text)
    if (stored !== undefined) yield [this.keyOf(text, stored), this.valueIn(stored)]
    else {
      const key = this.keyCodec.decode(text)
      if (key._tag === "Success") yield [key.success, undefined]
    }
  }

  /** Applies one changelog entry at restore; a key or value that does not decode is reported, not applied. */
  restore(entry: ChangelogEntry): Result.Result<void, string> {
    if (this.packed !== undefined && isChunkKey(entry.key)) return this.packed.restore(entry.key, entry.value)
    const key = this.keyCodec.decode(entry.key)
    if (entry.value === null) {
      // A key written in another (older) text form lives under its current text.
      const text = Result.isSuccess(key) ? this.keyCodec.encode(key.success) : entry.key
      this.erase(text)
      this.lastWritten?.delete(text)
      return Result.void
    }
    if (Result.isFailure(key)) return Result.fail(`key ${JSON.stringify(entry.key)}: ${key.failure}`)
    const value = this.valueCodec.decode(entry.value)
    if (Result.isFailure(value)) return Result.fail(`value of key ${JSON.stringify(entry.key)}: ${value.failure}`)
    const text = this.keyCodec.encode(key.success)
    this.erase(text)
    this.write(text, this.storedOf(key.success, value.success.value, value.success.writtenAt), undefined, key.success)
    this.lastWritten?.set(text, entry.value)
    if (this.packed !== undefined) {
      this.packed.legacy(entry.key)
      this.legacyKeys.push([text, key.success])
    }
    return Result.void
  }

  /** After restore: entries in order of last write; with `restartOnRestore`, their clocks restart at `now`. */
  restored(now: number): void {
    if (this.packed !== undefined) {
      const legacy = this.legacyKeys.filter(([text]) => this.data.has(text))
      this.legacyKeys = []
      this.packed.restored(
        (text, key, value, writtenAt) => {
          // A key already there keeps the text it has (its first record's), not one more per record.
          if (value === undefined) this.erase(text, key)
          else this.write(text, this.storedOf(key, value, writtenAt), this.data.get(text), key)
        },
        (text, key) => this.markDirty(text, key),
        legacy,
        (text) => this.data.has(text)
      )
    }
    if (this.spec.ttl === undefined) return
    if (this.spec.ttl.restartOnRestore === true) {
      // A store with retention keeps slots (never compact).
      for (const [text, stored] of this.data) {
        const slot = stored as Slot<K, V>
        if (slot.writtenAt < now) this.data.set(text, { ...slot, writtenAt: now })
      }
    }
    this.reorderByWriteTime()
  }

  /**
   * Writes the key's current value (or a tombstone) at the next flush, whatever it was:
   * after restore, this supersedes records of an event whose write was cut short.
   */
  rewrite(text: string): void {
    if (this.packed !== undefined) {
      if (isChunkKey(text)) return this.packed.rewrite(text)
      // A per-key record from before packing: its key is tombstoned, its value (if any) moves into a chunk.
      this.packed.legacy(text)
      const key = this.keyCodec.decode(text)
      if (Result.isSuccess(key)) this.markDirty(this.keyCodec.encode(key.success), key.success)
      return
    }
    this.lastWritten?.delete(text)
    this.dirty.set(text, true)
  }

  // ---- internals -----------------------------------------------------------

  private textOf(key: K): string {
    if (key !== this.lastKey || this.lastKey === undefined) {
      this.lastText = this.keyCodec.encode(key)
      this.lastKey = key
    }
    return this.lastText
  }

  /** Before a change of `text`, whose entry is `prev`: remembered to undo it, and dirty. */
  private touch(text: string, key: K, prev: Stored | undefined): void {
    this.remember(text, prev)
    // Scratch state writes no changelog: nothing to remember for the flush.
    if (this.unlogged) return
    const dirtyKeys = this.dirtyKeys
    if (dirtyKeys !== undefined) {
      if (!dirtyKeys.has(text)) {
        dirtyKeys.set(text, key)
        // Not there at the last flush (a key leaves only with its group): new to the changelog.
        if (prev === undefined) this.newKeys?.add(text)
        if (this.recording) this.undoDirty.push(text)
      }
    } else if (!this.dirty.has(text)) {
      this.dirty.set(text, prev !== undefined)
      if (this.recording) this.undoDirty.push(text)
    }
  }

  /** Before a change of `text`, whose entry is `prev`: remembered to undo it (while a record is handled). */
  private remember(text: string, prev: Stored | undefined): void {
    if (this.recording) {
      this.undoTexts.push(text)
      this.undoStored.push(prev)
    }
  }

  private markDirty(text: string, key: K): void {
    // A key not in the store (a torn per-key record's): if a later put brings it in, it is new to the changelog.
    if (this.newKeys !== undefined && !this.data.has(text)) this.newKeys.add(text)
    if (this.dirtyKeys !== undefined) this.dirtyKeys.set(text, key)
    else this.dirty.set(text, this.data.has(text))
  }

  /** What the map keeps for a value: the value itself (compact) or a slot. */
  private storedOf(key: K, value: V, writtenAt: number): Stored {
    if (this.compact) return value
    const slot: Slot<K, V> = { key, value, writtenAt: this.timed ? writtenAt : 0 }
    return slot
  }

  private valueIn(stored: Stored): V {
    return this.compact ? stored as V : (stored as Slot<K, V>).value
  }

  private writtenAtIn(stored: Stored): number {
    return this.compact ? 0 : (stored as Slot<K, V>).writtenAt
  }

  /** The key of an entry: kept in its slot, or (compact entries) decoded from its text. */
  private keyOf(text: string, stored: Stored): K {
    if (!this.compact) return (stored as Slot<K, V>).key
    const key = this.keyCodec.decode(text)
    // Texts of compact entries are always the codec's own encoding of a key.
    if (Result.isFailure(key)) throw new Error(`store "${this.spec.name}": key text ${JSON.stringify(text)} does not decode: ${key.failure}`)
    return key.success
  }

  private write(text: string, stored: Stored, prev = this.data.get(text), key?: K): void {
    if (prev !== undefined) {
      // With retention, a write moves the key to the end (order of last write).
      if (this.timed) this.data.delete(text)
      this.data.set(text, stored)
      return
    }
    this.data.set(text, stored)
    if (this.spec.groupOf === undefined) return
    const group = this.spec.groupOf(key ?? this.keyOf(text, stored))
    if (this.groupSizes !== undefined) {
      this.groupSizes.set(group, (this.groupSizes.get(group) ?? 0) + 1)
      return
    }
    let members = this.groups!.get(group)
    if (members === undefined) this.groups!.set(group, members = new Set())
    members.add(text)
  }

  private erase(text: string, key?: K): void {
    const stored = this.data.get(text)
    if (stored === undefined) return
    this.data.delete(text)
    if (this.spec.groupOf === undefined) return
    const group = this.spec.groupOf(key ?? this.keyOf(text, stored))
    if (this.groupSizes !== undefined) {
      const size = (this.groupSizes.get(group) ?? 1) - 1
      if (size > 0) this.groupSizes.set(group, size)
      else this.groupSizes.delete(group)
    } else {
      const members = this.groups!.get(group)
      members?.delete(text)
      if (members?.size === 0) this.groups!.delete(group)
    }
  }

  private reorderByWriteTime(): void {
    const slots = [...this.data].sort(([, a], [, b]) => this.writtenAtIn(a) - this.writtenAtIn(b))
    this.data.clear()
    for (const [text, slot] of slots) this.data.set(text, slot)
  }
}
