/**
 * The changelog of a packed store: per flush, one record per changed group (a chunk,
 * key `#<seq>:<group>`) holding its changed members, instead of one record per key. A
 * chunk is tombstoned once later chunks have superseded every member it holds, or when
 * its group is gone; restore applies chunks in sequence order, whatever partition they
 * came from. Many small per-entity entries then cost a few records per batch, not one
 * per entry plus a tombstone per entry when the entity ends.
 */
import { Result } from "effect"
import { chunkKey, decodeChunk, deletedEntry, parseChunkKey, valueEntry, type Member } from "./ChunkFormat.ts"
import type { StoreKey } from "./StoreKey.ts"
import type { Packing, StoreSpec } from "./StoreSpec.ts"
import type { ValueCodec } from "./ValueCodec.ts"

export { isChunkKey } from "./ChunkFormat.ts"

/** Chunks stay well below Kafka's default 1 MB message size even at 3 UTF-8 bytes a character. */
const MAX_CHUNK_CHARS = 150_000

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

interface Chunk {
  readonly group: string
  /** Keys with a record in this chunk; not kept when stale copies are not counted (`groupKeys` lists the keys). */
  readonly keys: Array<string> | undefined
  /** How many of them have their latest record here. */
  live: number
}

export class PackedChangelog<K, V> {
  private readonly packing: Packing<K>
  private readonly groupOf: (key: K) => string
  private readonly timed: boolean
  /** Whether stale copies are counted (see `Packing.keysLeaveWithGroup`); if not, every key may have some. */
  private readonly countsStale: boolean
  /**
   * Without stale counts: each group's keys, a key once from its first record on (perhaps
   * again after a restore), instead of each chunk's keys, which listed a key once per
   * record. A key keeps the text it was first written with, as the store's map does:
   * the text of each later write of it is not kept.
   */
  private readonly groupKeys: Map<string, Array<string>> | undefined
  private nextSeq = 1
  /** Key text -> chunk of its latest record: `seq` for a value, `-seq` for a deletion (which hides older records). */
  private readonly latest = new Map<string, number>()
  /**
   * Key text -> how many live chunks hold a stale record of it (one a later record hides,
   * or any record once `latest` no longer names it). A key's copies are these and its
   * latest record. Most keys have none: a chunk goes once each of its keys is written
   * again, so only keys written since their previous chunk went have an entry here (a
   * count per key was a sixth of a running job's state).
   */
  private readonly stale = new Map<string, number>()
  private readonly chunks = new Map<number, Chunk>()
  private readonly groupChunks = new Map<string, Set<number>>()
  /** Chunk keys (and keys of per-key records from before packing) to tombstone at the next flush. */
  private readonly doomed = new Set<string>()
  /** Chunks read at restore, applied in sequence order once every record is read. */
  private readonly pending = new Map<number, { readonly group: string; readonly members: ReadonlyArray<Member<V>> }>()
  private readonly torn = new Set<number>()

  constructor(spec: StoreSpec<K, V>, private readonly keyCodec: StoreKey<K>, private readonly codec: ValueCodec<V>) {
    if (spec.packed === undefined || spec.groupOf === undefined) throw new Error(`store "${spec.name}": packed needs groupOf`)
    this.packing = spec.packed
    this.groupOf = spec.groupOf
    this.timed = spec.ttl !== undefined
    this.countsStale = spec.packed.keysLeaveWithGroup !== true
    this.groupKeys = this.countsStale ? undefined : new Map()
  }

