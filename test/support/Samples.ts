/** The sample input carried in test/fixtures/sample and the results expected for it. */
import { readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { splitLines, type ReplayInput } from "../../src/app/Replay.ts"

const here = dirname(fileURLToPath(import.meta.url))
export const sampleDir = resolve(here, "../fixtures/sample")

export const loadSampleInput = (): ReplayInput => ({
  transform: splitLines(readFileSync(join(sampleDir, "transform.ndjson"))),
  analysis: splitLines(readFileSync(join(sampleDir, "analysis.ndjson"))),
  control: splitLines(readFileSync(join(sampleDir, "control.ndjson")))
})

export interface ExpectedJob {
  readonly expected_count: number
  readonly terminal: { readonly step: string; readonly status: string; readonly actual_count?: number; readonly reason?: string }
  readonly aggregate?: Record<string, unknown>
  readonly rows?: number
  readonly join_unmatched?: number
}

export interface Expected {
  readonly dlq: Readonly<Record<string, number>>
  readonly jobs: Readonly<Record<string, ExpectedJob>>
}

export const loadExpected = (): Expected => JSON.parse(readFileSync(join(sampleDir, "expected.json"), "utf8"))

/** The timings expected.json was computed for (test/fixtures/sample/README.md). */
export const sampleTimings = { timeoutMs: 3_000, windowInactivityMs: 1_000 } as const
