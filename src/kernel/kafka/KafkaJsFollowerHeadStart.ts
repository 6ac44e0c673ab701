/**
 * A pause the group leader's assigner takes before answering, so the other members'
 * SyncGroup requests reach the coordinator before the leader's.
 */

const followerHeadStartMs = 1_000

/**
 * librdkafka's mock coordinator (the wire tests' broker) ends a sync with the leader's
 * SyncGroup and refuses a follower's that comes later; real brokers hold followers until
 * the leader's arrives. Letting the followers go first costs a second per rebalance, and
 * only when the group has more than one member.
 */
export const letFollowersSyncFirst = async (members: number): Promise<void> => {
  if (members > 1) await new Promise((resolve) => setTimeout(resolve, followerHeadStartMs))
}
