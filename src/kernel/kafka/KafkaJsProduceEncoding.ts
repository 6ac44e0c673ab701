/**
 * Produce requests encoded in one pass into one buffer, byte for byte what kafkajs 2.2.4
 * (its last release) writes for a request of version 3 or later without compression.
 *
 * Why: kafkajs builds every record in an encoder of its own, allocates a buffer for every
 * varint, goes through a 64-bit integer object for every timestamp delta, and copies a
 * record's bytes about six times on their way into the request (record, batch body,
 * batch, partition, topic, request), then checksums the batch a byte at a time. On the
 * wire bench that was about a fifth of the service's event loop (the rows are a kilobyte
 * each) and much of its garbage. Here sizes are measured first, then one buffer of the
 * exact size is filled, and the checksum runs over it in place.
 *
 * Only what is known to come out the same is taken: keys, values and header values that
 * are strings, Buffers or absent, integer timestamp deltas, no compression, requests as
 * kafkajs's producer builds them (named topics, no holes in the records). Anything else
 * (gzip, another value type, a delta beyond 2^51, a request beyond 1 GiB) is left to
 * kafkajs's own encoding, which then behaves as it always did, errors included. A
 * property test compares both encodings.
 */
import { createRequire } from "node:module"
import { crc32c } from "./Crc32c.ts"
import { KafkaWireWriter, sizeOfVarInt, sizeOfVarLong, type WireLong } from "./KafkaWireWriter.ts"

const require = createRequire(import.meta.url)

interface KafkaJsEncoder {
  buf: Buffer
  offset: number
}

const Encoder: new (initialSize?: number) => KafkaJsEncoder = require("kafkajs/src/protocol/encoder.js")
/** kafkajs's 64-bit integers: the writer takes them as they are. */
const Long: { fromValue(value: unknown): WireLong } = require("kafkajs/src/utils/long.js")

interface ProduceMessage {
  readonly key?: unknown
  readonly value?: unknown
  readonly headers?: unknown
  readonly timestamp?: unknown
}
interface PartitionData {
  readonly partition: number
  readonly firstSequence?: number | undefined
  readonly messages: ReadonlyArray<ProduceMessage | undefined>
}
interface TopicData {
  readonly topic: string
  readonly partitions: ReadonlyArray<PartitionData>
}
/** What kafkajs's producer hands a Produce request of version 3 and later. */
export interface ProduceRequestArgs {
  readonly acks: number
  readonly timeout: number
  readonly compression?: number | undefined
  readonly topicData: ReadonlyArray<TopicData>
  readonly transactionalId?: string | null | undefined
  readonly producerId?: unknown
  readonly producerEpoch?: number | undefined
}

const NO_COMPRESSION = 0
const TRANSACTIONAL = 16
const MAGIC_BYTE = 2
/** Zigzag keeps such deltas exact in a double (kafkajs's record timestamps are milliseconds). */
const MAX_FAST_DELTA = 2 ** 51
/** Attributes to producer epoch, first sequence and the record count: the batch body's fixed part. */
const BATCH_BODY_HEAD = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4
/** Partition leader epoch, magic byte and checksum, ahead of the body. */
const BATCH_HEAD = 4 + 1 + 4
/** kafkajs's encoder grows its buffers by powers of two and fails past 1 GiB. */
const MAX_REQUEST_BYTES = 2 ** 30

/** Bytes of a key, value or header value as kafkajs writes it; -1 for absent; undefined for a type not taken here. */
const byteLengthOf = (value: unknown): number | undefined =>
  value == null ? -1 : Buffer.isBuffer(value) ? value.length : typeof value === "string" ? Buffer.byteLength(value) : undefined

const sizeOfBytes = (length: number): number => (length < 0 ? sizeOfVarInt(-1) : sizeOfVarInt(length) + length)

/** The header values of one name, in the order kafkajs writes them. */
const valuesOf = (value: unknown): ReadonlyArray<unknown> => (Array.isArray(value) ? value : [value])

/** The headers' encoded size, or undefined for headers kafkajs would encode otherwise (or reject). */
const sizeOfHeaders = (headers: unknown): number | undefined => {
  if (headers === undefined) return sizeOfVarInt(0)
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) return undefined
  let count = 0
  let size = 0
  for (const name of Object.keys(headers)) {
    const nameLength = Buffer.byteLength(name)
    for (const value of valuesOf((headers as Record<string, unknown>)[name])) {
      const length = byteLengthOf(value)
      if (length === undefined || length < 0) return undefined
      size += sizeOfVarInt(nameLength) + nameLength + sizeOfVarInt(length) + length
      count++
    }
  }
  return sizeOfVarInt(count) + size
}

