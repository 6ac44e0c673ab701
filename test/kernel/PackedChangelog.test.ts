/**
 * A packed store writes one changelog record per changed group and batch, and its
 * changelog, read back in any order that keeps each key's records in order (partitions),
 * compacted or not, cut short in its last batch or not, restores exactly the live store.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Result, Schema } from "effect"
import { KeyValueStore, type ChangelogEntry } from "../../src/kernel/store/KeyValueStore.ts"
import * as StoreKey from "../../src/kernel/store/StoreKey.ts"
import type { StoreSpec } from "../../src/kernel/store/StoreSpec.ts"

type Key = StoreKey.StringTuple<2>

const packing = { member: (k: Key) => k[1], key: (group: string, member: string): Key => [group, member] }
const plain: StoreSpec<Key, string> = {
  name: "plain",
  key: StoreKey.compactStrings(2),
  value: Schema.String,
  groupOf: (k) => k[0],
  packed: packing
}
/** Values held as they are (a text form), with retention: the payload carries separators unescaped. */
const raw: StoreSpec<Key, string> = {
  ...plain,
  name: "raw",
  text: { encode: (v) => v, decode: (t) => Result.succeed(t) },
  ttl: { ms: 1_000_000 }
}

/** Keys that leave only with their group: chunks live as long as their group (GroupLivedChangelog). */
const groupWise: StoreSpec<Key, string> = { ...plain, name: "group-wise", packed: { ...packing, keysLeaveWithGroup: true } }

type Op =
  | { readonly kind: "put"; readonly group: string; readonly member: string; readonly value: string }
  | { readonly kind: "delete"; readonly group: string; readonly member: string }
  | { readonly kind: "drop"; readonly group: string }

const group = fc.constantFrom("g1", "g:2", "#3:x", "")
const member = fc.constantFrom("a", "b", "c:1", "~", "5:x", "d\n", "")
const value = fc.oneof(fc.string(), fc.constantFrom("", "~", "3:abc", "1|2|", "{\"v\":1}", "\n\n"))
/** Operations on a store; single keys are deleted only where the store allows it. */
const opFor = (spec: StoreSpec<Key, string>): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant("put" as const), group, member, value }) },
    ...(spec.packed?.keysLeaveWithGroup === true ? [] : [{ weight: 3, arbitrary: fc.record({ kind: fc.constant("delete" as const), group, member }) }]),
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), group }) }
  )
/** Batches of operations; each batch ends with a flush. */
const batchesFor = (spec: StoreSpec<Key, string>) => fc.array(fc.array(opFor(spec), { maxLength: 12 }), { minLength: 1, maxLength: 14 })

const apply = (store: KeyValueStore<Key, string>, o: Op) => {
  if (o.kind === "put") store.put([o.group, o.member], o.value)
  else if (o.kind === "delete") store.delete([o.group, o.member])
  else store.deleteGroup(o.group)
}

/** The same operations on two stores. */
const applyBoth = (a: KeyValueStore<Key, string>, b: KeyValueStore<Key, string>, batch: ReadonlyArray<Op>) => {
  for (const o of batch) {
    apply(a, o)
    apply(b, o)
  }
}

const contents = (store: KeyValueStore<Key, string>) =>
  [...store.entries()].map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).sort()

const restoreFrom = (spec: StoreSpec<Key, string>, log: ReadonlyArray<ChangelogEntry>, rewrite: ReadonlyArray<string> = []) => {
  const store = new KeyValueStore(spec)
  for (const entry of log) expect(Result.isSuccess(store.restore(entry)), `restores ${entry.key}`).toBe(true)
  for (const key of rewrite) store.rewrite(key)
  store.restored(0)
  return store
}

/** What a compacted topic keeps: the last record of each key, tombstones gone. */
const compacted = (log: ReadonlyArray<ChangelogEntry>) => {
  const last = new Map<string, ChangelogEntry>()
  for (const e of log) {
    last.delete(e.key)
    last.set(e.key, e)
  }
  return [...last.values()].filter((e) => e.value !== null)
}