  /** The chunks for one flush: tombstones of chunks nothing needs any more, then one new chunk (or a few, by size) per changed group. */
  flush(changes: ReadonlyArray<PackedChange<K, V>>, groupAlive: (group: string) => boolean): ReadonlyArray<ChunkEntry> {
    const out: Array<ChunkEntry> = []
    for (const key of this.doomed) out.push({ key, value: null })
    this.doomed.clear()
    const emptied: Array<number> = []
    for (const change of changes) {
      const prev = this.latest.get(change.text)
      if (prev === undefined) continue
      // Uncounted, every change is written (a deletion too): `hold` moves its latest in place.
      if (this.countsStale) {
        this.latest.delete(change.text)
        this.addStale(change.text, 1)
      }
      if (this.release(Math.abs(prev))) emptied.push(Math.abs(prev))
    }
    this.collect(emptied, out)
    const byGroup = new Map<string, Array<PackedChange<K, V>>>()
    for (const change of changes) {
      const group = this.groupOf(change.key)
      let list = byGroup.get(group)
      if (list === undefined) byGroup.set(group, list = [])
      list.push(change)
    }
    for (const [group, list] of byGroup) {
      if (!groupAlive(group)) {
        this.dropGroup(group, out)
        continue
      }
      let parts: Array<string> = []
      // The key texts of the chunk's entries, and for each whether it is a value (1) or a deletion (-1).
      let texts: Array<string> = []
      let signs: Array<number> = []
      let size = 0
      const emit = () => {
        if (texts.length === 0) return
        const seq = this.nextSeq++
        const chunk = this.register(seq, group)
        for (let i = 0; i < texts.length; i++) this.hold(texts[i]!, signs[i]! * seq, chunk)
        out.push({ key: chunkKey(seq, group), value: `${this.codec.version}|${parts.join("")}` })
        parts = []
        texts = []
        signs = []
        size = 0
      }
      for (const change of list) {
        const member = this.packing.member(change.key)
        // A deletion is written only while a live chunk still holds a record of the key.
        if (change.slot === undefined && !this.mayHaveStale(change.text)) continue
        const entry = change.slot === undefined
          ? deletedEntry(member)
          : valueEntry(member, this.timed ? change.slot.writtenAt : undefined, this.codec.encodePayload(change.slot.value))
        // A chunk is closed before it would pass the limit (a single larger entry gets a chunk of its own).
        if (size > 0 && size + entry.length > MAX_CHUNK_CHARS) emit()
        parts.push(entry)
        texts.push(change.text)
        signs.push(change.slot === undefined ? -1 : 1)
        size += entry.length
      }
      emit()
    }
    return out
  }

  /** The whole group is gone: so is every chunk of it, deletions included (tombstones to `out`). */
  dropGroup(group: string, out: Array<ChunkEntry>): void {
    for (const text of this.groupKeys?.get(group) ?? []) this.latest.delete(text)
    this.groupKeys?.delete(group)
    for (const seq of [...(this.groupChunks.get(group) ?? [])]) {
      for (const text of this.chunks.get(seq)!.keys ?? []) {
        this.latest.delete(text)
        this.stale.delete(text)
      }
      out.push({ key: this.drop(seq), value: null })
    }
  }

  /**
   * Key texts with a record in a chunk of the group, a key once per chunk that holds it:
   * every key of the group written by a flush has its latest value in one of them.
   */
  *membersOf(group: string): IterableIterator<string> {
    if (this.groupKeys !== undefined) {
      yield* this.groupKeys.get(group) ?? []
      return
    }
    for (const seq of this.groupChunks.get(group) ?? []) yield* this.chunks.get(seq)!.keys!
  }

  /** Whether the key's latest record is a value (it lived at the last flush). */
  hasValue(text: string): boolean {
    return (this.latest.get(text) ?? 0) > 0
  }