/** A partition's batch, measured: what the second pass writes without measuring again. */
interface PlannedBatch {
  readonly data: PartitionData
  readonly firstTimestamp: WireLong
  readonly maxTimestamp: WireLong
  readonly deltas: ReadonlyArray<number>
  readonly recordSizes: ReadonlyArray<number>
  /** From the partition leader epoch to the last record. */
  readonly length: number
}

/**
 * kafkajs sorts the timestamps as strings (`Array.prototype.sort` without a comparator)
 * and takes the first and last: the same choice, in one pass.
 */
const timestampRange = (messages: ReadonlyArray<ProduceMessage | undefined>, now: number): readonly [unknown, unknown] => {
  let first: unknown = undefined
  let firstText = ""
  let last: unknown = undefined
  let lastText = ""
  for (const m of messages) {
    // Holes and null messages are planBatch's to refuse.
    if (m?.timestamp == null) continue
    const text = String(m.timestamp)
    if (first === undefined || text < firstText) (first = m.timestamp), (firstText = text)
    if (last === undefined || text >= lastText) (last = m.timestamp), (lastText = text)
  }
  return first === undefined ? [now, now] : [first, last]
}

/** kafkajs's 64-bit integer of a value, or undefined where kafkajs's conversion throws (it then throws itself). */
const toLong = (value: unknown): WireLong | undefined => {
  try {
    return Long.fromValue(value)
  } catch {
    return undefined
  }
}

const planBatch = (data: PartitionData): PlannedBatch | undefined => {
  const now = Date.now()
  const [first, max] = timestampRange(data.messages, now)
  const firstTimestamp = toLong(first)
  const maxTimestamp = toLong(max)
  if (firstTimestamp === undefined || maxTimestamp === undefined) return undefined
  const deltas: Array<number> = []
  const recordSizes: Array<number> = []
  let length = BATCH_HEAD + BATCH_BODY_HEAD
  for (let i = 0; i < data.messages.length; i++) {
    const m = data.messages[i]
    // A hole or a null record: kafkajs writes a broken batch of it, or throws; left to it.
    if (m === undefined || m === null) return undefined
    // The same expression as kafkajs's, so strings and numbers mix as they do there.
    const delta = ((m.timestamp || now) as number) - (first as number)
    if (!Number.isSafeInteger(delta) || Math.abs(delta) > MAX_FAST_DELTA) return undefined
    const key = byteLengthOf(m.key)
    const value = byteLengthOf(m.value)
    const headers = sizeOfHeaders(m.headers)
    if (key === undefined || value === undefined || headers === undefined) return undefined
    const size = 1 + sizeOfVarLong(delta) + sizeOfVarInt(i) + sizeOfBytes(key) + sizeOfBytes(value) + headers
    deltas.push(delta)
    recordSizes.push(size)
    length += sizeOfVarInt(size) + size
  }
  return { data, firstTimestamp, maxTimestamp, deltas, recordSizes, length }
}

/** A record's headers, as `sizeOfHeaders` measured them. */
const writeHeaders = (w: KafkaWireWriter, headers: unknown) => {
  if (headers === undefined) return w.varInt(0)
  const entries = headers as Record<string, unknown>
  let count = 0
  for (const name of Object.keys(entries)) count += valuesOf(entries[name]).length
  w.varInt(count)
  for (const name of Object.keys(entries)) {
    for (const value of valuesOf(entries[name])) {
      w.bytes(name)
      w.bytes(value as Buffer | string)
    }
  }
}

const ZERO = Long.fromValue(0)

interface RequestHead {
  readonly producerId: WireLong
  readonly producerEpoch: number
  readonly transactional: boolean
}