/** The topic read partition by partition (keys spread by a hash): each key's records stay in order, nothing else does. */
const byPartition = (log: ReadonlyArray<ChangelogEntry>, partitions: number) => {
  const hash = (s: string) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % partitions
  return Array.from({ length: partitions }, (_, p) => log.filter((e) => hash(e.key) === p)).reverse().flat()
}

/**
 * The packed changelog's bookkeeping, reached into for the invariant below: each key's
 * latest chunk, and how many live chunks hold a stale record of it.
 */
interface Bookkeeping {
  readonly chunks: ReadonlyMap<number, { readonly keys: ReadonlyArray<string> }>
  readonly latest: ReadonlyMap<string, number>
  readonly stale: ReadonlyMap<string, number>
}
const bookkeepingOf = (store: KeyValueStore<Key, string>) => (store as unknown as { readonly packed: Bookkeeping }).packed

/** What a group-lived changelog keeps: each group's chunks and members (listed as key texts by `membersOf`). */
interface GroupBookkeeping {
  readonly groupChunks: ReadonlyMap<string, ReadonlyArray<number>>
  readonly groupMembers: ReadonlyMap<string, unknown>
  membersOf(group: string): Iterable<string>
}
const groupBookkeepingOf = (store: KeyValueStore<Key, string>) => (store as unknown as { readonly packed: GroupBookkeeping }).packed

/** Every key of the store is listed for its group (a group-lived changelog's listing is all there is to find a group's keys). */
const expectListed = (store: KeyValueStore<Key, string>, where: string) => {
  const listed = new Map<string, ReadonlyArray<string>>()
  const listOf = (group: string) => listed.get(group) ?? listed.set(group, [...groupBookkeepingOf(store).membersOf(group)]).get(group)!
  for (const [key] of store.entries()) {
    expect(listOf(key[0]).includes(plain.key.encode(key)), `${where}: ${JSON.stringify(key)} is listed for its group`).toBe(true)
  }
}

/**
 * A key's stale copies are the live chunks holding a record of it, less the one with its
 * latest; no key has none listed. (A group-lived changelog counts none: its listing is checked.)
 */
const expectExactStale = (store: KeyValueStore<Key, string>, where: string) => {
  if (store.spec.packed?.keysLeaveWithGroup === true) return expectListed(store, where)
  const { chunks, latest, stale } = bookkeepingOf(store)
  const held = new Map<string, number>()
  for (const chunk of chunks.values()) for (const text of chunk.keys) held.set(text, (held.get(text) ?? 0) + 1)
  for (const text of new Set([...held.keys(), ...stale.keys(), ...latest.keys()])) {
    expect(stale.get(text) ?? 0, `${where}: stale copies of ${JSON.stringify(text)}`).toBe((held.get(text) ?? 0) - (latest.has(text) ? 1 : 0))
  }
  for (const n of stale.values()) expect(n, `${where}: a count of none is not kept`).toBeGreaterThan(0)
}

