/**
 * The service's log output. JSON lines (timestamp, level, message and annotations on one
 * line) unless stdout is a terminal, so a container's log collector gets one parseable
 * record per event; Effect's pretty format on a terminal. LOG_FORMAT and LOG_LEVEL override.
 */
import { Cause, Config, Effect, Formatter, Layer, Logger, References } from "effect"
import type { LogLevel } from "effect"
import { OperationsLogEnabled } from "./OperationsLog.ts"

export const LogFormats = ["json", "pretty"] as const
export type LogFormat = (typeof LogFormats)[number]

export const LogLevels = ["trace", "debug", "info", "warn", "error", "fatal", "none"] as const
export type ServiceLogLevel = (typeof LogLevels)[number]

const effectLevel: Record<ServiceLogLevel, LogLevel.LogLevel> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None"
}

/** The default format depends on where stdout goes: people read terminals, collectors read pipes. */
export const defaultFormat = (): LogFormat => (process.stdout.isTTY === true ? "pretty" : "json")

export const LogSettings = Config.all({
  format: Config.Literals(LogFormats, "LOG_FORMAT").pipe(Config.withDefault<LogFormat>(defaultFormat())),
  level: Config.Literals(LogLevels, "LOG_LEVEL").pipe(Config.withDefault<ServiceLogLevel>("info"))
})
export type LogSettings = Config.Success<typeof LogSettings>

const reserved = new Set(["timestamp", "level", "message", "cause"])

const messageOf = (message: unknown): unknown => {
  if (!Array.isArray(message)) return message
  if (message.length === 1) return message[0]
  return message.every((m) => typeof m === "string") ? message.join(" ") : message
}

/**
 * One JSON object per line: `timestamp`, `level`, `message`, then each annotation as a
 * top-level field (an annotation named like a fixed field is kept under `annotation.<name>`),
 * and `cause` (rendered) when the entry has one.
 */
export const jsonFormat: Logger.Logger<unknown, string> = Logger.map(Logger.formatStructured, (entry) => {
  const line: Record<string, unknown> = { timestamp: entry.timestamp, level: entry.level, message: messageOf(entry.message) }
  for (const [key, value] of Object.entries(entry.annotations)) line[reserved.has(key) ? `annotation.${key}` : key] = value
  if (entry.cause !== undefined) line["cause"] = entry.cause
  return Formatter.formatJson(line)
})

export const loggerFor = (format: LogFormat): Logger.Logger<unknown, void> =>
  format === "json" ? Logger.withConsoleLog(jsonFormat) : Logger.consolePretty()

/** The chosen logger and minimum level for everything built under it, with the operations log on. */
export const layerWith = (settings: LogSettings): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.layer([loggerFor(settings.format)]),
    Layer.succeed(References.MinimumLogLevel, effectLevel[settings.level]),
    Layer.succeed(OperationsLogEnabled, true)
  )

const reasonOf = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.squash(cause)
  return failure instanceof Error ? failure.message : String(failure)
}

/**
 * Runs the service with its logging: the settings are read first (a bad value stops
 * start-up naming the variable, logged in the default format), and a fatal failure is
 * logged through the service's own logger. Use with `disableErrorReporting`.
 */
export const withServiceLogging = <A, E, R>(service: Effect.Effect<A, E, R>): Effect.Effect<A, E | Config.ConfigError, R> =>
  Effect.gen(function*() {
    const settings = yield* Effect.tapError(LogSettings, (error) =>
      Effect.logError(`invalid logging setting: ${error.message}`).pipe(Effect.provide(layerWith({ format: defaultFormat(), level: "info" }))))
    return yield* service.pipe(
      Effect.tapCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logError(`service stopped: ${reasonOf(cause)}`, cause)),
      Effect.provide(layerWith(settings))
    )
  })
