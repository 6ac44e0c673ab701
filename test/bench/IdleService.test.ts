/**
 * The idle-service bench (bench/IdleService.ts) on a short stretch: the compiled service
 * joins on the mock cluster, its CPU is measured and printed, the run stops cleanly, and a
 * bad setting is refused by name. The figure itself is never asserted.
 */
import { execFile } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"
import { describeWire } from "../wire/WireSuite.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

const run = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((done) => {
    execFile(process.execPath, ["--import", "tsx", "bench/IdleService.ts", ...args], { cwd: repoRoot, timeout: 110_000 }, (error, stdout, stderr) =>
      done({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })

describeWire("the idle-service bench", { what: "the idle-service bench", kcat: false }, () => {
  it("--json: the service's CPU over the stretch asked for", async () => {
    const ran = await run(["--seconds", "2", "--json"])
    expect(ran.code, `exit code; stderr:\n${ran.stderr}`).toBe(0)
    const doc = JSON.parse(ran.stdout) as { readonly seconds: number; readonly cpuMsPerSecond: number }
    expect(doc.seconds).toBe(2)
    expect(Number.isFinite(doc.cpuMsPerSecond) && doc.cpuMsPerSecond >= 0, `a CPU figure, got ${doc.cpuMsPerSecond}`).toBe(true)
  }, 120_000)
})

it("refuses a bad setting by name", async () => {
  const ran = await run(["--seconds", "soon"])
  expect(ran.code).toBe(1)
  expect(ran.stderr).toContain("--seconds takes a positive integer, got soon")
}, 60_000)
