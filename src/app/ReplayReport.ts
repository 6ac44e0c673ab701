/** Files and the per-job table a replay or demo run leaves behind. */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { ConsumedRecord } from "../kernel/kafka/KafkaPort.ts"
import { usable, type Job } from "../review/Job.ts"
import type { ReplayResult } from "./Replay.ts"

const utf8 = new TextDecoder()
const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : utf8.decode(bytes))

/** One line per record: {"topic","partition","offset","timestamp","key","headers","value"}. */
export const recordLine = (r: ConsumedRecord): string =>
  JSON.stringify({ topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: text(r.key), headers: r.headers, value: text(r.value) })

export const writeTopics = (dir: string, result: ReplayResult): ReadonlyArray<{ readonly file: string; readonly records: number }> => {
  mkdirSync(dir, { recursive: true })
  return [...result.topics].map(([topic, records]) => {
    const file = join(dir, `${topic}.ndjson`)
    writeFileSync(file, records.map((r) => recordLine(r) + "\n").join(""))
    return { file, records: records.length }
  })
}

export const jobOutcome = (job: Job): string => {
  const ended = job.stages.ended
  if (ended === undefined) {
    const running = job.stages.order.find((s) => job.stages.states[s].status === "running")
    return `running (${running ?? "?"})`
  }
  return ended.status === "done" ? "done" : `${ended.stage} ${ended.status}`
}

const pad = (s: string, n: number) => s + " ".repeat(Math.max(0, n - [...s].length))

export const summaryTable = (result: ReplayResult): string => {
  const header = ["job", "expected", "transform", "analysis", "invalid", "dups", "outcome"]
  const rows = [...result.jobs]
    .sort((a, b) => (a.jobId < b.jobId ? -1 : 1))
    .map((j) => [
      j.jobId,
      String(j.expected ?? "-"),
      String(usable(j, "transform")),
      String(usable(j, "analysis")),
      String(j.quality.transform.invalid + j.quality.analysis.invalid),
      String(j.quality.transform.duplicates + j.quality.analysis.duplicates),
      jobOutcome(j) + (j.stages.ended?.message !== undefined ? `: ${j.stages.ended.message}` : "")
    ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...r[i]!].length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join("  ")
  return [line(header), ...rows.map(line)].join("\n")
}
