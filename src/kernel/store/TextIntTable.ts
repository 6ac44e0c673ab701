/**
 * A map from strings to integers 0..2^31-1 kept outside the JS heap: the keys' text in a
 * TextArena, each entry's start, hash and value in typed arrays, and an open-addressing
 * index (linear probing, at most half full). It behaves as a `Map` does for the calls a
 * store makes: insertion order, a key set again keeps its place, a key deleted and set
 * again moves to the end.
 *
 * Why: a store of small per-member flags (the index of a running job) may hold a million
 * keys. In a `Map` each costs a heap string and a table entry, about 70 bytes, and the
 * garbage collector keeps several times the live heap in reserve: on a million reviews
 * that index was more than half of the process's peak memory. Here an entry costs its
 * key's characters and 16 bytes, outside the collected heap.
 */
import { hashText, TextArena } from "./TextArena.ts"

const DELETED = -1
const MAX_VALUE = 0x7fffffff
/** Entries and index slots a fresh table starts with. */
const INITIAL = 16
/** A table of at least this many entries, three quarters deleted, is renumbered at once. */
const SHRINK_FROM = 4096

const powerOfTwoAtLeast = (n: number): number => {
  let size = INITIAL
  while (size < n) size *= 2
  return size
}

export class TextIntTable {
  private arena = new TextArena()
  /** Entry i's text handle; `starts[count]` is the arena's end. Entries are in insertion order, deleted ones included. */
  private starts = new Uint32Array(INITIAL + 1)
  private hashes = new Uint32Array(INITIAL)
  /** Entry i's value, or DELETED. */
  private numbers = new Int32Array(INITIAL)
  private count = 0
  private live = 0
  /** Open-addressing index: entry number + 1, 0 for an empty slot. */
  private slots = new Int32Array(INITIAL * 2)
  /** Changes whenever entries are renumbered (an iteration cannot go on across that). */
  private shape = 0

  /**
   * The last text hashed and its hash: a store reads a key and then writes it (get, then
   * set), and hashing the text in JavaScript each time was a few percent of a record.
   */
  private lastText: string | undefined
  private lastHash = 0

  /** `owner` names the table in errors (the store it belongs to). */
  constructor(private readonly owner: string) {}

  get size(): number {
    return this.live
  }

  /** Bytes of typed arrays the table holds (for memory accounting and tests). */
  get reservedBytes(): number {
    return this.arena.capacity + this.starts.byteLength + this.hashes.byteLength + this.numbers.byteLength + this.slots.byteLength
  }

  get(text: string): number | undefined {
    const found = this.find(text, this.hashOf(text))
    return found < 0 ? undefined : this.numbers[found]
  }

  has(text: string): boolean {
    return this.find(text, this.hashOf(text)) >= 0
  }

