/**
 * What a packed store's changelog does, whichever bookkeeping it keeps: per flush, one
 * record per changed group (a chunk, key `#<seq>:<group>`) holding its changed members,
 * and at restore the chunks applied in sequence order, whatever partition they came
 * from. Two kinds keep it: PackedChangelog, which tombstones a chunk once later chunks
 * have superseded every member it holds, and GroupLivedChangelog, whose chunks live as
 * long as their group (for keys that leave only with their group). This module holds
 * the parts they share: the reading of chunks at restore, and the cutting of a group's
 * entries into chunks.
 */
import { Result } from "effect"
import { chunkKey, decodeChunk, deletedEntry, parseChunkKey, valueEntry, type Member } from "./ChunkFormat.ts"
import type { StoreKey } from "./StoreKey.ts"
import type { Packing, StoreSpec } from "./StoreSpec.ts"
import type { ValueCodec } from "./ValueCodec.ts"

export interface PackedChange<K, V> {
  readonly text: string
  readonly key: K
  /** Current value and its write time; undefined: deleted. */
  readonly slot: { readonly value: V; readonly writtenAt: number } | undefined
}

export interface ChunkEntry {
  readonly key: string
  readonly value: string | null
}

/** Writes (or erases, value undefined) a key at restore. */
export type ApplyRestored<K, V> = (text: string, key: K, value: V | undefined, writtenAt: number) => void

export interface ChunkLog<K, V> {
  /**
   * The records of one flush: tombstones first, then one chunk (or a few, by size) per
   * changed group. `fresh` says whether a key has no record since its group began (it
   * was not in the store at the last flush, or its group was dropped since).
   */
  flush(
    changes: ReadonlyArray<PackedChange<K, V>>,
    groupAlive: (group: string) => boolean,
    fresh: (change: PackedChange<K, V>, group: string) => boolean
  ): ReadonlyArray<ChunkEntry>
  /** The whole group is gone: so is every chunk of it (tombstones to `out`). */
  dropGroup(group: string, out: Array<ChunkEntry>): void
  /** Key texts of the group's keys written by a flush, perhaps repeated, perhaps gone since. */
  membersOf(group: string): Iterable<string>
  /** For a key `membersOf` lists: whether it had a value at the last flush. */
  hasValue(text: string): boolean
  /** Whether a chunk may hold a record of the key (so that deleting it must be written). */
  holds(text: string): boolean
  restore(key: string, value: string | null): Result.Result<void, string>
  rewrite(key: string): void
  legacy(key: string): void
  /**
   * Applies the chunks read at restore in sequence order (`apply`; `exists` tells whether
   * the store holds a key yet); `dirty` marks a key to be written again at the next flush.
   */
  restored(
    apply: ApplyRestored<K, V>,
    dirty: (text: string, key: K) => void,
    legacyKeys: ReadonlyArray<readonly [string, K]>,
    exists: (text: string) => boolean
  ): void
}

/** Chunks stay well below Kafka's default 1 MB message size even at 3 UTF-8 bytes a character. */
const MAX_CHUNK_CHARS = 150_000

const groupChanges = <K, V>(changes: ReadonlyArray<PackedChange<K, V>>, groupOf: (key: K) => string): Map<string, Array<PackedChange<K, V>>> => {
  const byGroup = new Map<string, Array<PackedChange<K, V>>>()
  for (const change of changes) {
    const group = groupOf(change.key)
    let list = byGroup.get(group)
    if (list === undefined) byGroup.set(group, list = [])
    list.push(change)
  }
  return byGroup
}

/** The shared part of both kinds: reading chunks at restore, and writing a group's changes as chunks. */
export abstract class ChunkLogBase<K, V> {
  protected readonly packing: Packing<K>
  protected readonly groupOf: (key: K) => string
  protected readonly timed: boolean
  protected nextSeq = 1
  /** Chunk keys (and keys of per-key records from before packing) to tombstone at the next flush. */
  protected readonly doomed = new Set<string>()
  /** Chunks read at restore, applied in sequence order once every record is read. */
  private readonly pending = new Map<number, { readonly group: string; readonly members: ReadonlyArray<Member<V>> }>()
  protected readonly torn = new Set<number>()

  constructor(spec: StoreSpec<K, V>, protected readonly keyCodec: StoreKey<K>, protected readonly codec: ValueCodec<V>) {
    if (spec.packed === undefined || spec.groupOf === undefined) throw new Error(`store "${spec.name}": packed needs groupOf`)
    this.packing = spec.packed
    this.groupOf = spec.groupOf
    this.timed = spec.ttl !== undefined
  }

