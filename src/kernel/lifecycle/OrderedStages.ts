/**
 * An entity that passes through stages in a fixed order, each with a deadline from the
 * moment it starts. Pure and immutable: every transition returns a new value, so the
 * domain decides *when* a stage is done and this module keeps the order and the clocks.
 *
 * Two clocks: `startedAt`/`endedAt` are wall-clock times (what people read), `deadline`
 * is on the clock the caller measures deadlines with (`deadlineClock`, e.g. a task's
 * active time, which does not run while the service is down or behind). Without it,
 * both are the wall clock.
 */
export type StageStatus = "waiting" | "running" | "done" | "failed" | "timeout"
export type Outcome = "done" | "failed" | "timeout"

export interface StageState {
  readonly status: StageStatus
  readonly startedAt: number | undefined
  readonly deadline: number | undefined
  readonly endedAt: number | undefined
  readonly message: string | undefined
}

export interface Stages<S extends string> {
  readonly order: ReadonlyArray<S>
  readonly states: Readonly<Record<S, StageState>>
  /** Set once: the stage that ended the entity, and how. */
  readonly ended: { readonly stage: S; readonly status: Outcome; readonly message: string | undefined; readonly at: number } | undefined
}

const waiting: StageState = { status: "waiting", startedAt: undefined, deadline: undefined, endedAt: undefined, message: undefined }

/** All stages waiting except the first, which runs from `now`. */
export const start = <S extends string>(order: ReadonlyArray<S>, now: number, timeoutMs: number, deadlineClock = now): Stages<S> => {
  const states = {} as Record<S, StageState>
  for (const s of order) states[s] = waiting
  states[order[0]!] = { ...waiting, status: "running", startedAt: now, deadline: deadlineClock + timeoutMs }
  return { order, states, ended: undefined }
}

/** The running stage, if any. */
export const running = <S extends string>(stages: Stages<S>): S | undefined =>
  stages.ended === undefined ? stages.order.find((s) => stages.states[s].status === "running") : undefined

/** Marks the running stage done and starts the next; the last one ends the entity. */
export const complete = <S extends string>(stages: Stages<S>, stage: S, now: number, timeoutMs: number, deadlineClock = now): Stages<S> => {
  if (stages.states[stage].status !== "running") return stages
  const states: Record<S, StageState> = { ...stages.states }
  states[stage] = { ...stages.states[stage], status: "done", endedAt: now }
  const next = stages.order[stages.order.indexOf(stage) + 1]
  if (next === undefined) return { ...stages, states, ended: { stage, status: "done", message: undefined, at: now } }
  states[next] = { ...waiting, status: "running", startedAt: now, deadline: deadlineClock + timeoutMs }
  return { ...stages, states }
}

/** Ends the entity at `stage` with a failure or timeout; later stages never start. */
export const end = <S extends string>(stages: Stages<S>, stage: S, status: "failed" | "timeout", message: string, now: number): Stages<S> => {
  if (stages.ended !== undefined) return stages
  const states: Record<S, StageState> = { ...stages.states }
  // A stage that fails before it ever ran (an upstream report) starts and ends at once.
  states[stage] = { ...stages.states[stage], status, startedAt: stages.states[stage].startedAt ?? now, endedAt: now, message }
  return { ...stages, states, ended: { stage, status, message, at: now } }
}

/** The running stage whose deadline has passed at `now` (on the deadline clock). */
export const overdue = <S extends string>(stages: Stages<S>, now: number): S | undefined => {
  const stage = running(stages)
  if (stage === undefined) return undefined
  const deadline = stages.states[stage].deadline
  return deadline !== undefined && deadline <= now ? stage : undefined
}
