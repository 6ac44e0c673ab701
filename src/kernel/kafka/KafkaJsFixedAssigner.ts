/**
 * A kafkajs partition assigner for a throwaway, one-member group that reads chosen
 * partitions of a topic (kafkajs has no group-less assignment): the member gets only
 * those, so nothing else is fetched.
 */
import { AssignerProtocol, type PartitionAssigner } from "kafkajs"

const version = 0

export const fixedAssigner = (partitions: ReadonlyArray<number>): PartitionAssigner => () => ({
  name: "FixedPartitions",
  version,
  async assign({ members, topics }) {
    return members.map((m, i) => ({
      memberId: m.memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version,
        // A second member would be a stray: it gets nothing, so no partition is read twice.
        assignment: i === 0 ? Object.fromEntries(topics.map((topic) => [topic, [...partitions]])) : {},
        userData: Buffer.alloc(0)
      })
    }))
  },
  protocol({ topics }) {
    return { name: "FixedPartitions", metadata: AssignerProtocol.MemberMetadata.encode({ version, topics, userData: Buffer.alloc(0) }) }
  }
})
