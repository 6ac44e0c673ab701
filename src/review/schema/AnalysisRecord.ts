/** The LLM stage's verdict on one review (SPEC 3.2). */
import { Schema } from "effect"
import { Flag, Id, optionalNullable, SentimentWord } from "./Lenient.ts"

export const AnalysisRecord = Schema.Struct({
  job_id: Id,
  review_id: Id,
  sentiment: SentimentWord,
  summary: optionalNullable(Schema.String),
  is_coupang_trial: optionalNullable(Flag)
})
export type AnalysisRecord = typeof AnalysisRecord.Type
