/**
 * The job a record belongs to, as the repartition stage reads it (docs/scale-out.md): the
 * `job_id` decoding would give the record, the envelope or each element (inherited from
 * its envelope), and nothing else. Binds the kernel's repartition stage to the three
 * review inputs, so that all of a job's records meet on one partition.
 */
import type { JsonObject } from "../kernel/source/JsonMessage.ts"
import { repartition } from "../kernel/topology/Repartition.ts"
import type { TaskDefinition } from "../kernel/runtime/Task.ts"
import { readableId, reviewSources, type InputTopics } from "./ReviewSources.ts"

/** A job id exactly where `JobBook` would read one to count a record against its job. */
export const jobKeyOf = (raw: JsonObject): string | undefined => readableId(raw, "job_id")

export const repartitionByJob = (settings: InputTopics & { readonly applicationId: string }, partitions: number): TaskDefinition => {
  const sources = reviewSources(settings)
  return repartition({
    name: "repartition-by-job",
    applicationId: settings.applicationId,
    partitions,
    inputs: [sources.transform, sources.analysis, sources.control].map((source) => ({ source, keyOf: jobKeyOf }))
  })
}
