/**
 * The co-partitioned assignment rule, shared by the kafkajs assigner and the embedded
 * broker: partition p of every subscribed topic goes to one member, so state keyed the
 * same way on all of them (a job's records, its changelog) lives in one place.
 */

export interface PartitionedTopic {
  readonly topic: string
  readonly partitions: number
}

/** Partition numbers per member id; every member of the group has an entry, perhaps empty. */
export type PartitionNumbers = ReadonlyMap<string, ReadonlyArray<number>>

/** Why the rule refuses: co-partitioning needs every topic to have the same partition count. */
export class CoPartitioningError extends Error {
  override readonly name = "CoPartitioningError"
}

/**
 * The partition count all topics share. Topics with different counts are refused, not
 * assigned by their common prefix: the partitions past it would hold keys whose state
 * partition does not exist, so a silent assignment would split a key's state.
 */
export const sharedPartitionCount = (topics: ReadonlyArray<PartitionedTopic>): number => {
  const counts = new Set(topics.map((t) => t.partitions))
  if (counts.size > 1) {
    throw new CoPartitioningError(
      `co-partitioned topics must have the same number of partitions, but ${topics.map((t) => `${t.topic} has ${t.partitions}`).join(", ")}`
    )
  }
  return topics[0]?.partitions ?? 0
}

/**
 * Spreads partitions 0..count-1 over `members` (ids, in any order; sorted here so every
 * caller computes the same result). Balanced: each member gets floor or ceil of
 * count/members. Sticky: a member keeps what it held in `previous` up to its share, so a
 * join or leave moves only the partitions it must; the rest go out in ranges, in id order.
 */
export const assignPartitions = (
  members: ReadonlyArray<string>,
  count: number,
  previous: PartitionNumbers = new Map()
): PartitionNumbers => {
  const ids = [...new Set(members)].sort()
  const result = new Map<string, Array<number>>(ids.map((id) => [id, []]))
  if (ids.length === 0) return result
  const base = Math.floor(count / ids.length)
  let extra = count % ids.length
  const kept = (id: string) => (previous.get(id) ?? []).filter((p) => Number.isInteger(p) && p >= 0 && p < count)
  // The members that held most get the larger shares, so fewer partitions move.
  const byHeld = [...ids].sort((a, b) => kept(b).length - kept(a).length || (a < b ? -1 : 1))
  const quota = new Map<string, number>()
  for (const id of byHeld) quota.set(id, base + (extra-- > 0 ? 1 : 0))
  const taken = new Set<number>()
  for (const id of byHeld) {
    const mine = result.get(id)!
    for (const p of [...new Set(kept(id))].sort((a, b) => a - b)) {
      if (mine.length >= quota.get(id)! || taken.has(p)) continue
      mine.push(p)
      taken.add(p)
    }
  }
  let member = 0
  for (let p = 0; p < count; p++) {
    if (taken.has(p)) continue
    while (result.get(ids[member]!)!.length >= quota.get(ids[member]!)!) member++
    result.get(ids[member]!)!.push(p)
  }
  for (const list of result.values()) list.sort((a, b) => a - b)
  return result
}

/** The rule in topic terms: per member, each topic with the member's partition numbers. */
export const assignCoPartitioned = (
  members: ReadonlyArray<string>,
  topics: ReadonlyArray<PartitionedTopic>,
  previous: PartitionNumbers = new Map()
): ReadonlyMap<string, Readonly<Record<string, ReadonlyArray<number>>>> => {
  const numbers = assignPartitions(members, sharedPartitionCount(topics), previous)
  return new Map([...numbers].map(([id, partitions]) => [id, Object.fromEntries(topics.map((t) => [t.topic, partitions]))]))
}