describe.each([plain, raw, groupWise])("packed store $name", (spec) => {
  const batches = batchesFor(spec)
  const op = opFor(spec)
  it("counts exactly the stale copies of each key, through flushes, a torn batch, a restore and the flush after it", () =>
    fc.assert(fc.property(batches, fc.nat(), (script, cut) => {
      const store = new KeyValueStore(spec)
      const log: Array<ChangelogEntry> = []
      for (const batch of script) {
        for (const o of batch) apply(store, o)
        log.push(...store.flush())
        expectExactStale(store, "after a flush")
      }
      const restored = restoreFrom(spec, log, log.length === 0 ? [] : [log[cut % log.length]!.key])
      expectExactStale(restored, "after a restore")
      restored.flush()
      expectExactStale(restored, "after the flush that follows it")
    })))

  it("restores exactly the live store from its changelog, in full, compacted or read by partition", () =>
    fc.assert(fc.property(batches, fc.integer({ min: 2, max: 5 }), (script, partitions) => {
      const store = new KeyValueStore(spec)
      const log: Array<ChangelogEntry> = []
      for (const batch of script) {
        for (const o of batch) apply(store, o)
        const out = store.flush()
        const groups = out.filter((e) => e.value !== null).map((e) => e.key.slice(e.key.indexOf(":") + 1))
        expect(new Set(groups).size, "at most one record per group and batch").toBe(groups.length)
        log.push(...out)
      }
      const live = contents(store)
      expect(contents(restoreFrom(spec, log)), "full changelog").toEqual(live)
      expect(contents(restoreFrom(spec, compacted(log))), "compacted changelog").toEqual(live)
      expect(contents(restoreFrom(spec, byPartition(log, partitions))), "read by partition").toEqual(live)
      if (live.length === 0) expect(compacted(log), "nothing left once every key is gone").toEqual([])
    })))

  it("keeps restoring exactly after a restore and more batches (its bookkeeping is rebuilt)", () =>
    fc.assert(fc.property(batches, batches, (before, after) => {
      const first = new KeyValueStore(spec)
      const log: Array<ChangelogEntry> = []
      for (const batch of before) {
        for (const o of batch) apply(first, o)
        log.push(...first.flush())
      }
      const second = restoreFrom(spec, compacted(log))
      for (const batch of after) {
        applyBoth(first, second, batch)
        first.flush()
        log.push(...second.flush())
      }
      expect(contents(second)).toEqual(contents(first))
      expect(contents(restoreFrom(spec, compacted(log)))).toEqual(contents(first))
    })))

  it("after a batch whose write was cut short, restores the state before it and rewrites what the cut left behind", () =>
    fc.assert(fc.property(batches, fc.array(op, { minLength: 1, maxLength: 12 }), fc.nat(), (script, lastBatch, cut) => {
      const store = new KeyValueStore(spec)
      const log: Array<ChangelogEntry> = []
      for (const batch of script) {
        for (const o of batch) apply(store, o)
        log.push(...store.flush())
      }
      const beforeLast = contents(store)
      for (const o of lastBatch) apply(store, o)
      const last = store.flush()
      if (last.length < 2) return
      const written = last.slice(0, 1 + (cut % (last.length - 1)))
      // The runtime ignores the torn batch's records and asks for their keys to be rewritten.
      const restored = restoreFrom(spec, log, written.map((e) => e.key))
      expect(contents(restored), "the state before the torn batch").toEqual(beforeLast)
      const repaired = [...log, ...written, ...restored.flush()]
      expect(contents(restoreFrom(spec, repaired)), "a later restore reads the torn records as ordinary ones").toEqual(beforeLast)
      expect(contents(restoreFrom(spec, compacted(repaired)))).toEqual(beforeLast)
    })))
})

describe("chunk size", () => {
  it("splits a group's changes into chunks that stay below the limit, a larger value alone in its own", () => {
    const store = new KeyValueStore(plain)
    for (let i = 0; i < 40; i++) store.put(["big", `m${i}`], "x".repeat(10_000))
    store.put(["big", "huge"], "y".repeat(200_000))
    const chunks = store.flush()
    expect(chunks.length, "several chunks for one group").toBeGreaterThan(3)
    for (const c of chunks) {
      const size = c.value!.length
      expect(size <= 150_010 || (size > 200_000 && size < 200_100), `chunk of ${size} characters`).toBe(true)
    }
    expect(contents(restoreFrom(plain, chunks))).toEqual(contents(store))
  })
})

