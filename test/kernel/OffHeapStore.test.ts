/**
 * A store declared `offHeap` keeps its keys and values in typed arrays (TextIntTable)
 * instead of a Map, and must behave exactly as the same store on the heap: the same
 * values, the same changelog records in the same order, the same state after undo and
 * after any restore. The table itself behaves as a Map for every call the store makes.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Result, Schema } from "effect"
import { KeyValueStore, type ChangelogEntry } from "../../src/kernel/store/KeyValueStore.ts"
import * as StoreKey from "../../src/kernel/store/StoreKey.ts"
import type { StoreSpec } from "../../src/kernel/store/StoreSpec.ts"
import { hashText } from "../../src/kernel/store/TextArena.ts"
import { TextIntTable } from "../../src/kernel/store/TextIntTable.ts"
import { TextList } from "../../src/kernel/store/TextList.ts"

/** Texts of one and two bytes a character, surrogate pairs, separators and the empty one. */
const text = fc.oneof(
  fc.constantFrom("", "a", "r0001", "5:job", "é", "\u00ff", "\u0100", "리뷰", "😀", "a\u0000b", "#1:x"),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 4 })
)
const int = fc.oneof(fc.nat({ max: 1_000 }), fc.constant(0x7fffffff))

describe("TextIntTable", () => {
  type TableOp = { readonly kind: "set"; readonly text: string; readonly value: number } | { readonly kind: "delete"; readonly text: string }
  const tableOp: fc.Arbitrary<TableOp> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("set" as const), text, value: int }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), text }) }
  )

  it("answers every get, has, size and listing as a Map does, through growth, renumbering and emptying", () =>
    fc.assert(fc.property(fc.array(tableOp, { maxLength: 300 }), (ops) => {
      const table = new TextIntTable("t")
      const map = new Map<string, number>()
      for (const op of ops) {
        if (op.kind === "set") {
          table.set(op.text, op.value)
          map.set(op.text, op.value)
        } else expect(table.delete(op.text), `delete ${JSON.stringify(op.text)}`).toBe(map.delete(op.text))
        expect(table.size).toBe(map.size)
        expect(table.get(op.text)).toBe(map.get(op.text))
        expect(table.has(op.text)).toBe(map.has(op.text))
      }
      expect([...table]).toEqual([...map])
      expect([...table.values()]).toEqual([...map.values()])
      // Every text ever used, through the index (a listing reads the entries, not the index).
      for (const op of ops) expect(table.get(op.text), `get ${JSON.stringify(op.text)} at the end`).toBe(map.get(op.text))
    })))

  it("finds every key through the index after many deletions, renumberings and shrinks", () => {
    const table = new TextIntTable("t")
    const map = new Map<string, number>()
    // A fixed pseudo-random walk (no Math.random: the same keys every run).
    let seed = 7
    const next = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0)
    for (let step = 0; step < 60_000; step++) {
      const key = `${next() % 9_000}:${step % 3 === 0 ? "é" : step % 3 === 1 ? "리" : "r"}`
      if (next() % 3 === 0) expect(table.delete(key), `step ${step}: delete ${key}`).toBe(map.delete(key))
      else {
        table.set(key, step)
        map.set(key, step)
      }
    }
    for (let i = 0; i < 9_000; i++) {
      for (const suffix of ["é", "리", "r"]) expect(table.get(`${i}:${suffix}`), `${i}:${suffix}`).toBe(map.get(`${i}:${suffix}`))
    }
    expect([...table]).toEqual([...map])
    // Most keys deleted while some stay: the table is renumbered smaller, not kept at its peak.
    const peak = table.reservedBytes
    for (const key of [...map.keys()].slice(100)) {
      table.delete(key)
      map.delete(key)
    }
    expect(table.reservedBytes, "a quarter or less live: renumbered").toBeLessThan(peak / 4)
    expect([...table]).toEqual([...map])
  })

  it("finds every key after each change in a small, nearly full table (probe runs that wrap around its end)", () => {
    const table = new TextIntTable("t")
    const map = new Map<string, number>()
    // Keys whose home slot is at either end of an index of 32 or 64 slots, so that their
    // probe runs cross its end and deletions have to shift entries back across it.
    const keys: Array<string> = []
    for (let i = 0; keys.length < 20; i++) {
      const key = i % 2 === 0 ? `k${i}` : `키${i}`
      if ([62, 63, 0, 1].includes(hashText(key) & 63)) keys.push(key)
    }
    let seed = 11
    const next = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0)
    for (let step = 0; step < 20_000; step++) {
      const key = keys[next() % keys.length]!
      if (next() % 5 === 0) {
        table.delete(key)
        map.delete(key)
      } else {
        table.set(key, step)
        map.set(key, step)
      }
      for (const k of keys) if (table.get(k) !== map.get(k)) expect(table.get(k), `step ${step}: ${k}`).toBe(map.get(k))
    }
  })

  it("is unchanged by an append that fails (out of memory)", () => {
    const table = new TextIntTable("t")
    table.set("a", 1)
    const arena = (table as unknown as { arena: { append: (text: string) => number } }).arena
    const append = arena.append
    arena.append = () => {
      throw new RangeError("Array buffer allocation failed")
    }
    expect(() => table.set("b", 2)).toThrow(RangeError)
    arena.append = append
    expect([...table]).toEqual([["a", 1]])
    table.set("b", 2)
    expect([...table]).toEqual([["a", 1], ["b", 2]])
  })

  it("holds many keys, gives the space back once they are all deleted", () => {
    const table = new TextIntTable("t")
    const empty = table.reservedBytes
    for (let i = 0; i < 50_000; i++) table.set(`5:bench${i}`, i)
    expect(table.get("5:bench49999")).toBe(49_999)
    // A 12-character key: its text, 16 bytes of entry and index, and room to grow.
    expect(table.reservedBytes, "bytes a key, reserve included").toBeLessThan(50_000 * 56)
    const full = table.reservedBytes
    // Deleted entries make room for new ones (renumbered, in order) before the table grows.
    for (let i = 0; i < 50_000; i++) if (i % 5 !== 0) table.delete(`5:bench${i}`)
    for (let i = 50_000; i < 70_000; i++) table.set(`5:bench${i}`, i)
    expect(table.reservedBytes, "no growth while deleted entries can make room").toBeLessThanOrEqual(full)
    expect([...table.keys()].slice(0, 3)).toEqual(["5:bench0", "5:bench5", "5:bench10"])
    expect(table.get("5:bench69999")).toBe(69_999)
    expect(table.size).toBe(30_000)
    for (const key of [...table.keys()]) table.delete(key)
    expect(table.size).toBe(0)
    expect(table.reservedBytes).toBe(empty)
  })

  it("refuses values it cannot hold, naming its store", () => {
    const table = new TextIntTable("review")
    for (const bad of [-1, 1.5, 2 ** 31, Number.NaN, "1", undefined]) {
      expect(() => table.set("k", bad), String(bad)).toThrow(/store "review": it holds integers from 0 to 2147483647/)
    }
    expect(table.size).toBe(0)
  })

  it("goes on listing through growth, and stops a listing its entries were renumbered under rather than skip or repeat keys", () => {
    const table = new TextIntTable("t")
    for (let i = 0; i < 16; i++) table.set(`k${i}`, i)
    const growing = table.keys()
    growing.next()
    for (let i = 16; i < 40; i++) table.set(`k${i}`, i)
    expect([...growing].length, "the 39 keys after the first").toBe(39)
    const renumbered = table.keys()
    renumbered.next()
    for (let i = 1; i < 40; i++) table.delete(`k${i}`)
    for (let i = 40; i < 70; i++) table.set(`k${i}`, i)
    expect(() => renumbered.next()).toThrow(/rebuilt while it was being read/)
  })
})

