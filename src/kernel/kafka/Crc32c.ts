/**
 * CRC-32C (Castagnoli), the checksum of a Kafka record batch, over a byte range in place.
 * Slice-by-8: eight bytes per step through eight tables, about three times the speed of
 * the byte-at-a-time loop kafkajs uses, without copying the range out first.
 */

const POLYNOMIAL = 0x82f63b78

const makeTables = (): ReadonlyArray<Int32Array> => {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256))
  const first = tables[0]!
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1
    first[n] = c
  }
  for (let n = 0; n < 256; n++) {
    let c = first[n]!
    for (let t = 1; t < 8; t++) {
      c = first[c & 0xff]! ^ (c >>> 8)
      tables[t]![n] = c
    }
  }
  return tables
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = makeTables() as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array]

/** The CRC-32C of `bytes[start, end)`, as an unsigned 32-bit integer. */
export const crc32c = (bytes: Uint8Array, start = 0, end = bytes.length): number => {
  let crc = -1
  let i = start
  for (const last = end - 8; i <= last; i += 8) {
    const low = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))
    crc = T7[low & 0xff]! ^ T6[(low >>> 8) & 0xff]! ^ T5[(low >>> 16) & 0xff]! ^ T4[low >>> 24]! ^
      T3[bytes[i + 4]!]! ^ T2[bytes[i + 5]!]! ^ T1[bytes[i + 6]!]! ^ T0[bytes[i + 7]!]!
  }
  for (; i < end; i++) crc = T0[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ -1) >>> 0
}
