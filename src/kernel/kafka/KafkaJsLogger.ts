/**
 * kafkajs logs through Effect's logger, so its lines share the service's format,
 * level filtering and exporters. kafkajs calls the log function synchronously from
 * its own callbacks; each line runs on the services captured when the client was built.
 */
import { Effect, type Context } from "effect"
import { logLevel, type logCreator } from "kafkajs"
import type { KafkaLogLevel } from "./KafkaJsSettings.ts"

type Severity = "Error" | "Warn" | "Info" | "Debug"

const severityOf = (level: logLevel): Severity =>
  level === logLevel.ERROR ? "Error" : level === logLevel.WARN ? "Warn" : level === logLevel.INFO ? "Info" : "Debug"

export const kafkaJsLevel = (level: KafkaLogLevel): logLevel => {
  switch (level) {
    case "nothing":
      return logLevel.NOTHING
    case "error":
      return logLevel.ERROR
    case "warn":
      return logLevel.WARN
    case "info":
      return logLevel.INFO
    case "debug":
      return logLevel.DEBUG
  }
}

export const effectLogCreator = (context: Context.Context<never>): logCreator => () => (entry) => {
  // timestamp/logger duplicate what Effect's logger adds; stacks only help when debugging.
  const { message, timestamp: _timestamp, logger: _logger, stack, ...extra } = entry.log
  const annotations: Record<string, unknown> = { "kafkajs.namespace": entry.namespace, ...extra }
  if (entry.level >= logLevel.DEBUG && stack !== undefined) annotations["stack"] = stack
  // Forked, not run synchronously: a logger that does async work must not throw inside kafkajs.
  Effect.runForkWith(context)(
    Effect.logWithLevel(severityOf(entry.level))(`kafkajs: ${message}`).pipe(Effect.annotateLogs(annotations))
  )
}