describe("a store whose keys leave with their group", () => {
  /** An index as a long entity writes it: each key once when seen, again a few batches later when complete. */
  const indexRun = (spec: StoreSpec<Key, string>) => {
    const store = new KeyValueStore(spec)
    const log: Array<ChangelogEntry> = []
    for (let at = 0; at < 4_300; at += 100) {
      for (let i = at; i < Math.min(at + 100, 4_000); i++) store.put(["job", `r${i}`], "seen")
      for (let i = Math.max(0, at - 300); i < Math.min(at - 200, 4_000); i++) store.put(["job", `r${i}`], "complete")
      log.push(...store.flush())
    }
    return { store, log }
  }

  it("keeps each group's chunks and keys, a key once, where superseding chunks keeps per key its latest chunk, stale copies and a text per record", () => {
    const counted = indexRun(plain)
    const leaving = indexRun(groupWise)
    // Every chunk but the first three holds keys never written again, so it outlives the
    // older records it holds: a stale copy of nearly every key, and its text in two chunks.
    expect(bookkeepingOf(counted.store).stale.size).toBe(3_700)
    expect([...bookkeepingOf(counted.store).chunks.values()].reduce((n, c) => n + c.keys.length, 0)).toBe(7_700)
    const bookkeeping = groupBookkeepingOf(leaving.store)
    expect([...bookkeeping.membersOf("job")].length, "each key listed once").toBe(4_000)
    expect(bookkeeping.groupChunks.get("job")?.length, "a chunk per flush, none gone").toBe(43)
    expect(leaving.log.filter((e) => e.value === null), "no tombstone while the group runs").toEqual([])
    expect(counted.log.filter((e) => e.value === null).length, "the first three chunks held first records only").toBe(3)
    expect(leaving.log.filter((e) => e.value !== null), "the same chunks").toEqual(counted.log.filter((e) => e.value !== null))
    expect(contents(restoreFrom(groupWise, leaving.log))).toEqual(contents(counted.store))
    expect(contents(restoreFrom(groupWise, compacted(leaving.log)))).toEqual(contents(counted.store))
  })

  it("leaves nothing in the changelog, and nothing of the group in its bookkeeping, once its group goes", () => {
    const { store, log } = indexRun(groupWise)
    store.deleteGroup("job")
    log.push(...store.flush())
    expect(compacted(log)).toEqual([])
    expect(groupBookkeepingOf(store).groupMembers.size).toBe(0)
    expect(groupBookkeepingOf(store).groupChunks.size).toBe(0)
  })

  it("lists a key whose torn per-key record from before packing was rewritten, once a put brings it back", () => {
    // The last batch of the store before it was packed: two new keys, only the first record reached the topic.
    const unpacked: StoreSpec<Key, string> = { name: "unpacked", key: StoreKey.strings(2), value: Schema.String, groupOf: (k) => k[0] }
    const before = new KeyValueStore(unpacked)
    before.put(["job", "r1"], "seen")
    before.put(["job", "r2"], "seen")
    const torn = before.flush().slice(0, 1)
    // Restarted as a group-wise store: the torn record is skipped and its key rewritten; then the batch is read again.
    const store = new KeyValueStore(groupWise)
    for (const e of torn) store.rewrite(e.key)
    store.restored(0)
    store.put(["job", "r1"], "seen")
    store.put(["job", "r2"], "seen")
    store.flush()
    expect([...store.group("job")].map(([k]) => k[1]).sort()).toEqual(["r1", "r2"])
    const dropped: Array<string> = []
    store.dropGroup("job", ([, r]) => void dropped.push(r))
    expect(dropped.sort()).toEqual(["r1", "r2"])
    expect([...store.entries()]).toEqual([])
  })

  it("reports a chunk that deletes a single key (written before the store was declared group-wise) instead of restoring it", () => {
    // r2 keeps the first chunk alive, so r1's deletion is written (it hides r1's record there).
    const counted = new KeyValueStore(plain)
    counted.put(["job", "r1"], "seen")
    counted.put(["job", "r2"], "seen")
    const [first] = counted.flush()
    counted.delete(["job", "r1"])
    const [deletion] = counted.flush()
    const store = new KeyValueStore(groupWise)
    expect(Result.isSuccess(store.restore(first!))).toBe(true)
    const result = store.restore(deletion!)
    expect(Result.isFailure(result) && result.failure).toMatch(/deletes the single key "r1", which a store whose keys leave only with their group/)
  })

  it("refuses to delete a single key, and retention (which would)", () => {
    const store = new KeyValueStore(groupWise)
    store.put(["job", "r1"], "seen")
    expect(() => store.delete(["job", "r1"])).toThrow(/store "group-wise": its keys leave only with their group/)
    expect(() => new KeyValueStore({ ...groupWise, ttl: { ms: 1_000 } })).toThrow(/keysLeaveWithGroup cannot go with ttl/)
  })
})

