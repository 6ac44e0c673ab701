/** Typed sources of the three input topics: envelopes, inherited fields and schemas. */
import type { SourceCodec } from "../kernel/source/TypedSource.ts"
import { schemaDecoder } from "../kernel/source/SchemaDecode.ts"
import { AnalysisRecord } from "./schema/AnalysisRecord.ts"
import { ControlRecordInput } from "./schema/ControlRecord.ts"
import { normaliseTransform, TransformRecordInput, type TransformReview } from "./schema/TransformRecord.ts"

const decodeTransformInput = schemaDecoder(TransformRecordInput)

export const transformCodec: SourceCodec<TransformReview> = {
  batchField: "reviews",
  inherited: ["job_id"],
  groupField: "job_id",
  entityField: "review_id",
  decode: (element) => {
    const result = decodeTransformInput(element)
    return result.ok ? { ok: true, value: normaliseTransform(result.value) } : result
  }
}

export const analysisCodec: SourceCodec<AnalysisRecord> = {
  batchField: "results",
  inherited: ["job_id"],
  groupField: "job_id",
  entityField: "review_id",
  decode: schemaDecoder(AnalysisRecord)
}

export const controlCodec: SourceCodec<ControlRecordInput> = {
  batchField: undefined,
  inherited: [],
  groupField: "job_id",
  entityField: undefined,
  decode: schemaDecoder(ControlRecordInput)
}
