/**
 * Kafka's wire encoding into a buffer measured beforehand: big-endian integers, the
 * zigzag varints of record batches, length-prefixed strings and bytes, and the sizes
 * they take, so that a request can be measured first and then written in one pass.
 */

/** A 64-bit integer as its two 32-bit halves (kafkajs's `Long` is one). */
export interface WireLong {
  getHighBits(): number
  getLowBits(): number
}

export const sizeOfVarInt = (value: number): number => {
  let zigzag = (value << 1) ^ (value >> 31)
  let bytes = 1
  while ((zigzag & 0xffffff80) !== 0) {
    bytes++
    zigzag >>>= 7
  }
  return bytes
}

/** Exact for |value| up to 2^52: the zigzag form stays below 2^53. */
const zigzag64 = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1)

export const sizeOfVarLong = (value: number): number => {
  let rest = zigzag64(value)
  let bytes = 1
  while (rest >= 128) {
    bytes++
    rest = Math.floor(rest / 128)
  }
  return bytes
}

/** Writes into a buffer of the exact size measured beforehand (`at` is where the next byte goes). */
export class KafkaWireWriter {
  at = 0
  constructor(readonly buf: Buffer) {}

  int8(value: number) {
    this.at = this.buf.writeInt8(value, this.at)
  }
  int16(value: number) {
    this.at = this.buf.writeInt16BE(value, this.at)
  }
  int32(value: number) {
    this.at = this.buf.writeInt32BE(value, this.at)
  }
  int64(value: WireLong) {
    this.int32(value.getHighBits())
    this.int32(value.getLowBits())
  }
  string(value: string | null) {
    if (value == null) return this.int16(-1)
    const length = Buffer.byteLength(value)
    this.int16(length)
    this.at += this.buf.write(value, this.at, length, "utf8")
  }
  varInt(value: number) {
    let rest = (value << 1) ^ (value >> 31)
    while ((rest & 0xffffff80) !== 0) {
      this.buf[this.at++] = (rest & 0x7f) | 0x80
      rest >>>= 7
    }
    this.buf[this.at++] = rest & 0x7f
  }
  varLong(value: number) {
    let rest = zigzag64(value)
    while (rest >= 128) {
      this.buf[this.at++] = (rest % 128) | 0x80
      rest = Math.floor(rest / 128)
    }
    this.buf[this.at++] = rest
  }
  /** Length-prefixed bytes (a varint, -1 for absent), from a Buffer or a string (UTF-8). */
  bytes(value: Buffer | string | null | undefined) {
    if (value == null) return this.varInt(-1)
    if (typeof value !== "string") {
      this.varInt(value.length)
      this.at += value.copy(this.buf, this.at)
      return
    }
    const length = Buffer.byteLength(value)
    this.varInt(length)
    this.at += this.buf.write(value, this.at, length, "utf8")
  }
}
