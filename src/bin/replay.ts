/**
 * `npm run replay -- --transform FILE --analysis FILE --control FILE --out DIR [--max-wait-ms N]`
 * Runs the real topology on the embedded broker and writes each output topic to
 * DIR/<topic>.ndjson. Timings (TIMEOUT_MS, WINDOW_INACTIVITY_MS, ...) come from the environment.
 */
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import { AppConfig } from "../config/AppConfig.ts"
import { replay, replayLayer, splitLines } from "../app/Replay.ts"
import { summaryTable, writeTopics } from "../app/ReplayReport.ts"
import { runCli } from "./CliMain.ts"

const usage = "usage: npm run replay -- --transform FILE --analysis FILE --control FILE --out DIR [--max-wait-ms N]"

const parse = () => {
  const { values } = parseArgs({
    options: {
      transform: { type: "string" },
      analysis: { type: "string" },
      control: { type: "string" },
      out: { type: "string" },
      "max-wait-ms": { type: "string", default: "120000" }
    },
    strict: true
  })
  const missing = (["transform", "analysis", "control", "out"] as const).filter((k) => values[k] === undefined)
  if (missing.length > 0) throw new Error(`missing --${missing.join(", --")}\n${usage}`)
  const maxWaitMs = Number(values["max-wait-ms"])
  if (!Number.isInteger(maxWaitMs) || maxWaitMs <= 0) throw new Error(`--max-wait-ms must be a positive integer, got "${values["max-wait-ms"]}"`)
  return { transform: values.transform!, analysis: values.analysis!, control: values.control!, out: values.out!, maxWaitMs }
}

const read = (path: string) => {
  try {
    return splitLines(readFileSync(path))
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`)
  }
}

const program = Effect.gen(function*() {
  // Arguments and files are checked before the pipeline starts.
  const args = yield* Effect.try({ try: parse, catch: (e) => e as Error })
  const input = yield* Effect.try({
    try: () => ({ transform: read(args.transform), analysis: read(args.analysis), control: read(args.control) }),
    catch: (e) => e as Error
  })
  const result = yield* replay(input, { maxWaitMs: args.maxWaitMs }).pipe(Effect.provide(replayLayer(AppConfig.layer)))
  const written = writeTopics(args.out, result)
  console.log(summaryTable(result))
  console.log(`\nwrote ${written.map((w) => `${w.file} (${w.records})`).join(", ")}`)
  if (!result.completed) console.log(`\nstopped after --max-wait-ms ${args.maxWaitMs}: some jobs were still running`)
})

runCli(program)
