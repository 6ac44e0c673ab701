/**
 * The review pipeline as a kernel task: the three typed inputs routed to the JobBook, its
 * batch end and its clock work. One task holds every partition (upstreams key transform
 * records by review), or, scaled out, one task per partition of inputs keyed by job.
 */
import type { TaskDefinition } from "../kernel/runtime/Task.ts"
import * as Inputs from "../kernel/runtime/Inputs.ts"
import { JobBook, type JobBookSettings, type NewTraceparent } from "./JobBook.ts"
import { jobSinks, PRODUCER_HEADER, type OutputTopics } from "./JobOutputs.ts"
import type { ReviewEvent } from "./ReviewEvent.ts"
import { reviewSources, type InputTopics } from "./ReviewSources.ts"
import { CHANGELOG, reviewStoreSpecs, type ReviewStoreSpecs } from "./state/ReviewStores.ts"
import type { Element, Rejected } from "../kernel/source/Source.ts"
import { originalSource } from "../kernel/source/OriginHeaders.ts"
import { repartitionTopic } from "../kernel/topology/Repartition.ts"

export interface ReviewTaskSettings extends JobBookSettings, InputTopics, OutputTopics {}

/** How often clocks are checked (deadlines, join windows, periodic publishing). */
export const tickIntervalMs = (settings: Pick<ReviewTaskSettings, "windowInactivityMs" | "timeoutMs">): number =>
  Math.max(10, Math.min(1_000, Math.floor(Math.min(settings.windowInactivityMs, settings.timeoutMs) / 10)))

export interface ReviewTaskOptions {
  readonly settings: ReviewTaskSettings
  readonly newTraceparent: NewTraceparent
  readonly startedAt: number
  /** Receives each task's JobBook once it exists (readers such as HTTP query it). */
  readonly onBook?: ((book: JobBook, taskId: number) => void) | undefined
  /**
   * Scale-out (docs/scale-out.md): a task per partition, reading the repartition topics
   * (`repartitioned`) or inputs their upstreams already key by job.
   */
  readonly perPartition?: { readonly repartitioned: boolean } | undefined
}

/** The topics the task reads: the inputs, or their repartition topics. */
export const taskInputTopics = (settings: ReviewTaskSettings, repartitioned: boolean): InputTopics => {
  const topic = (name: string) => (repartitioned ? repartitionTopic(settings.applicationId, name) : name)
  return { transformTopic: topic(settings.transformTopic), analysisTopic: topic(settings.analysisTopic), controlTopic: topic(settings.controlTopic) }
}

// Dead letters name the record (and element) the upstream wrote, not its repartitioned copy.
const original = <A>(element: Element<A>): Element<A> => ({ ...element, source: originalSource(element.source) })
const originalRejected = (rejected: Rejected): Rejected => ({ ...rejected, source: originalSource(rejected.source) })

/** The task, with its store specs (stores are looked up by spec). */
export const reviewTask = (options: ReviewTaskOptions): TaskDefinition<ReviewEvent> & { readonly specs: ReviewStoreSpecs } => {
  const { settings } = options
  const specs = reviewStoreSpecs(settings)
  const repartitioned = options.perPartition?.repartitioned === true
  const inputs = taskInputTopics(settings, repartitioned)
  const sources = reviewSources(inputs)
  const sinks = jobSinks(settings)
  return {
    name: "review-aggregator",
    topics: [inputs.transformTopic, inputs.analysisTopic, inputs.controlTopic],
    specs,
    stores: Object.values(specs),
    partitioning: options.perPartition === undefined ? "single" : "perPartition",
    punctuateEveryMs: tickIntervalMs(settings),
    // Deadlines run on active time, kept with the job state.
    activeClock: { changelog: CHANGELOG },
    make: (stores, taskId) => {
      const book = new JobBook(settings, {
        jobs: stores.get(specs.jobs),
        reviews: stores.get(specs.reviews),
        joins: stores.get(specs.joins),
        frozen: stores.get(specs.frozen),
        batchStats: stores.get(specs.batchStats)
      }, sinks, options.newTraceparent, options.startedAt)
      options.onBook?.(book, taskId)
      return {
        process: Inputs.route<ReviewEvent>([
          Inputs.input({
            source: sources.transform,
            element: (element, record, ctx) => book.transform(repartitioned ? original(element) : element, record.timestamp, ctx),
            rejected: (rejected, _record, ctx) => book.rejected("transform", repartitioned ? originalRejected(rejected) : rejected, ctx)
          }),
          Inputs.input({
            source: sources.analysis,
            element: (element, record, ctx) => book.analysis(repartitioned ? original(element) : element, record.timestamp, ctx),
            rejected: (rejected, _record, ctx) => book.rejected("analysis", repartitioned ? originalRejected(rejected) : rejected, ctx)
          }),
          Inputs.input({
            source: sources.control,
            // This service's own control messages are not re-processed.
            skip: (record) => record.headers[PRODUCER_HEADER] === settings.applicationId,
            element: (element, _record, ctx) => book.control(repartitioned ? original(element) : element, ctx),
            rejected: (rejected, _record, ctx) => book.rejected("control", repartitioned ? originalRejected(rejected) : rejected, ctx)
          })
        ]),
        endBatch: (ctx) => book.endBatch(ctx),
        punctuate: (ctx) => book.tick(ctx)
      }
    }
  }
}
