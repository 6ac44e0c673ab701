/**
 * A kafkajs partition assigner that gives every partition of every subscribed topic to one
 * member of the group, the one that joined first, and none to the others: they idle as
 * standbys (still heartbeating) and the oldest of them takes over when the active one leaves.
 * Per-key state lives in one process until partitions can move with their state, so the
 * members of one group must never split the partitions between them.
 */
import { AssignerProtocol, type PartitionAssigner } from "kafkajs"
import { letFollowersSyncFirst } from "./KafkaJsFollowerHeadStart.ts"

/** The group protocol name: members that do not speak it cannot join (no silent split). */
export const singleActiveProtocol = "SingleActiveMember"
const version = 0

/** A member's userData: when it joined (epoch ms), 8 bytes big-endian. */
const encodeJoinedAt = (joinedAt: number): Buffer => {
  const buffer = Buffer.alloc(8)
  buffer.writeBigInt64BE(BigInt(Math.trunc(joinedAt)))
  return buffer
}

/** Members without a readable join time rank last. */
const decodeJoinedAt = (metadata: Buffer): number => {
  const userData = AssignerProtocol.MemberMetadata.decode(metadata)?.userData
  return userData !== undefined && userData.length >= 8 ? Number(userData.readBigInt64BE(0)) : Number.MAX_SAFE_INTEGER
}

export interface Candidate {
  readonly memberId: string
  readonly joinedAt: number
}

/** The member that holds every partition: the earliest to join; ties by member id. */
export const activeMember = (members: ReadonlyArray<Candidate>): string | undefined =>
  [...members].sort((a, b) => a.joinedAt - b.joinedAt || (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))[0]?.memberId

/** The assigner for a member that joined at `joinedAt` (epoch ms). */
export const singleActiveAssigner = (joinedAt: number): PartitionAssigner => ({ cluster }) => ({
  name: singleActiveProtocol,
  version,
  async assign({ members, topics }) {
    await letFollowersSyncFirst(members.length)
    const active = activeMember(members.map((m) => ({ memberId: m.memberId, joinedAt: decodeJoinedAt(m.memberMetadata) })))
    const everything = Object.fromEntries(
      topics.map((topic) => [topic, cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId).sort((a, b) => a - b)])
    )
    return members.map((m) => ({
      memberId: m.memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version,
        assignment: m.memberId === active ? everything : {},
        userData: Buffer.alloc(0)
      })
    }))
  },
  protocol({ topics }) {
    return {
      name: singleActiveProtocol,
      metadata: AssignerProtocol.MemberMetadata.encode({ version, topics, userData: encodeJoinedAt(joinedAt) })
    }
  }
})