const writeBatch = (w: KafkaWireWriter, batch: PlannedBatch, head: RequestHead) => {
  const { data } = batch
  w.int32(data.partition)
  w.int32(8 + 4 + batch.length) // the record batch's size: first offset, length, then the batch
  w.int64(ZERO) // first offset
  w.int32(batch.length)
  w.int32(0) // partition leader epoch
  w.int8(MAGIC_BYTE)
  const crcAt = w.at
  w.at += 4
  const bodyAt = w.at
  w.int16(NO_COMPRESSION | (head.transactional ? TRANSACTIONAL : 0))
  w.int32(data.messages.length - 1) // last offset delta
  w.int64(batch.firstTimestamp)
  w.int64(batch.maxTimestamp)
  w.int64(head.producerId)
  w.int16(head.producerEpoch)
  w.int32(data.firstSequence ?? 0)
  w.int32(data.messages.length)
  for (let i = 0; i < data.messages.length; i++) {
    const m = data.messages[i]!
    w.varInt(batch.recordSizes[i]!)
    w.int8(0) // record attributes, unused
    w.varLong(batch.deltas[i]!)
    w.varInt(i)
    // Strings, Buffers or absent: planBatch took nothing else.
    w.bytes(m.key as Buffer | string | null | undefined)
    w.bytes(m.value as Buffer | string | null | undefined)
    writeHeaders(w, m.headers)
  }
  w.buf.writeUInt32BE(crc32c(w.buf, bodyAt, w.at), crcAt)
}

/**
 * The request's body as a kafkajs encoder, or undefined when kafkajs's own encoding must
 * write it (see the module's comment).
 */
export const encodeProduceRequest = (args: ProduceRequestArgs): KafkaJsEncoder | undefined => {
  // kafkajs defaults only an absent compression: null is its own (failing) case.
  if ((args.compression === undefined ? NO_COMPRESSION : args.compression) !== NO_COMPRESSION) return undefined
  const transactionalId = args.transactionalId ?? null
  const producerId = toLong(args.producerId === undefined ? -1 : args.producerId)
  if (producerId === undefined) return undefined
  const head: RequestHead = { producerId, producerEpoch: args.producerEpoch ?? 0, transactional: !!transactionalId }
  let size = (transactionalId === null ? 0 : Buffer.byteLength(transactionalId)) + 2 + 2 + 4 + 4
  const topics: Array<ReadonlyArray<PlannedBatch>> = []
  for (const topic of args.topicData) {
    if (typeof topic.topic !== "string") return undefined
    const batches: Array<PlannedBatch> = []
    size += 2 + Buffer.byteLength(topic.topic) + 4
    for (const data of topic.partitions) {
      const batch = planBatch(data)
      if (batch === undefined) return undefined
      batches.push(batch)
      size += 4 + 4 + 8 + 4 + batch.length
    }
    topics.push(batches)
  }
  // kafkajs's failure, not a success here.
  if (size > MAX_REQUEST_BYTES) return undefined
  const w = new KafkaWireWriter(Buffer.allocUnsafe(size))
  w.string(transactionalId)
  w.int16(args.acks)
  w.int32(args.timeout)
  w.int32(args.topicData.length)
  for (let t = 0; t < topics.length; t++) {
    w.string(args.topicData[t]!.topic)
    w.int32(topics[t]!.length)
    for (const batch of topics[t]!) writeBatch(w, batch, head)
  }
  if (w.at !== size) throw new Error(`produce request measured ${size} bytes and wrote ${w.at}`)
  const encoder = new Encoder(0)
  encoder.buf = w.buf
  encoder.offset = size
  return encoder
}

const MARK = Symbol.for("kafkajs.produceEncoding.fast")

interface BuiltRequest {
  request?: { encode?: () => Promise<unknown> }
}
interface ProduceProtocol {
  protocol: (selected: { version: number }) => unknown
  [MARK]?: true
}

/**
 * Routes kafkajs's Produce requests (version 3 and later) through `encodeProduceRequest`,
 * once, before any client produces. kafkajs looks its request builder up on every
 * produce, so the patch holds whichever client loaded first. False if kafkajs's
 * produce protocol is not the shape this module knows: nothing is patched then.
 */
export const applyProduceEncoding = (): boolean => {
  const produce: ProduceProtocol = require("kafkajs/src/protocol/requests/produce/index.js")
  if (produce[MARK] === true) return true
  const lookUp = produce.protocol
  if (typeof lookUp !== "function") return false
  produce.protocol = (selected) => {
    const build = lookUp(selected)
    if (selected.version < 3 || typeof build !== "function") return build
    return (args: ProduceRequestArgs): unknown => {
      const built = build(args) as BuiltRequest
      const request = built?.request
      const ownEncode = request?.encode
      if (request === undefined || typeof ownEncode !== "function") return built
      request.encode = async () => encodeProduceRequest(args) ?? ownEncode()
      return built
    }
  }
  produce[MARK] = true
  return true
}
