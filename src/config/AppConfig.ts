/**
 * The service's settings (docs/spec.md, Settings), read from the environment once at
 * start-up. A bad or empty value stops start-up with a ConfigError naming the variable.
 */
import { Config, ConfigProvider, Context, Effect, Layer, Schema } from "effect"
import { type AlignmentSettings, DEFAULT_MAX_LEAD_MS } from "../kernel/runtime/AlignedInput.ts"
import { environment, filled } from "./Environment.ts"

const positiveInt = (name: string, fallback: number) =>
  filled(name, Config.schema(Schema.Int.check(Schema.isGreaterThan(0)), name).pipe(Config.withDefault(fallback)))

const positiveMillis = positiveInt

const nonNegativeMillis = (name: string, fallback: number) =>
  filled(name, Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), name).pipe(Config.withDefault(fallback)))

const nonEmpty = (name: string, fallback: string) => filled(name, Config.NonEmptyString(name).pipe(Config.withDefault(fallback)))

const flag = (name: string, fallback: boolean) => filled(name, Config.Boolean(name).pipe(Config.withDefault(fallback)))

/** V8 grows the heap by a factor of at most 4 on its own; beyond 300% the setting would mean nothing. */
export const MAX_HEAP_GROWTH_PERCENT = 300
export const DEFAULT_HEAP_GROWTH_PERCENT = 50

export const ProcessingGuarantees = ["at_least_once", "exactly_once_v2"] as const
export type ProcessingGuarantee = (typeof ProcessingGuarantees)[number]

/**
 * `co-partitioned` (default): scale-out (docs/scale-out.md), members share partitions and their state.
 * `single-active`: one member holds every partition and all state (others stand by).
 */
export const PartitionAssignments = ["single-active", "co-partitioned"] as const
export type PartitionAssignment = (typeof PartitionAssignments)[number]

export const AppSettings = Config.all({
  bootstrapServers: nonEmpty("BOOTSTRAP_SERVERS", "localhost:9092"),
  applicationId: nonEmpty("APPLICATION_ID", "review-aggregator-enhanced-v1"),
  transformTopic: nonEmpty("INPUT_TRANSFORM_TOPIC", "realtime-review-transform-topic"),
  analysisTopic: nonEmpty("INPUT_ANALYSIS_TOPIC", "realtime-review-analysis-topic"),
  controlTopic: nonEmpty("CONTROL_TOPIC", "job-control-topic"),
  rowsTopic: nonEmpty("OUTPUT_ROWS_TOPIC", "review-rows"),
  aggregateTopic: nonEmpty("OUTPUT_AGG_TOPIC", "review-agg-by-job"),
  dlqTopic: nonEmpty("DLQ_TOPIC", "review-dlq"),
  publishIntervalMs: positiveMillis("PUBLISH_INTERVAL_MS", 300_000),
  timeoutMs: positiveMillis("TIMEOUT_MS", 1_800_000),
  windowInactivityMs: positiveMillis("WINDOW_INACTIVITY_MS", 90_000),
  processingGuarantee: filled(
    "PROCESSING_GUARANTEE",
    Config.Literals(ProcessingGuarantees, "PROCESSING_GUARANTEE").pipe(Config.withDefault<ProcessingGuarantee>("at_least_once"))
  ),
  partitionAssignment: filled(
    "PARTITION_ASSIGNMENT",
    Config.Literals(PartitionAssignments, "PARTITION_ASSIGNMENT").pipe(Config.withDefault<PartitionAssignment>("co-partitioned"))
  ),
  // Co-partitioned only: upstreams already key and co-partition the inputs by job_id, so no repartition stage.
  inputKeyedByJob: flag("INPUT_KEYED_BY_JOB", false),
  jobRetentionMs: positiveMillis("JOB_RETENTION_MS", 86_400_000),
  // Aligned consumption (docs/architecture.md): how long a partition with unread records
  // not fetched yet may hold the others back, how far (record time) a partition may be
  // read ahead of the slowest before it is paused, and the bounds of one event.
  maxTaskIdleMs: nonNegativeMillis("MAX_TASK_IDLE_MS", 100),
  maxTaskLeadMs: nonNegativeMillis("MAX_TASK_LEAD_MS", DEFAULT_MAX_LEAD_MS),
  eventMaxRecords: positiveInt("EVENT_MAX_RECORDS", 5_000),
  eventMaxBytes: positiveInt("EVENT_MAX_BYTES", 4 * 1024 * 1024),
  httpPort: filled("HTTP_PORT", Config.Port("HTTP_PORT").pipe(Config.withDefault(8080))),
  // How far the JS heap may grow past what the last full collection left (src/app/HeapGrowth.ts); 0 leaves it to V8.
  heapGrowthPercent: filled(
    "HEAP_GROWTH_PERCENT",
    Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: MAX_HEAP_GROWTH_PERCENT })), "HEAP_GROWTH_PERCENT").pipe(
      Config.withDefault(DEFAULT_HEAP_GROWTH_PERCENT)
    )
  )
}).pipe(Config.flatMap((settings) =>
  // A setting that changes nothing would mislead: without scale-out there is no repartition stage to skip.
  settings.inputKeyedByJob && settings.partitionAssignment === "single-active"
    ? Config.fail(new ConfigProvider.SourceError({
      message: "INPUT_KEYED_BY_JOB: only meaningful with PARTITION_ASSIGNMENT=co-partitioned (it skips the repartition stage of scale-out)"
    }))
    // kafkajs fences a zombie by transactional id only, and a moved partition's next holder has another one (docs/operations.md).
    : settings.processingGuarantee === "exactly_once_v2" && settings.partitionAssignment === "co-partitioned"
    ? Config.fail(new ConfigProvider.SourceError({
      message: "PARTITION_ASSIGNMENT: exactly_once_v2 runs single-active only (set PARTITION_ASSIGNMENT=single-active): " +
        "scaled out, a partition that moves goes to a member with another transactional id, which does not fence the previous holder"
    }))
    : Config.succeed(settings)
))

export type AppSettings = Config.Success<typeof AppSettings>

/** How a task's input is aligned and cut into events, from the MAX_TASK_* and EVENT_MAX_* settings. */
export const alignmentSettings = (s: AppSettings): AlignmentSettings => ({
  idleMs: s.maxTaskIdleMs,
  maxLeadMs: s.maxTaskLeadMs,
  maxEventRecords: s.eventMaxRecords,
  maxEventBytes: s.eventMaxBytes
})

/** Internal topic names derived from APPLICATION_ID (docs/spec.md, Delivery guarantees and state). */
export const changelogTopic = (s: Pick<AppSettings, "applicationId">): string => `${s.applicationId}-job-state-changelog`

export class AppConfig extends Context.Service<AppConfig, AppSettings>()("review-aggregator/AppConfig") {
  /** The settings as `provider` gives them (a command with its own defaults layers them under the environment). */
  static readonly layerFrom = (provider: () => ConfigProvider.ConfigProvider) =>
    Layer.effect(AppConfig, Effect.suspend(() => AppSettings.parse(provider())))

  /** The settings from the process environment, where an empty variable is an error. */
  static readonly layer = AppConfig.layerFrom(environment)

  /** Fixed settings for tests and replay; unspecified fields take the documented defaults. */
  static readonly layerWith = (overrides: Partial<AppSettings>) =>
    Layer.effect(AppConfig, Effect.gen(function*() {
      const defaults = yield* AppSettings
      return { ...defaults, ...overrides }
    }))
}
