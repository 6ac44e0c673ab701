/**
 * The service as a real process, for tests that run it as an operator would: start it
 * (src/main.ts under tsx, the bin/review-aggregator launcher, or compiled as the image runs
 * it) with settings, wait until it is healthy, ready or has logged a line, read its output,
 * signal it, await its exit.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { delimiter, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { CompiledService } from "./CompiledService.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

/**
 * How the service is started: its module under tsx, the launcher that runs it from the
 * sources, or compiled (test/support/CompiledService.ts) and started with the image's CMD.
 */
export type Entry = "src/main.ts" | "bin/review-aggregator" | CompiledService

/** Settings for the process; `undefined` removes a variable this test process has. */
export type ServiceEnv = Readonly<Record<string, string | undefined>>

export interface ServiceExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface ServiceProcess {
  readonly httpPort: number
  /** stdout and stderr interleaved as they came (the last 400 kB), for failure messages. */
  readonly output: () => string
  /** Everything the process wrote to stdout. */
  readonly stdout: () => string
  /** The non-empty lines of stdout. */
  readonly lines: () => ReadonlyArray<string>
  readonly running: () => boolean
  readonly exited: Promise<ServiceExit>
  readonly signal: (signal: NodeJS.Signals) => void
  /** Sends `signal` and awaits the exit (at most `withinMs`); `tookMs` runs from the signal to the exit. */
  readonly stop: (signal: NodeJS.Signals, withinMs: number) => Promise<{ readonly exit: ServiceExit; readonly tookMs: number }>
  /** GET on the service's HTTP port. */
  readonly get: (path: string) => Promise<{ readonly status: number; readonly body: string }>
  /** Whether `path` answers with `status` now (false while nothing answers within 2 s). */
  readonly answers: (path: string, status?: number) => Promise<boolean>
  readonly waitUntilHealthy: (ms: number) => Promise<number>
  readonly waitUntilReady: (ms: number) => Promise<number>
  readonly waitForLine: (line: RegExp, ms: number) => Promise<number>
}

export const freePort = () =>
  new Promise<number>((resolvePort, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolvePort(address.port) : reject(new Error("no port"))))
    })
  })

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const within = <A>(ms: number, what: string, promise: Promise<A>): Promise<A> =>
  new Promise<A>((resolveWithin, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
    promise.then(
      (a) => (clearTimeout(timer), resolveWithin(a)),
      (e: unknown) => (clearTimeout(timer), reject(e))
    )
  })

export interface WaitOptions {
  /** Services whose early exit ends the wait at once, and whose output a failure shows. */
  readonly watching?: ReadonlyArray<ServiceProcess>
  /** More for the failure message (what was seen so far). */
  readonly context?: () => string
  readonly everyMs?: number
}

/**
 * Polls `check` until it holds and returns the milliseconds it took; a check that throws
 * counts as not yet (a server still starting). Fails naming `what` after `ms`.
 */
export const waitFor = async (
  what: string,
  ms: number,
  check: () => Promise<boolean> | boolean,
  { watching = [], context = () => "", everyMs = 250 }: WaitOptions = {}
): Promise<number> => {
  const start = Date.now()
  let lastError: unknown
  const holds = () => Promise.resolve().then(check).catch((error: unknown) => ((lastError = error), false))
  while (!(await holds())) {
    const dead = watching.find((s) => !s.running())
    if (dead !== undefined) throw new Error(`${what}: a service exited early (${JSON.stringify(await dead.exited)}):\n${dead.output()}`)
    if (Date.now() - start > ms) {
      const outputs = watching.map((s, i) => `--- service ${i} output:\n${s.output()}`)
      const lastly = lastError === undefined ? [] : [`last check failed: ${String(lastError)}`]
      throw new Error([`waited ${ms} ms for ${what}`, ...lastly, context(), ...outputs].join("\n"))
    }
    await sleep(everyMs)
  }
  return Date.now() - start
}

const live = new Set<ChildProcess>()

/** SIGKILLs every service this test file started that still runs (for afterAll/afterEach). */
export const killServices = () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  live.clear()
}

/** Starts the service with this test process's environment and `env`, on a free HTTP port unless `env` names one. */
export const startService = async (env: ServiceEnv = {}, entry: Entry = "src/main.ts"): Promise<ServiceProcess> => {
  const httpPort = env["HTTP_PORT"] !== undefined ? Number(env["HTTP_PORT"]) : await freePort()
  const merged: Record<string, string | undefined> = { ...process.env, HTTP_PORT: String(httpPort), ...env }
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name]
  const child = entry === "src/main.ts"
    ? spawn(process.execPath, ["--import", "tsx", entry], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: merged })
    : entry === "bin/review-aggregator"
    // Executed itself, as a supervisor would: its `#!/usr/bin/env node` finds the Node running this test.
    ? spawn(join(repoRoot, entry), [], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...merged, PATH: `${dirname(process.execPath)}${delimiter}${merged["PATH"] ?? ""}` }
    })
    // The image's CMD as written, from the directory standing in for its WORKDIR.
    : spawn(process.execPath, [...entry.args], { cwd: entry.dir, stdio: ["ignore", "pipe", "pipe"], env: merged })
  live.add(child)
  let output = ""
  let stdout = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
    output = (output + chunk.toString("utf8")).slice(-400_000)
  })
  child.stderr!.on("data", (chunk: Buffer) => void (output = (output + chunk.toString("utf8")).slice(-400_000)))
  const exited = new Promise<ServiceExit>((resolveExit) => child.once("exit", (code, signal) => resolveExit({ code, signal })))
  const url = (path: string) => `http://127.0.0.1:${httpPort}${path}`

  const service: ServiceProcess = {
    httpPort,
    output: () => output,
    stdout: () => stdout,
    lines: () => stdout.split("\n").filter((l) => l.trim().length > 0),
    running: () => child.exitCode === null && child.signalCode === null,
    exited,
    signal: (signal) => void child.kill(signal),
    stop: async (signal, withinMs) => {
      const signalled = Date.now()
      child.kill(signal)
      const exit = await within(withinMs, `service exit after ${signal}`, exited)
      return { exit, tookMs: Date.now() - signalled }
    },
    get: async (path) => {
      const res = await fetch(url(path), { signal: AbortSignal.timeout(10_000) })
      return { status: res.status, body: await res.text() }
    },
    answers: async (path, status = 200) => {
      try {
        const res = await fetch(url(path), { signal: AbortSignal.timeout(2_000) })
        await res.arrayBuffer()
        return res.status === status
      } catch {
        return false
      }
    },
    waitUntilHealthy: (ms) => waitFor("the service healthy (/healthz 200)", ms, () => service.answers("/healthz"), { watching: [service] }),
    waitUntilReady: (ms) => waitFor("the service ready (/readyz 200)", ms, () => service.answers("/readyz"), { watching: [service] }),
    waitForLine: (line, ms) => waitFor(`the service logging ${line}`, ms, () => line.test(output), { watching: [service] })
  }
  return service
}