  /** Reads one chunk record at restore (applied later, by `restored`). */
  restore(key: string, value: string | null): Result.Result<void, string> {
    const parsed = parseChunkKey(key)
    if (parsed === undefined) return Result.fail(`key ${JSON.stringify(key)} is not a chunk key (#<seq>:<group>)`)
    this.nextSeq = Math.max(this.nextSeq, parsed.seq + 1)
    if (value === null) {
      this.pending.delete(parsed.seq)
      return Result.void
    }
    const members = decodeChunk(value, this.codec, this.timed)
    if (Result.isFailure(members)) return Result.fail(`chunk ${JSON.stringify(key)}: ${members.failure}`)
    const refused = this.refuse(members.success)
    if (refused !== undefined) return Result.fail(`chunk ${JSON.stringify(key)}: ${refused}`)
    this.pending.set(parsed.seq, { group: parsed.group, members: members.success })
    return Result.void
  }

  /** Why members read at restore cannot be applied, if they cannot (a kind's own rule). */
  protected refuse(_members: ReadonlyArray<Member<V>>): string | undefined {
    return undefined
  }

  /** A chunk key of an event whose write was cut short: deleted, its members (if it was applied) written again. */
  rewrite(key: string): void {
    const parsed = parseChunkKey(key)
    if (parsed === undefined) return
    this.nextSeq = Math.max(this.nextSeq, parsed.seq + 1)
    this.torn.add(parsed.seq)
    this.doomed.add(key)
  }

  /** A per-key record from before the store was packed: tombstoned at the next flush (its value moves into a chunk). */
  legacy(key: string): void {
    this.doomed.add(key)
  }

  /** The chunks read at restore in sequence order, each member with its key and key text; forgets them. */
  protected *takePending(): IterableIterator<{ readonly seq: number; readonly group: string; readonly members: ReadonlyArray<{ readonly key: K; readonly text: string; readonly member: Member<V> }> }> {
    for (const seq of [...this.pending.keys()].sort((a, b) => a - b)) {
      const { group, members } = this.pending.get(seq)!
      yield {
        seq,
        group,
        members: members.map((member) => {
          const key = this.packing.key(group, member.member)
          return { key, text: this.keyCodec.encode(key), member }
        })
      }
    }
    this.pending.clear()
  }

  /** The whole group is gone: so is every chunk of it (tombstones to `out`). */
  abstract dropGroup(group: string, out: Array<ChunkEntry>): void

  /**
   * Each changed group's changes as chunks (see `writeChunks`), or, for a group that is
   * gone by now, the tombstones of its chunks.
   */
  protected writeGroups(
    changes: ReadonlyArray<PackedChange<K, V>>,
    groupAlive: (group: string) => boolean,
    written: (change: PackedChange<K, V>) => boolean,
    chunk: (group: string, seq: number, held: ReadonlyArray<PackedChange<K, V>>) => void,
    out: Array<ChunkEntry>
  ): void {
    for (const [group, list] of groupChanges(changes, this.groupOf)) {
      if (groupAlive(group)) this.writeChunks(group, list, written, (seq, held) => chunk(group, seq, held), out)
      else this.dropGroup(group, out)
    }
  }

  /** Tombstones of the chunks doomed since the last flush, into `out`. */
  protected tombstoneDoomed(out: Array<ChunkEntry>): void {
    for (const key of this.doomed) out.push({ key, value: null })
    this.doomed.clear()
  }

  /**
   * Writes a group's changes as chunks, a new one before one would pass the size limit
   * (a single larger entry gets a chunk of its own); `chunk` registers each with the
   * changes it holds (those `written` lets through) and returns nothing.
   */
  private writeChunks(
    group: string,
    changes: ReadonlyArray<PackedChange<K, V>>,
    written: (change: PackedChange<K, V>) => boolean,
    chunk: (seq: number, held: ReadonlyArray<PackedChange<K, V>>) => void,
    out: Array<ChunkEntry>
  ): void {
    let parts: Array<string> = []
    let held: Array<PackedChange<K, V>> = []
    let size = 0
    const emit = () => {
      if (held.length === 0) return
      const seq = this.nextSeq++
      chunk(seq, held)
      out.push({ key: chunkKey(seq, group), value: `${this.codec.version}|${parts.join("")}` })
      parts = []
      held = []
      size = 0
    }
    for (const change of changes) {
      if (!written(change)) continue
      const member = this.packing.member(change.key)
      const entry = change.slot === undefined
        ? deletedEntry(member)
        : valueEntry(member, this.timed ? change.slot.writtenAt : undefined, this.codec.encodePayload(change.slot.value))
      if (size > 0 && size + entry.length > MAX_CHUNK_CHARS) emit()
      parts.push(entry)
      held.push(change)
      size += entry.length
    }
    emit()
  }
}
