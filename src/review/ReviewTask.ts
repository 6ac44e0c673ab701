/**
 * The review pipeline as one kernel task: the three typed inputs routed to the JobBook,
 * its batch end and its clock work. One task holds every partition, because upstreams
 * key transform records by review, so a job's records are spread over all partitions.
 */
import type { TaskDefinition } from "../kernel/runtime/Task.ts"
import * as Inputs from "../kernel/runtime/Inputs.ts"
import { JobBook, type JobBookSettings, type NewTraceparent } from "./JobBook.ts"
import { jobSinks, PRODUCER_HEADER, type OutputTopics } from "./JobOutputs.ts"
import type { ReviewEvent } from "./ReviewEvent.ts"
import { reviewSources, type InputTopics } from "./ReviewSources.ts"
import { CHANGELOG, reviewStoreSpecs, type ReviewStoreSpecs } from "./state/ReviewStores.ts"

export interface ReviewTaskSettings extends JobBookSettings, InputTopics, OutputTopics {}

/** How often clocks are checked (deadlines, join windows, periodic publishing). */
export const tickIntervalMs = (settings: Pick<ReviewTaskSettings, "windowInactivityMs" | "timeoutMs">): number =>
  Math.max(10, Math.min(1_000, Math.floor(Math.min(settings.windowInactivityMs, settings.timeoutMs) / 10)))

export interface ReviewTaskOptions {
  readonly settings: ReviewTaskSettings
  readonly newTraceparent: NewTraceparent
  readonly startedAt: number
  /** Receives the task's JobBook once it exists (readers such as HTTP query it). */
  readonly onBook?: ((book: JobBook) => void) | undefined
}

/** The task, with its store specs (stores are looked up by spec). */
export const reviewTask = (options: ReviewTaskOptions): TaskDefinition<ReviewEvent> & { readonly specs: ReviewStoreSpecs } => {
  const { settings } = options
  const specs = reviewStoreSpecs(settings)
  const sources = reviewSources(settings)
  const sinks = jobSinks(settings)
  return {
    name: "review-aggregator",
    topics: [settings.transformTopic, settings.analysisTopic, settings.controlTopic],
    specs,
    stores: Object.values(specs),
    partitioning: "single",
    punctuateEveryMs: tickIntervalMs(settings),
    // Deadlines run on active time, kept with the job state.
    activeClock: { changelog: CHANGELOG },
    make: (stores) => {
      const book = new JobBook(settings, {
        jobs: stores.get(specs.jobs),
        reviews: stores.get(specs.reviews),
        joins: stores.get(specs.joins),
        frozen: stores.get(specs.frozen),
        batchStats: stores.get(specs.batchStats)
      }, sinks, options.newTraceparent, options.startedAt)
      options.onBook?.(book)
      return {
        process: Inputs.route<ReviewEvent>([
          Inputs.input({
            source: sources.transform,
            element: (element, record, ctx) => book.transform(element, record.timestamp, ctx),
            rejected: (rejected, _record, ctx) => book.rejected("transform", rejected, ctx)
          }),
          Inputs.input({
            source: sources.analysis,
            element: (element, record, ctx) => book.analysis(element, record.timestamp, ctx),
            rejected: (rejected, _record, ctx) => book.rejected("analysis", rejected, ctx)
          }),
          Inputs.input({
            source: sources.control,
            // This service's own control messages are not re-processed.
            skip: (record) => record.headers[PRODUCER_HEADER] === settings.applicationId,
            element: (element, _record, ctx) => book.control(element, ctx),
            rejected: (rejected, _record, ctx) => book.rejected("control", rejected, ctx)
          })
        ]),
        endBatch: (ctx) => book.endBatch(ctx),
        punctuate: (ctx) => book.tick(ctx)
      }
    }
  }
}
