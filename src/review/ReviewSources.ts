/**
 * Typed sources of the three input topics: batch envelopes (`reviews`, `results`)
 * whose elements inherit the envelope's `job_id`, and the `dlq.job_id` header on a
 * dead letter whose job could be read.
 */
import * as Source from "../kernel/source/Source.ts"
import type { JsonObject } from "../kernel/source/JsonMessage.ts"
import { AnalysisRecord } from "./schema/AnalysisRecord.ts"
import { ControlRecordInput } from "./schema/ControlRecord.ts"
import { fastAnalysis, fastTransform } from "./schema/FastPath.ts"
import { normaliseTransform, TransformRecordInput } from "./schema/TransformRecord.ts"

export interface InputTopics {
  readonly transformTopic: string
  readonly analysisTopic: string
  readonly controlTopic: string
}

/** An id field of an undecodable element, if it is readable. */
export const readableId = (raw: JsonObject | undefined, field: string): string | undefined => {
  const v = raw?.[field]
  return typeof v === "string" && v.length > 0 ? v : undefined
}

const jobHeader = (raw: JsonObject | undefined) => {
  const jobId = readableId(raw, "job_id")
  return jobId === undefined ? undefined : { "dlq.job_id": jobId }
}

export const reviewSources = (topics: InputTopics) => ({
  transform: Source.make({
    topic: topics.transformTopic,
    schema: TransformRecordInput,
    map: normaliseTransform,
    fast: fastTransform,
    envelope: { field: "reviews", inherit: ["job_id"] },
    deadLetterHeaders: jobHeader
  }),
  analysis: Source.make({
    topic: topics.analysisTopic,
    schema: AnalysisRecord,
    fast: fastAnalysis,
    envelope: { field: "results", inherit: ["job_id"] },
    deadLetterHeaders: jobHeader
  }),
  control: Source.make({ topic: topics.controlTopic, schema: ControlRecordInput, deadLetterHeaders: jobHeader })
})
