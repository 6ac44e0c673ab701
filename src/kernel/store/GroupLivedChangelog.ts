/**
 * The changelog of a packed store whose keys leave only with their group
 * (`Packing.keysLeaveWithGroup`, e.g. an index dropped when its entity ends): its chunks
 * live as long as their group, and go all together when it does.
 *
 * Why: PackedChangelog tombstones a chunk once later chunks have superseded every record
 * in it, which costs, per key, the chunk of its latest record and its stale copies, and
 * per chunk the list of its keys. Keys written in two events each (a review seen, then
 * complete) in chunks that also hold final records of other keys keep every chunk alive
 * anyway while the group runs, so that bookkeeping bought nothing and was most of a
 * running entity's memory. Here the bookkeeping is the chunks of each group and each
 * group's keys, listed once; a running group's superseded records stay in the topic
 * until it ends (a restore reads them and keeps the latest of each key).
 *
 * A key's record is never a deletion: its store refuses to delete a single key, and a
 * dropped group's chunks are tombstoned whole.
 */
import { chunkKey, type Member } from "./ChunkFormat.ts"
import { ChunkLogBase, type ApplyRestored, type ChunkEntry, type ChunkLog, type PackedChange } from "./ChunkLog.ts"
import { TextList } from "./TextList.ts"

export class GroupLivedChangelog<K, V> extends ChunkLogBase<K, V> implements ChunkLog<K, V> {
  /** Each group's chunks (sequence numbers), to tombstone when the group goes. */
  private readonly groupChunks = new Map<string, Array<number>>()
  /**
   * Each group's keys by member, a key listed once when first written (again after a
   * restore that rewrites it). Outside the JS heap: a running group may have a million.
   */
  private readonly groupMembers = new Map<string, TextList>()

  flush(
    changes: ReadonlyArray<PackedChange<K, V>>,
    groupAlive: (group: string) => boolean,
    fresh: (change: PackedChange<K, V>, group: string) => boolean
  ): ReadonlyArray<ChunkEntry> {
    const out: Array<ChunkEntry> = []
    this.tombstoneDoomed(out)
    this.writeGroups(
      changes,
      groupAlive,
      // A key that is gone belongs to a dropped group, whose chunks went with it.
      (change) => change.slot !== undefined,
      (group, seq, held) => {
        this.chunksOf(group).push(seq)
        for (const change of held) if (fresh(change, group)) this.list(group, this.packing.member(change.key))
      },
      out
    )
    return out
  }

  dropGroup(group: string, out: Array<ChunkEntry>): void {
    for (const seq of this.groupChunks.get(group) ?? []) out.push({ key: chunkKey(seq, group), value: null })
    this.groupChunks.delete(group)
    this.groupMembers.delete(group)
  }

  *membersOf(group: string): IterableIterator<string> {
    for (const member of this.groupMembers.get(group) ?? []) yield this.keyCodec.encode(this.packing.key(group, member))
  }

  /**
   * A deletion of a single key: written by this store before it was declared
   * keysLeaveWithGroup. Its chunks would then have to live on after their keys (and a
   * torn deletion be written again), which this changelog does not do: the chunk is
   * reported and skipped instead of being restored wrongly.
   */
  protected override refuse(members: ReadonlyArray<Member<V>>): string | undefined {
    const deleted = members.find((m) => m.value === undefined)
    return deleted === undefined
      ? undefined
      : `it deletes the single key ${JSON.stringify(deleted.member)}, which a store whose keys leave only with their group (keysLeaveWithGroup) never writes: a store that deleted single keys cannot be declared so while its changelog holds such deletions`
  }

  /** Every key listed had a value at the last flush: no key leaves but with its group, which takes its list along. */
  hasValue(_text: string): boolean {
    return true
  }

  /** A key that is gone went with its group, and so did its records. */
  holds(_text: string): boolean {
    return false
  }

  restored(
    apply: ApplyRestored<K, V>,
    dirty: (text: string, key: K) => void,
    legacyKeys: ReadonlyArray<readonly [string, K]>,
    exists: (text: string) => boolean
  ): void {
    /** Keys whose latest record is in a chunk whose write was cut short, with their key. */
    const tornLatest = new Map<string, K>()
    for (const { seq, group, members } of this.takePending()) {
      const torn = this.torn.has(seq)
      // A torn chunk is tombstoned (see `rewrite`); what it held latest is written again.
      if (!torn) this.chunksOf(group).push(seq)
      for (const { key, text, member } of members) {
        if (!exists(text)) this.list(group, member.member)
        apply(text, key, member.value, member.writtenAt)
        if (torn) tornLatest.set(text, key)
        else tornLatest.delete(text)
      }
    }
    this.torn.clear()
    for (const [text, key] of tornLatest) dirty(text, key)
    // Records from before packing restore as per-key values: listed here, moved into a chunk at the next flush.
    for (const [text, key] of legacyKeys) {
      this.list(this.groupOf(key), this.packing.member(key))
      dirty(text, key)
    }
  }

  private chunksOf(group: string): Array<number> {
    let seqs = this.groupChunks.get(group)
    if (seqs === undefined) this.groupChunks.set(group, seqs = [])
    return seqs
  }

  private list(group: string, member: string): void {
    let members = this.groupMembers.get(group)
    if (members === undefined) this.groupMembers.set(group, members = new TextList())
    members.push(member)
  }
}
