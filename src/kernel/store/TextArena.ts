/**
 * Strings kept outside the JS heap: appended one after another into one growing buffer,
 * one byte a character when every character fits (Latin-1), else two (UTF-16LE). A
 * string is addressed by its handle (start offset, with WIDE set for two-byte text) and
 * the handle of the string after it (its end): the owner keeps both.
 *
 * Why: a state store may hold a million small ids of a running entity. As JS strings
 * they cost about 32 bytes each plus what the garbage collector keeps in reserve in
 * proportion to the live heap; here they cost their characters.
 */

/** Set in a handle whose text is stored as UTF-16LE. */
const WIDE = 0x80000000
const OFFSET = 0x7fffffff

const isOneByte = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false
  return true
}

/** A well-mixed 32-bit hash of a string's UTF-16 code units (FNV-1a with a final mix). */
export const hashText = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return h >>> 0
}

export class TextArena {
  private bytes: Buffer
  private used = 0

  constructor(initialBytes = 256) {
    // Offsets must stay below WIDE, whatever room the owner asks for.
    this.bytes = Buffer.alloc(Math.min(OFFSET, initialBytes))
  }

  /** The handle the next appended string will get the start of (and the end of the last one). */
  get end(): number {
    return this.used
  }

  /** Bytes reserved (for memory accounting). */
  get capacity(): number {
    return this.bytes.length
  }

  /** Appends `text` and returns its handle. */
  append(text: string): number {
    const wide = !isOneByte(text)
    const length = wide ? text.length * 2 : text.length
    this.reserve(length)
    const start = this.used
    this.bytes.write(text, start, length, wide ? "utf16le" : "latin1")
    this.used += length
    return wide ? (start | WIDE) >>> 0 : start
  }

  /** Appends the string at `handle` of another arena (its bytes, as they are) and returns its handle here. */
  appendFrom(source: TextArena, handle: number, end: number): number {
    const from = handle & OFFSET
    const length = this.byteLength(handle, end)
    this.reserve(length)
    const start = this.used
    source.bytes.copy(this.bytes, start, from, from + length)
    this.used += length
    return (handle & WIDE) !== 0 ? (start | WIDE) >>> 0 : start
  }

  /** The string of `handle`, which ends where `end` (the next handle, or `this.end`) starts. */
  read(handle: number, end: number): string {
    return this.bytes.toString((handle & WIDE) !== 0 ? "utf16le" : "latin1", handle & OFFSET, end & OFFSET)
  }

  /** Number of bytes the string at `handle` takes. */
  byteLength(handle: number, end: number): number {
    return (end & OFFSET) - (handle & OFFSET)
  }

  /** Number of characters of the string at `handle`. */
  lengthOf(handle: number, end: number): number {
    const bytes = this.byteLength(handle, end)
    return (handle & WIDE) !== 0 ? bytes / 2 : bytes
  }

  /** Whether the string at `handle` is `text` (whose length the caller has checked). */
  equals(handle: number, text: string): boolean {
    const bytes = this.bytes
    let at = handle & OFFSET
    if ((handle & WIDE) === 0) {
      for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false
      return true
    }
    for (let i = 0; i < text.length; i++, at += 2) if ((bytes[at]! | (bytes[at + 1]! << 8)) !== text.charCodeAt(i)) return false
    return true
  }

  private reserve(more: number): void {
    const needed = this.used + more
    if (needed <= this.bytes.length) return
    if (needed > OFFSET) throw new Error(`text arena: more than ${OFFSET} bytes of text`)
    const grown = Buffer.alloc(Math.min(OFFSET, Math.max(needed, this.bytes.length * 2)))
    this.bytes.copy(grown, 0, 0, this.used)
    this.bytes = grown
  }
}
