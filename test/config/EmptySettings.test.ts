/**
 * A variable set to an empty value (`TIMEOUT_MS=`, as a template or a Secret that rendered
 * nothing leaves it) stops start-up with an error naming it, instead of quietly taking the
 * default. Every variable src/config reads is tried, through the layers the service builds.
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Cause, Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { envOverrides } from "../support/EnvOverrides.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { KafkaConfig } from "../../src/config/KafkaConfig.ts"
import { sampleDir } from "../support/Samples.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

/** Every quoted upper-case name in the settings modules: a setting added later is covered too. */
const settingNames = [...new Set(
  ["src/config/AppConfig.ts", "src/config/KafkaConfig.ts"].flatMap((file) =>
    [...readFileSync(join(repoRoot, file), "utf8").matchAll(/"([A-Z][A-Z0-9_]{2,})"/g)].map((m) => m[1]!)
  )
)].sort()

/** Variables that are read only once another one is set (SASL credentials need a mechanism). */
const companions: Readonly<Record<string, Record<string, string>>> = {
  KAFKA_SASL_USERNAME: { KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_PASSWORD: "p" },
  KAFKA_SASL_PASSWORD: { KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u" }
}

const setEnv = envOverrides()

/** Builds the settings layers as the service does (they read process.env) and returns the failure, if any. */
const startUpFailure = async (): Promise<string | undefined> => {
  const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(Layer.mergeAll(AppConfig.layer, KafkaConfig.layer))))
  return Exit.isFailure(exit) ? Cause.pretty(exit.cause) : undefined
}

describe("empty settings", () => {
  it("are found in both settings modules", () => {
    expect(settingNames).toEqual(expect.arrayContaining(["APPLICATION_ID", "BOOTSTRAP_SERVERS", "TIMEOUT_MS", "HTTP_PORT", "KAFKA_SASL_PASSWORD", "SHUTDOWN_TIMEOUT_MS"]))
  })

  it("start up on the defaults when no setting is given", async () => {
    setEnv(Object.fromEntries(settingNames.map((name) => [name, "unset"])))
    for (const name of settingNames) delete process.env[name]
    expect(await startUpFailure()).toBeUndefined()
  })

  it.each(settingNames)("refuse %s= naming the variable", async (name) => {
    setEnv({ ...companions[name], [name]: "" })
    const failure = await startUpFailure()
    expect(failure, `${name}= was accepted`).toBeDefined()
    expect(failure).toContain(`${name}: the variable is set but empty`)
  })

  it("refuse a value of blanks like an empty one", async () => {
    setEnv({ TIMEOUT_MS: "  " })
    expect(await startUpFailure()).toContain("TIMEOUT_MS: the variable is set but empty")
  })

  it("stop a command with exit 1 and one line naming the variable", () => {
    const run = spawnSync(process.execPath, [
      "--import", "tsx", "src/bin/replay.ts",
      "--transform", join(sampleDir, "transform.ndjson"),
      "--analysis", join(sampleDir, "analysis.ndjson"),
      "--control", join(sampleDir, "control.ndjson"),
      "--out", join(repoRoot, "out", "empty-settings-test")
    ], { cwd: repoRoot, encoding: "utf8", env: { ...process.env, APPLICATION_ID: "" }, timeout: 60_000 })
    expect(run.status, `exit status; stderr:\n${run.stderr}`).toBe(1)
    expect(run.stderr.trim()).toBe(
      "error: invalid setting APPLICATION_ID: the variable is set but empty; give it a value or unset it to use the default"
    )
  })
})
