/**
 * The start command the README gives supervisors and the image runs (bin/review-aggregator):
 * the service runs in that very process, so a refused setting is its exit status and
 * SIGTERM reaches the service, which stops cleanly with exit 0.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { accessSync, constants, readFileSync } from "node:fs"
import { createServer } from "node:net"
import { delimiter, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const command = join(repoRoot, "bin", "review-aggregator")

const freePort = () =>
  new Promise<number>((resolvePort, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolvePort(address.port) : reject(new Error("no port"))))
    })
  })

interface Started {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

const started: Array<ChildProcess> = []
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
})

/** Executes the file itself, as a supervisor would; its `#!/usr/bin/env node` finds the Node running this test. */
const start = (env: Record<string, string>): Started => {
  const child = spawn(command, [], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`, ...env }
  })
  started.push(child)
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once("exit", (code, signal) => resolveExit({ code, signal }))
  )
  return { child, output: () => output, exited }
}

const healthy = async (port: number): Promise<boolean> => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200
  } catch {
    return false
  }
}

describe("bin/review-aggregator", () => {
  it("is the package's bin and the image's command, and is executable", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"))
    expect(pkg.bin).toEqual({ "review-aggregator": "bin/review-aggregator" })
    expect(() => accessSync(command, constants.X_OK), "bin/review-aggregator must be executable").not.toThrow()
    const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8")
    expect(dockerfile).toMatch(/^CMD \["node", "bin\/review-aggregator"\]$/m)
    expect(dockerfile).toMatch(/^COPY bin \.\/bin$/m)
  })

  it("exits 1 naming the variable when a setting is empty", async () => {
    const refused = start({ TIMEOUT_MS: "" })
    const exit = await refused.exited
    expect(exit, `exit; output:\n${refused.output()}`).toEqual({ code: 1, signal: null })
    expect(refused.output()).toContain("TIMEOUT_MS: the variable is set but empty")
  })

  it("receives SIGTERM itself and stops with exit 0", async () => {
    // No broker listens on the port: the service keeps retrying Kafka while /healthz answers.
    const [httpPort, brokerPort] = await Promise.all([freePort(), freePort()])
    const service = start({ HTTP_PORT: String(httpPort), BOOTSTRAP_SERVERS: `127.0.0.1:${brokerPort}`, KAFKA_LOG_LEVEL: "nothing" })
    while (!(await healthy(httpPort))) {
      if (service.child.exitCode !== null) throw new Error(`service exited early (${service.child.exitCode}):\n${service.output()}`)
      await new Promise((r) => setTimeout(r, 200))
    }
    service.child.kill("SIGTERM")
    const exit = await service.exited
    expect(exit, `exit after SIGTERM; output:\n${service.output()}`).toEqual({ code: 0, signal: null })
    expect(await healthy(httpPort), "the HTTP server is still answering after exit").toBe(false)
  }, 60_000)
})
