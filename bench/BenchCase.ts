/**
 * The bench cases and their inputs: one job of N reviews, N reviews in jobs of 200, and one
 * job sent in batch envelopes (SPEC 3), all from the project's generator, clean (every job
 * must end aggregation/done) and identical on both paths for the same size.
 */
import { generateJobLines, type InputTopic } from "../src/app/ReviewGenerator.ts"
import type { CaseName, PathName } from "./BenchArgs.ts"

export const JOB_SIZE = 200
export const ENVELOPE_SIZE = 100

const DEFAULT_REVIEWS: Readonly<Record<PathName, Readonly<Record<CaseName, number>>>> = {
  inprocess: { "one-job": 1_000_000, "many-jobs": 1_000 * JOB_SIZE, envelopes: 1_000_000 },
  wire: { "one-job": 200_000, "many-jobs": 1_000 * JOB_SIZE, envelopes: 200_000 }
}

export interface CaseSize {
  readonly case: CaseName
  readonly reviews: number
  readonly jobs: number
  /** Reviews of each job but maybe the last, which has the rest. */
  readonly reviewsPerJob: number
  /** Reviews per batch envelope; 0: one record per message. */
  readonly envelopeSize: number
}

export const caseSize = (path: PathName, name: CaseName, reviews: number | undefined): CaseSize => {
  const n = reviews ?? DEFAULT_REVIEWS[path][name]
  if (name === "many-jobs") {
    const perJob = Math.min(JOB_SIZE, n)
    return { case: name, reviews: n, jobs: Math.ceil(n / perJob), reviewsPerJob: perJob, envelopeSize: 0 }
  }
  return { case: name, reviews: n, jobs: 1, reviewsPerJob: n, envelopeSize: name === "envelopes" ? ENVELOPE_SIZE : 0 }
}

export const jobIdOf = (size: CaseSize, index: number): string => (size.jobs === 1 ? "bench" : `bench-${String(index).padStart(5, "0")}`)

export interface BenchLine {
  readonly topic: InputTopic
  readonly value: Uint8Array
  /** Review records the message carries: 0 for control, the elements of an envelope, else 1. */
  readonly records: number
}

const ENVELOPE = /^\{"job_id":"[^"]*","(reviews|results)":\[/
const utf8 = new TextEncoder()

/**
 * Messages are cut from 1 MiB slabs, as a consumer's records are views of its fetch
 * responses: a buffer of its own per message left the allocator's freed memory behind
 * the floor's run, counted in the task's RSS (about 30 MiB at 200,000 reviews).
 */
const SLAB_BYTES = 1 << 20
let slab = new Uint8Array(0)
let used = 0
const bytesOf = (text: string): Uint8Array => {
  if (text.length * 3 > SLAB_BYTES / 4) return utf8.encode(text)
  if (used + text.length * 3 > slab.byteLength) {
    slab = new Uint8Array(SLAB_BYTES)
    used = 0
  }
  const { written } = utf8.encodeInto(text, slab.subarray(used))
  const bytes = slab.subarray(used, used + written)
  used += written
  return bytes
}

const recordsOf = (topic: InputTopic, value: string): number => {
  if (topic === "control") return 0
  const envelope = ENVELOPE.exec(value)
  return envelope === null ? 1 : (JSON.parse(value) as Record<string, ReadonlyArray<unknown>>)[envelope[1]!]!.length
}

/**
 * The case's messages in the order upstreams write them: each job's collection message,
 * then its transform and analysis messages. Streamed (memory O(one envelope)); the same
 * bytes every time for the same size.
 */
export function* caseLines(size: CaseSize): Generator<BenchLine> {
  for (let j = 0; j < size.jobs; j++) {
    const reviews = Math.min(size.reviewsPerJob, size.reviews - j * size.reviewsPerJob)
    const lines = generateJobLines({
      jobId: jobIdOf(size, j),
      reviews,
      seed: 1 + j,
      batchSize: size.envelopeSize,
      badShare: 0,
      duplicateShare: 0
    })
    for (let step = lines.next(); step.done !== true; step = lines.next()) {
      const { topic, value } = step.value
      yield { topic, value: bytesOf(value), records: recordsOf(topic, value) }
    }
  }
}

/** What a case's input adds up to. */
export interface InputTally {
  readonly messages: number
  readonly records: number
  readonly bytes: number
  readonly perTopic: Readonly<Record<InputTopic, { readonly messages: number; readonly bytes: number }>>
}

export const newTally = () => ({
  messages: 0,
  records: 0,
  bytes: 0,
  perTopic: { transform: { messages: 0, bytes: 0 }, analysis: { messages: 0, bytes: 0 }, control: { messages: 0, bytes: 0 } }
})

export const count = (tally: ReturnType<typeof newTally>, line: BenchLine): void => {
  tally.messages++
  tally.records += line.records
  tally.bytes += line.value.byteLength
  tally.perTopic[line.topic].messages++
  tally.perTopic[line.topic].bytes += line.value.byteLength
}
