/**
 * The produce-encoding bench (bench/ProduceEncoding.ts) on a tiny size: it encodes every
 * case with kafkajs's own request encoder and with the one-pass encoding, and prints a
 * figure for each. Timings are never asserted.
 */
import { expect, it } from "vitest"
import { runBenchScript } from "../support/BenchScript.ts"

const run = (args: ReadonlyArray<string>) => runBenchScript("ProduceEncoding.ts", args, 60_000)

it("--json: a measured figure for each value size and header count", async () => {
  const ran = await run(["--records", "2000", "--rounds", "1", "--json"])
  expect(ran.code, `exit code; stderr:\n${ran.stderr}`).toBe(0)
  const doc = JSON.parse(ran.stdout) as {
    readonly figures: ReadonlyArray<{ readonly valueBytes: number; readonly headers: string; readonly microsPerRecord: number; readonly onePassMicrosPerRecord: number }>
  }
  expect(doc.figures.map((f) => `${f.valueBytes} ${f.headers}`)).toEqual([
    "100 none", "100 1 (changelog.frame)", "100 3 (the earlier frame)",
    "1000 none", "1000 1 (changelog.frame)", "1000 3 (the earlier frame)"
  ])
  for (const f of doc.figures) {
    expect(f.microsPerRecord, `kafkajs, ${f.valueBytes} B, headers ${f.headers}`).toBeGreaterThan(0)
    expect(f.onePassMicrosPerRecord, `one-pass, ${f.valueBytes} B, headers ${f.headers}`).toBeGreaterThan(0)
  }
}, 70_000)

it("refuses a bad setting by name", async () => {
  const ran = await run(["--records", "many"])
  expect(ran.code).not.toBe(0)
  expect(ran.stderr).toContain("--records takes a positive integer, got many")
}, 70_000)