describe("TextList", () => {
  it("is unchanged by a push that fails (out of memory)", () => {
    const list = new TextList()
    list.push("r1")
    const arena = (list as unknown as { arena: { append: (text: string) => number } }).arena
    const append = arena.append
    arena.append = () => {
      throw new RangeError("Array buffer allocation failed")
    }
    expect(() => list.push("r2")).toThrow(RangeError)
    arena.append = append
    list.push("r3")
    expect([...list]).toEqual(["r1", "r3"])
  })

  it("lists what was pushed, in order", () =>
    fc.assert(fc.property(fc.array(text, { maxLength: 100 }), (texts) => {
      const list = new TextList()
      for (const t of texts) list.push(t)
      expect([...list]).toEqual(texts)
      expect(list.size).toBe(texts.length)
    })))
})

type Key = StoreKey.StringTuple<2>
const onHeap: StoreSpec<Key, number> = {
  name: "index",
  key: StoreKey.compactStrings(2),
  value: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 0x7fffffff })),
  groupOf: (k) => k[0],
  packed: { member: (k) => k[1], key: (group, member) => [group, member], keysLeaveWithGroup: true }
}
const offHeap: StoreSpec<Key, number> = { ...onHeap, offHeap: true }

type Op =
  | { readonly kind: "put"; readonly group: string; readonly member: string; readonly value: number }
  | { readonly kind: "drop"; readonly group: string }
