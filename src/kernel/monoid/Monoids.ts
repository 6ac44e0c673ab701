/**
 * Small commutative monoids (effect `Reducer`s) that per-entity statistics are built
 * from. Values are immutable; `combine` never mutates its arguments.
 */
import { Reducer } from "effect"

export type Monoid<A> = Reducer.Reducer<A>

export const sum: Monoid<number> = Reducer.make((a, b) => a + b, 0)

/** Element-wise sum of fixed-length count vectors. */
export const counts = (length: number): Monoid<ReadonlyArray<number>> =>
  Reducer.make<ReadonlyArray<number>>((a, b) => a.map((x, i) => x + (b[i] ?? 0)), Array.from({ length }, () => 0))

/** Monoid of records whose fields are monoids, combined field by field. */
export const struct = <A extends object>(fields: { readonly [K in keyof A]: Monoid<A[K]> }): Monoid<A> => {
  const keys = Object.keys(fields) as Array<keyof A>
  const empty = {} as A
  for (const k of keys) empty[k] = fields[k].initialValue
  return Reducer.make((a, b) => {
    const out = {} as A
    for (const k of keys) out[k] = fields[k].combine(a[k], b[k])
    return out
  }, empty)
}

/** Maps combined key by key with the value monoid; a missing key is the value's identity. */
export const map = <V>(value: Monoid<V>): Monoid<ReadonlyMap<string, V>> =>
  Reducer.make<ReadonlyMap<string, V>>((a, b) => {
    if (b.size === 0) return a
    if (a.size === 0) return b
    const out = new Map(a)
    for (const [k, v] of b) {
      const prev = out.get(k)
      out.set(k, prev === undefined ? v : value.combine(prev, v))
    }
    return out
  }, new Map<string, V>())
