/**
 * kafkajs's default partitioner (Java's: murmur2 of the key, round robin for records
 * without one), making the same choices without its costs: kafkajs hashes a key through a
 * 64-bit integer object built on BigInt for every four bytes, and lists the partitions
 * with a leader for every record, even one whose partition is given. On the wire bench
 * that was about a tenth of the service's allocation. The hash is the kernel's own
 * (`Murmur2.ts`, which the embedded broker and the repartition stage use too).
 *
 * One difference, on purpose: kafkajs keeps its round-robin counters in a plain object,
 * so for a topic named like one of `Object.prototype`'s members (`constructor`,
 * `toString`, ...) its counter is NaN and every keyless record goes to partition 0; here
 * such a topic's keyless records spread like any other's.
 */
import { randomBytes } from "node:crypto"
import type { ICustomPartitioner } from "kafkajs"
import { partitionForKey } from "./Murmur2.ts"

const toPositive = (x: number): number => x & 0x7fffffff

export const murmur2Partitioner: ICustomPartitioner = () => {
  // Per topic, from a random start, as kafkajs's: keyless records spread over the partitions.
  const counters = new Map<string, number>()
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition
    const key = message.key
    if (key !== null && key !== undefined) {
      return partitionForKey(Buffer.isBuffer(key) ? key : Buffer.from(String(key)), partitionMetadata.length)
    }
    const counter = (counters.get(topic) ?? randomBytes(4).readUInt32BE(0)) + 1
    counters.set(topic, counter)
    const available = partitionMetadata.filter((p) => p.leader >= 0)
    // No partition with a leader: a partition all the same, as kafkajs does (the send then fails and is retried).
    return available.length > 0 ? available[toPositive(counter) % available.length]!.partitionId : toPositive(counter) % partitionMetadata.length
  }
}
