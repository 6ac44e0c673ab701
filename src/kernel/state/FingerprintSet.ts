/**
 * A frozen, compact set of strings: sorted 64-bit fingerprints (two independent 32-bit
 * FNV-1a hashes) in one typed array, 8 bytes per member instead of a Map entry's ~80.
 * Used for the ids of a finished entity, where only membership is asked any more. Two
 * ids collide with probability ~n²/2⁶⁵ (about 3e-8 for a million ids).
 */
import { Schema, SchemaTransformation } from "effect"

const fnv1a = (s: string, seed: number): number => {
  let h = seed >>> 0
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const fingerprint = (s: string): bigint =>
  (BigInt(fnv1a(s, 0x811c9dc5)) << 32n) | BigInt(fnv1a(s, 0x050c5d1f))

export class FingerprintSet {
  private constructor(private readonly sorted: BigUint64Array) {}

  static of(members: Iterable<string>): FingerprintSet {
    const builder = new FingerprintSetBuilder()
    for (const m of members) builder.add(m)
    return builder.build()
  }

  /** @internal The builder's way in: `sorted` must be sorted. */
  static fromSorted(sorted: BigUint64Array): FingerprintSet {
    return new FingerprintSet(sorted)
  }

  static fromBytes(bytes: Uint8Array): FingerprintSet {
    const copy = new Uint8Array(bytes)
    return new FingerprintSet(new BigUint64Array(copy.buffer, 0, copy.byteLength / 8))
  }

  get size(): number {
    return this.sorted.length
  }

  get byteLength(): number {
    return this.sorted.byteLength
  }

  has(member: string): boolean {
    const target = fingerprint(member)
    let lo = 0
    let hi = this.sorted.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const v = this.sorted[mid]!
      if (v === target) return true
      if (v < target) lo = mid + 1
      else hi = mid - 1
    }
    return false
  }

  /** The set split into sets of at most `size` members (e.g. to fit message size limits). */
  chunks(size: number): ReadonlyArray<FingerprintSet> {
    const out: Array<FingerprintSet> = []
    for (let i = 0; i < this.sorted.length; i += size) out.push(new FingerprintSet(this.sorted.slice(i, i + size)))
    return out
  }

  toBytes(): Uint8Array {
    return new Uint8Array(this.sorted.buffer, this.sorted.byteOffset, this.sorted.byteLength)
  }
}

/**
 * Collects members one at a time into a typed array that doubles as needed: 8 bytes a
 * member while collecting, where an array of BigInts held a heap object per member (a
 * million-review job froze through ~100 MB of them).
 */
export class FingerprintSetBuilder {
  private prints = new BigUint64Array(1024)
  private count = 0

  add(member: string): void {
    if (this.count === this.prints.length) {
      const grown = new BigUint64Array(this.prints.length * 2)
      grown.set(this.prints)
      this.prints = grown
    }
    this.prints[this.count++] = fingerprint(member)
  }

  build(): FingerprintSet {
    return FingerprintSet.fromSorted(this.prints.slice(0, this.count).sort())
  }
}

/** A FingerprintSet in state stores; its JSON form is its bytes in base64. */
export const FingerprintSetSchema = Schema.declare((u: unknown): u is FingerprintSet => u instanceof FingerprintSet, {
  expected: "FingerprintSet",
  toCodecJson: () =>
    Schema.link<FingerprintSet>()(
      Schema.String,
      SchemaTransformation.transform<FingerprintSet, string>({
        decode: (base64) => FingerprintSet.fromBytes(Buffer.from(base64, "base64")),
        encode: (set) => Buffer.from(set.toBytes()).toString("base64")
      })
    )
})
