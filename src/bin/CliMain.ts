/**
 * Runs a command-line program: a failure prints one readable line (a bad setting names
 * its variable) and exits 1; an unexpected defect keeps its full cause.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Result } from "effect"

const describe = (error: unknown): string => {
  if (typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "ConfigError") {
    const message = String((error as { message: string }).message)
    const at = /at \["([^"]+)"\]/.exec(message)
    const what = message.split("\n")[0]!.trim().replace(/^SchemaError\(/, "").replace(/^SourceError: /, "").replace(/\)+$/, "")
    if (at !== null) return `invalid setting ${at[1]}: ${what}`
    // Checks of our own (an empty value, an unreadable file) start their message with the variable.
    const named = /^([A-Z][A-Z0-9_]+): (.*)$/.exec(what)
    return named === null ? `invalid configuration: ${what}` : `invalid setting ${named[1]}: ${named[2]}`
  }
  return error instanceof Error ? error.message : String(error)
}

export const runCli = <A, E>(program: Effect.Effect<A, E>): void =>
  NodeRuntime.runMain(
    program.pipe(Effect.tapCause((cause) =>
      Effect.sync(() => {
        const failure = Cause.findError(cause)
        console.error(Result.isSuccess(failure) ? `error: ${describe(failure.success)}` : Cause.pretty(cause))
      })
    )),
    { disableErrorReporting: true }
  )
