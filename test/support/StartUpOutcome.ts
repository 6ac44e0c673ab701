/**
 * What start-up makes of the settings in process.env: the settings a layer reads, or the
 * text of the failure that would stop the service.
 */
import { Cause, Effect, Exit, type Scope } from "effect"

export const startUpOutcome = async <S>(read: Effect.Effect<S, unknown, Scope.Scope>): Promise<S | string> => {
  const exit = await Effect.runPromiseExit(Effect.scoped(read))
  return Exit.isSuccess(exit) ? exit.value : Cause.pretty(exit.cause)
}
