/**
 * HEAP_GROWTH_PERCENT bounds how far the JS heap may grow past its live size between full
 * collections: a whole number from 0 (V8's own growth) to 300, 50 unless set; anything
 * else stops start-up naming the variable. The V8 option it becomes must be one the
 * running node accepts (CI runs this on Node 20 and on the image's Node 24).
 */
import { spawnSync } from "node:child_process"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { envOverrides } from "../support/EnvOverrides.ts"
import { startUpOutcome } from "../support/StartUpOutcome.ts"
import { heapGrowthFlag } from "../../src/app/HeapGrowth.ts"
import { AppConfig, type AppSettings } from "../../src/config/AppConfig.ts"

const setEnv = envOverrides()

/** The settings as start-up reads them from process.env, or the failure's text. */
const readSettings = (): Promise<AppSettings | string> =>
  startUpOutcome(Effect.gen(function*() {
    return yield* AppConfig
  }).pipe(Effect.provide(AppConfig.layer)))

const growthOf = async (value: string | undefined): Promise<number | string> => {
  setEnv({ HEAP_GROWTH_PERCENT: "unset" })
  if (value === undefined) delete process.env.HEAP_GROWTH_PERCENT
  else process.env.HEAP_GROWTH_PERCENT = value
  const settings = await readSettings()
  return typeof settings === "string" ? settings : settings.heapGrowthPercent
}

describe("HEAP_GROWTH_PERCENT", () => {
  it("is 50 unless set, and takes a whole number from 0 to 300", async () => {
    expect(await growthOf(undefined)).toBe(50)
    for (const value of [0, 1, 75, 300]) expect(await growthOf(String(value))).toBe(value)
  })

  it("stops start-up naming the variable for anything else", async () => {
    for (const bad of ["-1", "301", "1.5", "half", " "]) {
      const failure = await growthOf(bad)
      expect(typeof failure, `${JSON.stringify(bad)} is refused`).toBe("string")
      expect(failure, JSON.stringify(bad)).toContain("HEAP_GROWTH_PERCENT")
    }
  })

  it("becomes a V8 option this node accepts (a misspelt one is refused, so this can tell)", () => {
    const run = (option: string) => spawnSync(process.execPath, [option, "-e", "0"], { encoding: "utf8" })
    for (const percent of [0, 50, 300]) {
      const accepted = run(heapGrowthFlag(percent))
      expect(accepted.status, `${heapGrowthFlag(percent)}: ${accepted.stderr}`).toBe(0)
    }
    expect(run("--heap-growing-percentage=50").status, "an option node does not know").not.toBe(0)
  })
})
