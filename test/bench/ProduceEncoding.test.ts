/**
 * The produce-encoding bench (bench/ProduceEncoding.ts) on a tiny size: it encodes every
 * case with kafkajs's own request encoder and prints a figure for each. Timings are never
 * asserted.
 */
import { execFile } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

const run = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((done) => {
    execFile(process.execPath, ["--import", "tsx", "bench/ProduceEncoding.ts", ...args], { cwd: repoRoot, timeout: 60_000 }, (error, stdout, stderr) =>
      done({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })

it("--json: a measured figure for each value size and header count", async () => {
  const ran = await run(["--records", "2000", "--rounds", "1", "--json"])
  expect(ran.code, `exit code; stderr:\n${ran.stderr}`).toBe(0)
  const doc = JSON.parse(ran.stdout) as { readonly figures: ReadonlyArray<{ readonly valueBytes: number; readonly headers: string; readonly microsPerRecord: number }> }
  expect(doc.figures.map((f) => `${f.valueBytes} ${f.headers}`)).toEqual([
    "100 none", "100 1 (changelog.frame)", "100 3 (the earlier frame)",
    "1000 none", "1000 1 (changelog.frame)", "1000 3 (the earlier frame)"
  ])
  for (const f of doc.figures) expect(f.microsPerRecord, `${f.valueBytes} B, headers ${f.headers}`).toBeGreaterThan(0)
}, 70_000)

it("refuses a bad setting by name", async () => {
  const ran = await run(["--records", "many"])
  expect(ran.code).not.toBe(0)
  expect(ran.stderr).toContain("--records takes a positive integer, got many")
}, 70_000)
