/**
 * Kafka's default key partitioner hash (murmur2, as in the Java client and kafkajs),
 * so the embedded broker places keys on the same partitions a real cluster would.
 */
const SEED = 0x9747b28c
const M = 0x5bd1e995

export const murmur2 = (data: Uint8Array): number => {
  const length = data.length
  let h = (SEED ^ length) | 0
  const blocks = length >> 2
  for (let i = 0; i < blocks; i++) {
    const o = i << 2
    let k = (data[o]! & 0xff) | ((data[o + 1]! & 0xff) << 8) | ((data[o + 2]! & 0xff) << 16) | ((data[o + 3]! & 0xff) << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const tail = blocks << 2
  const rest = length & 3
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8
  if (rest >= 1) {
    h ^= data[tail]! & 0xff
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h
}

/** Partition of a keyed record: `toPositive(murmur2(key)) % partitions`. */
export const partitionForKey = (key: Uint8Array, partitions: number): number =>
  (murmur2(key) & 0x7fffffff) % partitions
