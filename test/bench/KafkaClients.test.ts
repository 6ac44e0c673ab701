/**
 * The Kafka client comparison (bench/PlatformaticFloor.ts) on a tiny size: both clients
 * encode byte-identical produce requests, both decoders read every record back, the kafkajs
 * producer writes to the mock cluster, and what @platformatic/kafka does there is reported.
 * Timings are never asserted.
 */
import { execFile } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"
import { describeWire } from "../wire/WireSuite.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

interface Comparison {
  readonly records: number
  readonly requestBytes: { readonly kafkajs: number; readonly platformatic: number }
  readonly figures: ReadonlyArray<{ readonly what: string; readonly client: string; readonly records: number; readonly recordsPerSecond: number; readonly cpuMicrosPerRecord: number }>
  readonly platformaticOnTheMockCluster: string
}

const compare = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((done) => {
    execFile(process.execPath, ["--import", "tsx", "bench/PlatformaticFloor.ts", ...args], { cwd: repoRoot, timeout: 170_000, maxBuffer: 2 ** 20 }, (error, stdout, stderr) =>
      done({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })

describeWire("Kafka client comparison", { what: "the Kafka client comparison", kcat: false }, () => {
  it("--json: identical request bytes from both encoders, every figure measured, the other client's outcome on the mock named", async () => {
    const ran = await compare(["--records", "2000", "--json"])
    expect(ran.code, `exit code; stderr:\n${ran.stderr}`).toBe(0)
    const doc = JSON.parse(ran.stdout) as Comparison
    expect(doc.records).toBe(2000)
    expect(doc.requestBytes.kafkajs, "kafkajs produce request bytes").toBeGreaterThan(2000 * 700)
    expect(doc.requestBytes.platformatic, "both clients encode the same produce requests byte for byte").toBe(doc.requestBytes.kafkajs)
    expect(doc.figures.map((f) => `${f.client}: ${f.what.split(" (")[0]}`)).toEqual([
      "kafkajs: encode produce requests",
      "@platformatic/kafka: encode produce requests",
      "kafkajs: decode record batches",
      "@platformatic/kafka: decode record batches",
      "kafkajs: produce to the mock cluster"
    ])
    for (const f of doc.figures) {
      expect(f.records, `${f.client} ${f.what}: records`).toBe(2000)
      expect(f.recordsPerSecond, `${f.client} ${f.what}: records/s`).toBeGreaterThan(0)
      expect(f.cpuMicrosPerRecord, `${f.client} ${f.what}: CPU per record`).toBeGreaterThan(0)
    }
    expect(doc.platformaticOnTheMockCluster, "what @platformatic/kafka did on the mock cluster").toMatch(/^(produces|fails: .+)$/)
  }, 180_000)

  it("refuses a record count it cannot split into requests, naming the argument", async () => {
    const ran = await compare(["--records", "10"])
    expect(ran.code).toBe(1)
    expect(ran.stderr).toContain("--records must be an integer of at least 1000")
  })
})