  set(text: string, value: unknown): this {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_VALUE) {
      throw new Error(`store "${this.owner}": it holds integers from 0 to ${MAX_VALUE} (offHeap), not ${String(value)}`)
    }
    const hash = this.hashOf(text)
    const found = this.find(text, hash)
    if (found >= 0) {
      this.numbers[found] = value
      return this
    }
    if (this.count === this.hashes.length) {
      this.makeRoom()
      return this.set(text, value)
    }
    // Appended first: if that throws (no memory), the table is as it was.
    const start = this.arena.append(text)
    const entry = this.count++
    this.starts[entry] = start
    this.starts[entry + 1] = this.arena.end
    this.hashes[entry] = hash
    this.numbers[entry] = value
    this.slots[-found - 1] = entry + 1
    this.live++
    return this
  }

  delete(text: string): boolean {
    const hash = this.hashOf(text)
    const found = this.find(text, hash)
    if (found < 0) return false
    this.numbers[found] = DELETED
    this.live--
    this.unindex(hash, found)
    // A group that ended leaves nothing behind: an empty table goes back to its first size,
    // and one mostly deleted (a large group gone, others still live) is renumbered smaller.
    if (this.live === 0) this.clear()
    else if (this.count >= SHRINK_FROM && this.live * 4 <= this.count) this.renumber()
    return true
  }

  clear(): void {
    this.arena = new TextArena()
    this.starts = new Uint32Array(INITIAL + 1)
    this.hashes = new Uint32Array(INITIAL)
    this.numbers = new Int32Array(INITIAL)
    this.slots = new Int32Array(INITIAL * 2)
    this.count = 0
    this.live = 0
    this.shape++
  }

  *[Symbol.iterator](): IterableIterator<[string, number]> {
    for (const entry of this.liveEntries()) yield [this.textAt(entry), this.numbers[entry]!]
  }

  *keys(): IterableIterator<string> {
    for (const entry of this.liveEntries()) yield this.textAt(entry)
  }

  *values(): IterableIterator<number> {
    for (const entry of this.liveEntries()) yield this.numbers[entry]!
  }

  private *liveEntries(): IterableIterator<number> {
    const shape = this.shape
    for (let entry = 0; entry < this.count; entry++) {
      if (this.numbers[entry] === DELETED) continue
      yield entry
      if (this.shape === shape) continue
      // Emptied while being read (its last key deleted): nothing is left to read.
      if (this.live === 0) return
      throw new Error(`store "${this.owner}": its table was rebuilt while it was being read`)
    }
  }

  private hashOf(text: string): number {
    if (text !== this.lastText) {
      this.lastHash = hashText(text)
      this.lastText = text
    }
    return this.lastHash
  }

  private textAt(entry: number): string {
    return this.arena.read(this.starts[entry]!, this.starts[entry + 1]!)
  }

  /** The entry holding `text`, or -(slot + 1) for the empty slot where it would go. */
  private find(text: string, hash: number): number {
    const slots = this.slots
    const mask = slots.length - 1
    const length = text.length
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = slots[slot]!
      if (held === 0) return -(slot + 1)
      const entry = held - 1
      if (this.hashes[entry] !== hash) continue
      const start = this.starts[entry]!
      if (this.arena.lengthOf(start, this.starts[entry + 1]!) === length && this.arena.equals(start, text)) return entry
    }
  }

  /** Takes `entry` out of the index, moving later entries of its probe run back (no tombstones). */
  private unindex(hash: number, entry: number): void {
    const slots = this.slots
    const mask = slots.length - 1
    let hole = hash & mask
    while (slots[hole] !== entry + 1) hole = (hole + 1) & mask
    for (let slot = (hole + 1) & mask; slots[slot] !== 0; slot = (slot + 1) & mask) {
      const home = this.hashes[slots[slot]! - 1]! & mask
      // The entry at `slot` may move into the hole unless its home lies cyclically in (hole, slot].
      const stays = hole <= slot ? hole < home && home <= slot : hole < home || home <= slot
      if (stays) continue
      slots[hole] = slots[slot]!
      hole = slot
    }
    slots[hole] = 0
  }

  /**
   * The entry arrays are full: if at least half the entries are deleted, the live ones are
   * renumbered (see `renumber`), else the arrays double and the index is rebuilt at twice
   * the entries' room.
   */
  private makeRoom(): void {
    if (this.live * 2 > this.count) {
      const room = this.count * 2
      const starts = new Uint32Array(room + 1)
      starts.set(this.starts)
      const hashes = new Uint32Array(room)
      hashes.set(this.hashes)
      const numbers = new Int32Array(room)
      numbers.set(this.numbers)
      this.starts = starts
      this.hashes = hashes
      this.numbers = numbers
      return this.reindex(room * 2)
    }
    this.renumber()
  }

  /** The live entries renumbered, in order, into arrays of twice their number, the text copied as bytes. */
  private renumber(): void {
    const room = powerOfTwoAtLeast(this.live * 2)
    let liveBytes = 0
    for (let entry = 0; entry < this.count; entry++) {
      if (this.numbers[entry] !== DELETED) liveBytes += this.arena.byteLength(this.starts[entry]!, this.starts[entry + 1]!)
    }
    const arena = new TextArena(Math.max(256, Math.ceil((liveBytes * room) / this.live)))
    const starts = new Uint32Array(room + 1)
    const hashes = new Uint32Array(room)
    const numbers = new Int32Array(room)
    let next = 0
    for (let entry = 0; entry < this.count; entry++) {
      if (this.numbers[entry] === DELETED) continue
      starts[next] = arena.appendFrom(this.arena, this.starts[entry]!, this.starts[entry + 1]!)
      hashes[next] = this.hashes[entry]!
      numbers[next] = this.numbers[entry]!
      next++
    }
    starts[next] = arena.end
    this.arena = arena
    this.starts = starts
    this.hashes = hashes
    this.numbers = numbers
    this.count = next
    this.shape++
    this.reindex(room * 2)
  }

  private reindex(size: number): void {
    const slots = new Int32Array(size)
    const mask = size - 1
    for (let entry = 0; entry < this.count; entry++) {
      if (this.numbers[entry] === DELETED) continue
      let slot = this.hashes[entry]! & mask
      while (slots[slot] !== 0) slot = (slot + 1) & mask
      slots[slot] = entry + 1
    }
    this.slots = slots
  }
}
