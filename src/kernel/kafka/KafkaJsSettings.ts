/**
 * The options the kafkajs adapter needs, as a service the application's configuration
 * provides. Its own module so the adapter's parts (client, consumer, producer, logger)
 * share it without importing each other.
 */
import { Context, type Redacted } from "effect"

export const SaslMechanisms = ["plain", "scram-sha-256", "scram-sha-512"] as const
export type SaslMechanism = (typeof SaslMechanisms)[number]

/** kafkajs ships gzip only; snappy/lz4/zstd would need extra codec packages. */
export const Compressions = ["none", "gzip"] as const
export type Compression = (typeof Compressions)[number]

export const KafkaLogLevels = ["nothing", "error", "warn", "info", "debug"] as const
export type KafkaLogLevel = (typeof KafkaLogLevels)[number]

export interface TlsOptions {
  /** PEM contents (not paths): the cluster CA, and the client certificate for mTLS. */
  readonly ca: string | undefined
  readonly cert: string | undefined
  readonly key: Redacted.Redacted<string> | undefined
  readonly keyPassword: Redacted.Redacted<string> | undefined
  readonly rejectUnauthorized: boolean
}

export interface SaslOptions {
  readonly mechanism: SaslMechanism
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

export interface KafkaJsOptions {
  readonly brokers: ReadonlyArray<string>
  readonly clientId: string
  readonly tls: TlsOptions | undefined
  readonly sasl: SaslOptions | undefined
  readonly connectionTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly compression: Compression
  readonly logLevel: KafkaLogLevel
  /** Identity of the transactional producer (exactly_once_v2); stable per replica. */
  readonly transactionalId: string
  /**
   * Shutdown budget: how long the batch in flight may take to finish, and the bound of
   * each later step (leaving the group, disconnecting).
   */
  readonly shutdownTimeoutMs: number
  /**
   * How many partitions' batches kafkajs may hand out at once (its
   * `partitionsConsumedConcurrently`); at least the partitions a member reads, so the
   * reader can align them. Default 64.
   */
  readonly partitionsConsumedConcurrently?: number | undefined
  /**
   * Most bytes one fetch returns from a broker, and from one partition (kafkajs `maxBytes`,
   * `maxBytesPerPartition`; defaults 10 MiB and 1 MiB). A subscription holds at most one
   * fetch per broker until it is committed, so these bound what is read ahead.
   */
  readonly fetchMaxBytes?: number | undefined
  readonly fetchMaxBytesPerPartition?: number | undefined
}

/** The adapter's options, provided by the application's configuration. */
export class KafkaJsSettings extends Context.Service<KafkaJsSettings, KafkaJsOptions>()("stream-kernel/KafkaJsSettings") {}