  /** Whether a chunk may hold a record of the key (so that deleting it must be written). */
  holds(text: string): boolean {
    return this.latest.has(text) || this.mayHaveStale(text)
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
    this.pending.set(parsed.seq, { group: parsed.group, members: members.success })
    return Result.void
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

  /**
   * Applies the chunks read at restore in sequence order. `apply` writes (or erases) a key;
   * `dirty` marks a key to be written again at the next flush.
   */
  restored(
    apply: (text: string, key: K, value: V | undefined, writtenAt: number) => void,
    dirty: (text: string, key: K) => void,
    legacyKeys: ReadonlyArray<readonly [string, K]>
  ): void {
    const keyOf = new Map<string, K>()
    for (const seq of [...this.pending.keys()].sort((a, b) => a - b)) {
      const { group, members } = this.pending.get(seq)!
      this.register(seq, group)
      for (const m of members) {
        const key = this.packing.key(group, m.member)
        const text = this.keyCodec.encode(key)
        const prev = this.latest.get(text)
        if (prev !== undefined) this.release(Math.abs(prev))
        apply(text, key, m.value, m.writtenAt)
        this.hold(text, m.value === undefined ? -seq : seq)
        if (this.torn.has(seq)) keyOf.set(text, key)
      }
    }
    this.pending.clear()
    // A torn chunk may be gone from the topic: whatever it held latest is written again.
    for (const seq of this.torn) {
      const chunk = this.chunks.get(seq)
      if (chunk === undefined) continue
      for (const text of chunk.keys ?? this.groupKeys!.get(chunk.group) ?? []) {
        if (Math.abs(this.latest.get(text) ?? 0) !== seq) continue
        this.latest.delete(text)
        this.addStale(text, 1)
        dirty(text, keyOf.get(text)!)
      }
      chunk.live = 0
    }
    this.torn.clear()
    for (const [text, key] of legacyKeys) dirty(text, key)
    const sink: Array<ChunkEntry> = []
    const hiding: Array<number> = []
    // Deletions that are their key's only record left hide nothing.
    for (const [text, seq] of this.latest) {
      if (seq < 0 && !this.mayHaveStale(text)) {
        this.latest.delete(text)
        this.addStale(text, 1)
        if (this.release(-seq)) hiding.push(-seq)
      }
    }
    this.collect([...[...this.chunks].filter(([, c]) => c.live === 0).map(([seq]) => seq), ...hiding], sink)
    for (const e of sink) this.doomed.add(e.key)
  }

  // ---- internals -----------------------------------------------------------

  /**
   * Tombstones chunks that hold no latest record, and then deletions that no longer hide
   * anything (their key's older records went with those chunks), and so on.
   */
  private collect(candidates: ReadonlyArray<number>, out: Array<ChunkEntry>): void {
    const work = [...candidates]
    while (work.length > 0) {
      const seq = work.pop()!
      const chunk = this.chunks.get(seq)
      if (chunk === undefined || chunk.live > 0) continue
      out.push({ key: this.drop(seq), value: null })
      // Uncounted, a chunk that goes changes nothing per key (a deletion is kept until its group goes).
      for (const text of chunk.keys ?? []) {
        // No key has its latest record in a chunk that goes: each record in it is stale.
        this.addStale(text, -1)
        const last = this.latest.get(text)
        if (last !== undefined && last < 0 && !this.mayHaveStale(text) && this.chunks.has(-last)) {
          // Only the deletion itself is left: it hides nothing any more (but is still there, stale).
          this.latest.delete(text)
          this.addStale(text, 1)
          if (this.release(-last)) work.push(-last)
        }
      }
    }
  }

  private register(seq: number, group: string): Chunk {
    const chunk: Chunk = { group, keys: this.countsStale ? [] : undefined, live: 0 }
    this.chunks.set(seq, chunk)
    let set = this.groupChunks.get(group)
    if (set === undefined) this.groupChunks.set(group, set = new Set())
    set.add(seq)
    return chunk
  }

  /** A key's latest record is now in chunk `|signed|` (negative: a deletion); the one it had before, if any, is stale. */
  private hold(text: string, signed: number, chunk = this.chunks.get(Math.abs(signed))!): void {
    if (chunk.keys !== undefined) {
      if (this.latest.has(text)) this.addStale(text, 1)
      chunk.keys.push(text)
    } else if (!this.latest.has(text)) {
      let keys = this.groupKeys!.get(chunk.group)
      if (keys === undefined) this.groupKeys!.set(chunk.group, keys = [])
      keys.push(text)
    }
    this.latest.set(text, signed)
    chunk.live++
  }

  /** Whether a live chunk may hold a record of the key other than its latest. */
  private mayHaveStale(text: string): boolean {
    return !this.countsStale || this.stale.has(text)
  }

  private addStale(text: string, delta: number): void {
    if (!this.countsStale) return
    const n = (this.stale.get(text) ?? 0) + delta
    if (n > 0) this.stale.set(text, n)
    else this.stale.delete(text)
  }

  /** One latest record of the chunk is superseded; true if none is left. */
  private release(seq: number): boolean {
    const chunk = this.chunks.get(seq)
    if (chunk === undefined) return false
    chunk.live--
    return chunk.live === 0
  }

  /** Forgets a chunk and returns its key (to tombstone it). */
  private drop(seq: number): string {
    const group = this.chunks.get(seq)!.group
    this.chunks.delete(seq)
    const set = this.groupChunks.get(group)
    set?.delete(seq)
    if (set?.size === 0) this.groupChunks.delete(group)
    return chunkKey(seq, group)
  }
}
