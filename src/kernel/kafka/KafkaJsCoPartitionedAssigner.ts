/**
 * A kafkajs partition assigner for co-partitioned topics: partition p of every subscribed
 * topic goes to the same member (CoPartitionedAssignment), balanced over the members and
 * kept where it was when possible, so a member's state for partition p stays whole.
 */
import { AssignerProtocol, type PartitionAssigner } from "kafkajs"
import { assignCoPartitioned } from "./CoPartitionedAssignment.ts"
import { letFollowersSyncFirst } from "./KafkaJsFollowerHeadStart.ts"

/** The group protocol name: members that do not speak it cannot join (no mixed rules in a group). */
export const coPartitionedProtocol = "CoPartitioned"
const version = 0

/** A member's userData: the partition numbers it holds now, as 32-bit big-endian integers. */
const encodeHeld = (partitions: ReadonlyArray<number>): Buffer => {
  const buffer = Buffer.alloc(4 * partitions.length)
  partitions.forEach((p, i) => buffer.writeInt32BE(p, 4 * i))
  return buffer
}

const decodeHeld = (metadata: Buffer): ReadonlyArray<number> => {
  const userData = AssignerProtocol.MemberMetadata.decode(metadata)?.userData ?? Buffer.alloc(0)
  return Array.from({ length: Math.floor(userData.length / 4) }, (_, i) => userData.readInt32BE(4 * i))
}

/**
 * The assigner; `held` tells which partition numbers this member holds when it (re)joins,
 * so the group leader can leave them in place. Topics with different partition counts
 * make the leader's assignment fail with a CoPartitioningError naming them.
 */
export const coPartitionedAssigner = (held: () => ReadonlyArray<number>): PartitionAssigner => ({ cluster }) => ({
  name: coPartitionedProtocol,
  version,
  async assign({ members, topics }) {
    await letFollowersSyncFirst(members.length)
    const plan = assignCoPartitioned(
      members.map((m) => m.memberId),
      topics.map((topic) => ({ topic, partitions: cluster.findTopicPartitionMetadata(topic).length })),
      new Map(members.map((m) => [m.memberId, decodeHeld(m.memberMetadata)]))
    )
    return members.map((m) => ({
      memberId: m.memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version,
        assignment: Object.fromEntries(Object.entries(plan.get(m.memberId) ?? {}).map(([topic, ps]) => [topic, [...ps]])),
        userData: Buffer.alloc(0)
      })
    }))
  },
  protocol({ topics }) {
    return {
      name: coPartitionedProtocol,
      metadata: AssignerProtocol.MemberMetadata.encode({ version, topics, userData: encodeHeld(held()) })
    }
  }
})