describe("a store packed since its changelog was written", () => {
  it("restores the per-key records written before, then moves them into a chunk and tombstones them", () => {
    const unpacked: StoreSpec<Key, number> = { name: "index", key: StoreKey.strings(2), value: Schema.Number, groupOf: (k) => k[0] }
    const old = new KeyValueStore(unpacked)
    old.put(["job", "r1"], 5)
    old.put(["job", "r2"], 7)
    const legacy = old.flush()
    expect(legacy.map((e) => [e.key, e.value])).toEqual([["[\"job\",\"r1\"]", "{\"v\":1,\"value\":5}"], ["[\"job\",\"r2\"]", "{\"v\":1,\"value\":7}"]])
    const spec: StoreSpec<Key, number> = { ...unpacked, key: StoreKey.compactStrings(2), packed: packing }
    const store = new KeyValueStore(spec)
    for (const e of legacy) store.restore(e)
    store.restored(0)
    expect([...store.entries()]).toEqual([[["job", "r1"], 5], [["job", "r2"], 7]])
    const moved = store.flush()
    expect(moved.filter((e) => e.value === null).map((e) => e.key).sort(), "old records tombstoned").toEqual(legacy.map((e) => e.key).sort())
    expect(moved.filter((e) => e.value !== null).map((e) => [e.key, e.value]), "one chunk, numbers as they are").toEqual([["#1:job", "1|2:r11:52:r21:7"]])
    const again = new KeyValueStore(spec)
    for (const e of compacted([...legacy, ...moved])) again.restore(e)
    again.restored(0)
    expect([...again.entries()]).toEqual([[["job", "r1"], 5], [["job", "r2"], 7]])
  })
})

describe("undoing a record", () => {
  // `plain` keeps compact slots (no key object per entry): undo must find each key's group from its text.
  it.each([plain, raw, groupWise])("puts back every key, group and changelog record as they were before it ($name)", (spec) =>
    fc.assert(fc.property(batchesFor(spec), fc.array(opFor(spec), { minLength: 1, maxLength: 12 }), (script, undone) => {
      const store = new KeyValueStore(spec)
      const twin = new KeyValueStore(spec)
      for (const batch of script) {
        applyBoth(store, twin, batch)
        store.flush()
        twin.flush()
      }
      store.begin()
      for (const o of undone) apply(store, o)
      store.rollback()
      expect(contents(store)).toEqual(contents(twin))
      for (const g of ["g1", "g:2", "#3:x", ""]) expect([...store.group(g)].map(([k]) => k).sort(), `group ${g}`).toEqual([...twin.group(g)].map(([k]) => k).sort())
      expect(store.flush()).toEqual(twin.flush())
    })))
})

describe("changed keys", () => {
  const unpacked: StoreSpec<Key, string> = { name: "unpacked", key: StoreKey.compactStrings(2), value: Schema.String, groupOf: (k) => k[0] }
  const listed = (store: KeyValueStore<Key, string>) =>
    [...store.changed()].map(([k, v]) => `${JSON.stringify(k)}=${v === undefined ? "deleted" : JSON.stringify(v)}`).sort()

  // A packed store drops a group without tracking its keys one by one; it still lists each of them.
  it.each([plain, groupWise])("lists the same keys and values as a store that is not packed, dropped groups included ($name)", (spec) =>
    fc.assert(fc.property(batchesFor(spec), (script) => {
      const packed = new KeyValueStore(spec)
      const reference = new KeyValueStore(unpacked)
      for (const batch of script) {
        applyBoth(packed, reference, batch)
        expect(listed(packed)).toEqual(listed(reference))
        packed.flush()
        reference.flush()
      }
    })))
})
