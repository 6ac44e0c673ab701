/**
 * The aligned-consumption settings (MAX_TASK_IDLE_MS, MAX_TASK_LEAD_MS, EVENT_MAX_RECORDS,
 * EVENT_MAX_BYTES) reach the reader's alignment as given, take their documented defaults
 * when unset, and a bad value stops start-up naming its variable.
 */
import { Cause, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { envOverrides } from "../support/EnvOverrides.ts"
import { AppConfig, alignmentSettings } from "../../src/config/AppConfig.ts"
import type { AlignmentSettings } from "../../src/kernel/runtime/AlignedInput.ts"

const NAMES = ["MAX_TASK_IDLE_MS", "MAX_TASK_LEAD_MS", "EVENT_MAX_RECORDS", "EVENT_MAX_BYTES"] as const

const setEnv = envOverrides()

/** The alignment as start-up reads it from process.env, or the failure's text. */
const readAlignment = async (): Promise<AlignmentSettings | string> => {
  const exit = await Effect.runPromiseExit(Effect.scoped(Effect.gen(function*() {
    return alignmentSettings(yield* AppConfig)
  }).pipe(Effect.provide(AppConfig.layer))))
  return Exit.isSuccess(exit) ? exit.value : Cause.pretty(exit.cause)
}

describe("alignment settings", () => {
  it("default to 100 ms idle, 250 ms lead and events of at most 5,000 records and 4 MiB", async () => {
    for (const name of NAMES) setEnv({ [name]: "unset" })
    for (const name of NAMES) delete process.env[name]
    expect(await readAlignment()).toEqual({ idleMs: 100, maxLeadMs: 250, maxEventRecords: 5_000, maxEventBytes: 4 * 1024 * 1024 })
  })

  it("reach the reader as given; a lead of 0 pauses whatever runs ahead at all", async () => {
    setEnv({ MAX_TASK_IDLE_MS: "0", MAX_TASK_LEAD_MS: "0", EVENT_MAX_RECORDS: "100", EVENT_MAX_BYTES: "65536" })
    expect(await readAlignment()).toEqual({ idleMs: 0, maxLeadMs: 0, maxEventRecords: 100, maxEventBytes: 65_536 })
    setEnv({ MAX_TASK_LEAD_MS: "60000" })
    expect(await readAlignment()).toMatchObject({ maxLeadMs: 60_000 })
  })

  it.each(["-1", "1.5", "soon", ""])("MAX_TASK_LEAD_MS=%j stops start-up naming the variable", async (value) => {
    setEnv({ MAX_TASK_LEAD_MS: value })
    const failure = await readAlignment()
    expect(typeof failure, `MAX_TASK_LEAD_MS=${value} was accepted`).toBe("string")
    expect(failure).toContain("MAX_TASK_LEAD_MS")
  })
})