/** A record's operations, kept or undone as a whole. */
interface Step {
  readonly ops: ReadonlyArray<Op>
  readonly undone: boolean
}
const group = fc.constantFrom("g1", "그룹", "#3:x", "")
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("put" as const), group, member: text, value: int }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), group }) }
)
const step = fc.record({ ops: fc.array(op, { maxLength: 6 }), undone: fc.nat({ max: 4 }).map((n) => n === 0) })
const batches = fc.array(fc.array(step, { maxLength: 8 }), { minLength: 1, maxLength: 10 })

const run = (store: KeyValueStore<Key, number>, s: Step) => {
  store.begin()
  for (const o of s.ops) {
    if (o.kind === "put") store.put([o.group, o.member], o.value)
    else store.dropGroup(o.group)
  }
  if (s.undone) store.rollback()
  else store.commit()
}

const entriesOf = (store: KeyValueStore<Key, number>) => [...store.entries()]

const restoreFrom = (spec: StoreSpec<Key, number>, log: ReadonlyArray<ChangelogEntry>, rewrite: ReadonlyArray<string>) => {
  const store = new KeyValueStore(spec)
  for (const entry of log) expect(Result.isSuccess(store.restore(entry)), `restores ${entry.key}`).toBe(true)
  for (const key of rewrite) store.rewrite(key)
  store.restored(0)
  return store
}

/** What a compacted topic keeps: the last record of each key, tombstones gone. */
const compacted = (log: ReadonlyArray<ChangelogEntry>) => [...new Map(log.map((e) => [e.key, e])).values()].filter((e) => e.value !== null)

describe("a store kept off the heap", () => {
  it("writes the same changelog and holds the same entries as the same store on the heap, records undone included", () =>
    fc.assert(fc.property(batches, (script) => {
      const heap = new KeyValueStore(onHeap)
      const table = new KeyValueStore(offHeap)
      for (const batch of script) {
        for (const s of batch) {
          run(heap, s)
          run(table, s)
          expect(entriesOf(table)).toEqual(entriesOf(heap))
        }
        expect(table.flush()).toEqual(heap.flush())
        for (const g of ["g1", "그룹", "#3:x", ""]) expect([...table.group(g)]).toEqual([...heap.group(g)])
      }
    })))

  it("restores as the store on the heap does, from a full, compacted or torn changelog, and goes on writing the same", () =>
    fc.assert(fc.property(batches, batches, fc.nat(), (script, after, cut) => {
      const source = new KeyValueStore(onHeap)
      const log: Array<ChangelogEntry> = []
      for (const batch of script) {
        for (const s of batch) run(source, s)
        log.push(...source.flush())
      }
      const torn = log.length === 0 ? [] : [log[cut % log.length]!.key]
      for (const [from, rewrite] of [[log, []], [compacted(log), []], [log, torn]] as const) {
        const heap = restoreFrom(onHeap, from, rewrite)
        const table = restoreFrom(offHeap, from, rewrite)
        expect(entriesOf(table)).toEqual(entriesOf(heap))
        for (const batch of after) {
          for (const s of batch) {
            run(heap, s)
            run(table, s)
          }
          expect(table.flush()).toEqual(heap.flush())
        }
        expect(entriesOf(table)).toEqual(entriesOf(heap))
      }
    })))

  it("dead-letters a value it cannot hold: the record fails and is undone, the spec cannot go without packing", () => {
    const store = new KeyValueStore(offHeap)
    store.put(["g", "a"], 1)
    store.flush()
    store.begin()
    store.put(["g", "b"], 2)
    expect(() => store.put(["g", "c"], -1)).toThrow(/store "index": it holds integers/)
    store.rollback()
    expect(entriesOf(store)).toEqual([[["g", "a"], 1]])
    expect(store.flush()).toEqual([])
    expect(() => new KeyValueStore({ ...offHeap, packed: undefined })).toThrow(/store "index": offHeap needs packed and no ttl/)
  })
})
