/**
 * How the service reaches Kafka: brokers, TLS and SASL, client tuning, and what
 * start-up may create. Read from the environment once; a bad or empty value stops
 * start-up with a ConfigError naming the variable (docs/kafka.md lists them all).
 */
import { readFile } from "node:fs/promises"
import { hostname } from "node:os"
import { Config, ConfigProvider, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import {
  Compressions,
  type Compression,
  type KafkaJsOptions,
  KafkaJsSettings,
  KafkaLogLevels,
  type KafkaLogLevel,
  SaslMechanisms,
  type SaslOptions,
  type TlsOptions
} from "../kernel/kafka/KafkaJs.ts"
import { environment, filled } from "./Environment.ts"

export interface KafkaSettings extends KafkaJsOptions {
  readonly autoCreateTopics: boolean
  /** Partitions of topics created at start-up; unset means "as many as the input topics". */
  readonly topicPartitions: number | undefined
  /** -1 means the broker's `default.replication.factor`. */
  readonly topicReplicationFactor: number
}

const BrokerList = Schema.String.check(
  Schema.isPattern(/^\s*[^\s,:]+:\d{1,5}\s*(,\s*[^\s,:]+:\d{1,5}\s*)*$/, {
    message: "expected a comma-separated list of host:port"
  })
)

const millis = (name: string, fallback: number) =>
  filled(name, Config.schema(Schema.Int.check(Schema.isGreaterThan(0)), name).pipe(Config.withDefault(fallback)))

const optionalString = (name: string) =>
  filled(name, Config.option(Config.NonEmptyString(name)).pipe(Config.map(Option.getOrUndefined)))

const flag = (name: string, fallback: boolean) => filled(name, Config.Boolean(name).pipe(Config.withDefault(fallback)))

/** A PEM file named by `name`, read at start-up; an unreadable file is a ConfigError naming `name`. */
const pemFile = (name: string) =>
  optionalString(name).pipe(
    Config.mapEffect((path) =>
      path === undefined
        ? Effect.succeed(undefined)
        : Effect.tryPromise({
          try: () => readFile(path, "utf8"),
          catch: (cause) =>
            new Config.ConfigError(
              new ConfigProvider.SourceError({ message: `${name}: cannot read '${path}': ${String(cause)}`, cause })
            )
        })
    )
  )

const tls = Config.all({
  enabled: flag("KAFKA_SSL", false),
  ca: pemFile("KAFKA_SSL_CA_FILE"),
  cert: pemFile("KAFKA_SSL_CERT_FILE"),
  key: pemFile("KAFKA_SSL_KEY_FILE"),
  keyPassword: filled("KAFKA_SSL_KEY_PASSWORD", Config.option(Config.Redacted("KAFKA_SSL_KEY_PASSWORD")).pipe(Config.map(Option.getOrUndefined))),
  rejectUnauthorized: flag("KAFKA_SSL_REJECT_UNAUTHORIZED", true)
}).pipe(
  Config.map(({ enabled, ...rest }): TlsOptions | undefined =>
    // Any certificate setting implies TLS: a CA file without KAFKA_SSL=true is surely meant to be used.
    enabled || rest.ca !== undefined || rest.cert !== undefined
      ? { ...rest, key: rest.key === undefined ? undefined : Redacted.make(rest.key) }
      : undefined
  )
)

const sasl = filled("KAFKA_SASL_MECHANISM", Config.option(Config.Literals(SaslMechanisms, "KAFKA_SASL_MECHANISM"))).pipe(
  Config.flatMap((mechanism) =>
    Option.match(mechanism, {
      onNone: () => Config.succeed<SaslOptions | undefined>(undefined),
      // Username and password are only required once a mechanism is chosen.
      onSome: (mechanism) =>
        Config.all({
          username: filled("KAFKA_SASL_USERNAME", Config.NonEmptyString("KAFKA_SASL_USERNAME")),
          password: filled("KAFKA_SASL_PASSWORD", Config.Redacted("KAFKA_SASL_PASSWORD"))
        }).pipe(Config.map((credentials): SaslOptions | undefined => ({ mechanism, ...credentials })))
    })
  )
)

export const KafkaSettings = Config.all({
  brokers: filled(
    "BOOTSTRAP_SERVERS",
    Config.schema(BrokerList, "BOOTSTRAP_SERVERS").pipe(
      Config.withDefault("localhost:9092"),
      Config.map((list) => list.split(",").map((b) => b.trim()))
    )
  ),
  applicationId: filled("APPLICATION_ID", Config.NonEmptyString("APPLICATION_ID").pipe(Config.withDefault("review-aggregator-enhanced-v1"))),
  clientId: optionalString("KAFKA_CLIENT_ID"),
  tls,
  sasl,
  connectionTimeoutMs: millis("KAFKA_CONNECTION_TIMEOUT_MS", 3_000),
  requestTimeoutMs: millis("KAFKA_REQUEST_TIMEOUT_MS", 30_000),
  sessionTimeoutMs: millis("KAFKA_SESSION_TIMEOUT_MS", 30_000),
  rebalanceTimeoutMs: millis("KAFKA_REBALANCE_TIMEOUT_MS", 60_000),
  heartbeatIntervalMs: millis("KAFKA_HEARTBEAT_INTERVAL_MS", 3_000),
  compression: filled("KAFKA_COMPRESSION", Config.Literals(Compressions, "KAFKA_COMPRESSION").pipe(Config.withDefault<Compression>("none"))),
  logLevel: filled("KAFKA_LOG_LEVEL", Config.Literals(KafkaLogLevels, "KAFKA_LOG_LEVEL").pipe(Config.withDefault<KafkaLogLevel>("info"))),
  transactionalId: optionalString("KAFKA_TRANSACTIONAL_ID"),
  shutdownTimeoutMs: millis("SHUTDOWN_TIMEOUT_MS", 10_000),
  partitionsConsumedConcurrently: filled(
    "KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY",
    Config.schema(Schema.Int.check(Schema.isGreaterThan(0)), "KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY").pipe(Config.withDefault(64))
  ),
  // Bounds of one fetch (kafkajs maxBytes, maxBytesPerPartition): what is read ahead of the pipeline.
  fetchMaxBytes: filled(
    "KAFKA_FETCH_MAX_BYTES",
    Config.schema(Schema.Int.check(Schema.isGreaterThan(0)), "KAFKA_FETCH_MAX_BYTES").pipe(Config.withDefault(10 * 1024 * 1024))
  ),
  fetchMaxBytesPerPartition: filled(
    "KAFKA_FETCH_MAX_BYTES_PER_PARTITION",
    Config.schema(Schema.Int.check(Schema.isGreaterThan(0)), "KAFKA_FETCH_MAX_BYTES_PER_PARTITION").pipe(Config.withDefault(1024 * 1024))
  ),
  autoCreateTopics: flag("AUTO_CREATE_TOPICS", false),
  topicPartitions: filled(
    "TOPIC_PARTITIONS",
    Config.option(Config.schema(Schema.Int.check(Schema.isGreaterThan(0)), "TOPIC_PARTITIONS")).pipe(Config.map(Option.getOrUndefined))
  ),
  topicReplicationFactor: filled(
    "TOPIC_REPLICATION_FACTOR",
    Config.schema(
      Schema.Int.check(Schema.makeFilter((n: number) => n === -1 || n > 0 || "expected -1 (broker default) or a positive integer")),
      "TOPIC_REPLICATION_FACTOR"
    ).pipe(Config.withDefault(-1))
  )
}).pipe(
  Config.mapEffect(({ applicationId, clientId, transactionalId, ...settings }) => {
    const problem = settings.heartbeatIntervalMs >= settings.sessionTimeoutMs
      ? `KAFKA_HEARTBEAT_INTERVAL_MS (${settings.heartbeatIntervalMs}) must be below KAFKA_SESSION_TIMEOUT_MS (${settings.sessionTimeoutMs})`
      : (settings.tls?.cert === undefined) !== (settings.tls?.key === undefined)
      ? "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE must be set together (mutual TLS needs both)"
      : undefined
    return problem !== undefined
      ? Effect.fail(new Config.ConfigError(new ConfigProvider.SourceError({ message: problem })))
      : Effect.succeed<KafkaSettings>({
        ...settings,
        clientId: clientId ?? applicationId,
        // One transactional id per replica, stable across its restarts (a StatefulSet's pod
        // name is), so a restarted replica fences its zombie predecessor.
        transactionalId: transactionalId ?? `${applicationId}-${hostname()}`
      })
  })
)

/** The settings, also handed to the kafkajs adapter as its KafkaJsSettings. */
const provide = (settings: KafkaSettings) => Context.make(KafkaConfig, settings).pipe(Context.add(KafkaJsSettings, settings))

export class KafkaConfig extends Context.Service<KafkaConfig, KafkaSettings>()("review-aggregator/KafkaConfig") {
  /** The settings from the process environment, where an empty variable is an error. */
  static readonly layer: Layer.Layer<KafkaConfig | KafkaJsSettings, Config.ConfigError> = Layer.effectContext(
    Effect.suspend(() => KafkaSettings.parse(environment())).pipe(Effect.map(provide))
  )

  /** Fixed settings for tests; unspecified fields come from the environment or defaults. */
  static readonly layerWith = (overrides: Partial<KafkaSettings>): Layer.Layer<KafkaConfig | KafkaJsSettings, Config.ConfigError> =>
    Layer.effectContext(Effect.gen(function*() {
      const defaults = yield* KafkaSettings
      return provide({ ...defaults, ...overrides })
    }))
}
