/**
 * The changelog of a packed store: per flush, one record per changed group (a chunk,
 * key `#<seq>:<group>`) holding its changed members, instead of one record per key. A
 * chunk is tombstoned once later chunks have superseded every member it holds, or when
 * its group is gone; restore applies chunks in sequence order, whatever partition they
 * came from. Many small per-entity entries then cost a few records per batch, not one
 * per entry plus a tombstone per entry when the entity ends. (A store whose keys leave
 * only with their group keeps GroupLivedChangelog instead; see ChunkLog.)
 */
import { chunkKey } from "./ChunkFormat.ts"
import { ChunkLogBase, type ApplyRestored, type ChunkEntry, type ChunkLog, type PackedChange } from "./ChunkLog.ts"

export type { ChunkEntry, PackedChange } from "./ChunkLog.ts"
export { isChunkKey } from "./ChunkFormat.ts"

interface Chunk {
  readonly group: string
  /** Keys with a record in this chunk. */
  readonly keys: Array<string>
  /** How many of them have their latest record here. */
  live: number
}

export class PackedChangelog<K, V> extends ChunkLogBase<K, V> implements ChunkLog<K, V> {
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

  /** The chunks for one flush: tombstones of chunks nothing needs any more, then one new chunk (or a few, by size) per changed group. */
  flush(changes: ReadonlyArray<PackedChange<K, V>>, groupAlive: (group: string) => boolean): ReadonlyArray<ChunkEntry> {
    const out: Array<ChunkEntry> = []
    this.tombstoneDoomed(out)
    const emptied: Array<number> = []
    for (const change of changes) {
      const prev = this.latest.get(change.text)
      if (prev === undefined) continue
      this.latest.delete(change.text)
      this.addStale(change.text, 1)
      if (this.release(Math.abs(prev))) emptied.push(Math.abs(prev))
    }
    this.collect(emptied, out)
    this.writeGroups(
      changes,
      groupAlive,
      // A deletion is written only while a live chunk still holds a record of the key.
      (change) => change.slot !== undefined || this.stale.has(change.text),
      (group, seq, held) => {
        const chunk = this.register(seq, group)
        for (const change of held) this.hold(change.text, change.slot === undefined ? -seq : seq, chunk)
      },
      out
    )
    return out
  }

  /** The whole group is gone: so is every chunk of it, deletions included (tombstones to `out`). */
  dropGroup(group: string, out: Array<ChunkEntry>): void {
    for (const seq of [...(this.groupChunks.get(group) ?? [])]) {
      for (const text of this.chunks.get(seq)!.keys) {
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
    for (const seq of this.groupChunks.get(group) ?? []) yield* this.chunks.get(seq)!.keys
  }

  /** Whether the key's latest record is a value (it lived at the last flush). */
  hasValue(text: string): boolean {
    return (this.latest.get(text) ?? 0) > 0
  }

  /** Whether a chunk holds a record of the key (so that deleting it must be written). */
  holds(text: string): boolean {
    return this.latest.has(text) || this.stale.has(text)
  }

  /**
   * Applies the chunks read at restore in sequence order. `apply` writes (or erases) a key;
   * `dirty` marks a key to be written again at the next flush.
   */
  restored(apply: ApplyRestored<K, V>, dirty: (text: string, key: K) => void, legacyKeys: ReadonlyArray<readonly [string, K]>): void {
    const keyOf = new Map<string, K>()
    for (const { seq, group, members } of this.takePending()) {
      this.register(seq, group)
      for (const { key, text, member: m } of members) {
        const prev = this.latest.get(text)
        if (prev !== undefined) this.release(Math.abs(prev))
        apply(text, key, m.value, m.writtenAt)
        this.hold(text, m.value === undefined ? -seq : seq)
        if (this.torn.has(seq)) keyOf.set(text, key)
      }
    }
    // A torn chunk may be gone from the topic: whatever it held latest is written again.
    for (const seq of this.torn) {
      const chunk = this.chunks.get(seq)
      if (chunk === undefined) continue
      for (const text of chunk.keys) {
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
      if (seq < 0 && !this.stale.has(text)) {
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
      for (const text of chunk.keys) {
        // No key has its latest record in a chunk that goes: each record in it is stale.
        this.addStale(text, -1)
        const last = this.latest.get(text)
        if (last !== undefined && last < 0 && !this.stale.has(text) && this.chunks.has(-last)) {
          // Only the deletion itself is left: it hides nothing any more (but is still there, stale).
          this.latest.delete(text)
          this.addStale(text, 1)
          if (this.release(-last)) work.push(-last)
        }
      }
    }
  }

  private register(seq: number, group: string): Chunk {
    const chunk: Chunk = { group, keys: [], live: 0 }
    this.chunks.set(seq, chunk)
    let set = this.groupChunks.get(group)
    if (set === undefined) this.groupChunks.set(group, set = new Set())
    set.add(seq)
    return chunk
  }

  /** A key's latest record is now in chunk `|signed|` (negative: a deletion); the one it had before, if any, is stale. */
  private hold(text: string, signed: number, chunk = this.chunks.get(Math.abs(signed))!): void {
    if (this.latest.has(text)) this.addStale(text, 1)
    this.latest.set(text, signed)
    chunk.keys.push(text)
    chunk.live++
  }

  private addStale(text: string, delta: number): void {
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
