/** The joined row of SPEC 4: every transform field in SPEC 3.1 order, then summary and sentiment. */
import type { AnalysisRecord } from "./schema/AnalysisRecord.ts"
import type { JoinedRow } from "./schema/OutputRecords.ts"
import type { TransformReview } from "./schema/TransformRecord.ts"

export type { JoinedRow }

/** The row's message key (SPEC 4). Not unique when ids contain `|`: never used to index state. */
export const joinKey = (jobId: string, reviewId: string): string => `${jobId}|${reviewId}`

/** An unambiguous key of one review of one job, for state (join buffers, changelog keys). */
export const reviewKey = (jobId: string, reviewId: string): string => JSON.stringify([jobId, reviewId])

/** `job|review` again, for messages people read. */
export const describeReviewKey = (key: string): string => (JSON.parse(key) as Array<string>).join("|")

export const joinRow = (transform: TransformReview, analysis: AnalysisRecord): JoinedRow => ({
  ...transform,
  summary: analysis.summary ?? null,
  sentiment: analysis.sentiment
})
