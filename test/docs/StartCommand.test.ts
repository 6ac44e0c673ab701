/**
 * The start command the README gives for a checkout (bin/review-aggregator, the package's
 * bin): it runs the TypeScript sources under tsx inside that very process, so a refused
 * setting is its exit status and SIGTERM reaches the service, which stops cleanly with exit
 * 0. The image runs the compiled service instead: test/deploy/CompiledBundle.test.ts.
 */
import { accessSync, constants, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { freePort, killServices, startService } from "../support/ServiceProcess.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const command = join(repoRoot, "bin", "review-aggregator")

afterEach(killServices)

describe("bin/review-aggregator", () => {
  it("is the package's bin, is executable and runs the sources with tsx, a development dependency", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"))
    expect(pkg.bin).toEqual({ "review-aggregator": "bin/review-aggregator" })
    expect(() => accessSync(command, constants.X_OK), "bin/review-aggregator must be executable").not.toThrow()
    expect(readFileSync(command, "utf8")).toContain('"../src/main.ts"')
    // `npm ci` installs it. The image (`npm ci --omit=dev`) has neither tsx nor this launcher:
    // it runs the compiled service (test/deploy/CompiledBundle.test.ts).
    expect(pkg.devDependencies.tsx).toBeDefined()
  })

  it("exits 1 naming the variable when a setting is empty", async () => {
    const refused = await startService({ TIMEOUT_MS: "" }, "bin/review-aggregator")
    const exit = await refused.exited
    expect(exit, `exit; output:\n${refused.output()}`).toEqual({ code: 1, signal: null })
    expect(refused.output()).toContain("TIMEOUT_MS: the variable is set but empty")
  })

  it("receives SIGTERM itself and stops with exit 0", async () => {
    // No broker listens on the port: the service keeps retrying Kafka while /healthz answers.
    const brokerPort = await freePort()
    const service = await startService({ BOOTSTRAP_SERVERS: `127.0.0.1:${brokerPort}`, KAFKA_LOG_LEVEL: "nothing" }, "bin/review-aggregator")
    await service.waitUntilHealthy(55_000)
    const { exit } = await service.stop("SIGTERM", 55_000)
    expect(exit, `exit after SIGTERM; output:\n${service.output()}`).toEqual({ code: 0, signal: null })
    expect(await service.answers("/healthz"), "the HTTP server is still answering after exit").toBe(false)
  }, 60_000)
})
