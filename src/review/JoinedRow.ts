/** The joined row of SPEC 4: every transform field in SPEC 3.1 order, then summary and sentiment. */
import type { AnalysisRecord } from "./schema/AnalysisRecord.ts"
import type { JoinedRow } from "./schema/OutputRecords.ts"
import type { TransformReview } from "./schema/TransformRecord.ts"

export type { JoinedRow }

export const joinKey = (jobId: string, reviewId: string): string => `${jobId}|${reviewId}`

export const joinRow = (transform: TransformReview, analysis: AnalysisRecord): JoinedRow => ({
  ...transform,
  summary: analysis.summary ?? null,
  sentiment: analysis.sentiment
})
