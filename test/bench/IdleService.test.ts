/**
 * The idle-service bench (bench/IdleService.ts) on a short stretch: the compiled service
 * joins on the mock cluster, its CPU is measured and printed, the run stops cleanly, and a
 * bad setting is refused by name. The figure itself is never asserted.
 */
import { expect, it } from "vitest"
import { runBenchScript } from "../support/BenchScript.ts"
import { describeWire } from "../wire/WireSuite.ts"

const run = (args: ReadonlyArray<string>) => runBenchScript("IdleService.ts", args, 110_000)

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
