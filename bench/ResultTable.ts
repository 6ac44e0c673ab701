/**
 * The suite's human-readable output: a block of figures per run as it finishes, and a
 * summary table (one row per run, or the median of repeated runs) at the end.
 */
import type { Median } from "./Medians.ts"
import type { RunResult } from "./RunResult.ts"

const int = (n: number) => Math.round(n).toLocaleString("en")
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`
const line = (label: string, value: string) => `${label.padEnd(24)}${value}`

const outcomeOf = (run: RunResult): string => {
  const entries = Object.entries(run.outcome.statuses)
  const ended = entries.reduce((n, [, count]) => n + count, 0)
  // All jobs alike: the status alone (what the README's check reads).
  if (entries.length === 1 && ended === run.outcome.jobs) return entries[0]![0]
  const unfinished = run.outcome.jobs - ended
  return [...entries.map(([status, count]) => `${status} ${int(count)}`), ...(unfinished > 0 ? [`unfinished ${int(unfinished)}`] : [])].join(", ")
}

export const runBlock = (run: RunResult): string => {
  const { size, input, service, floor, changelog } = run
  const shape = size.envelopeSize > 0 ? `batch envelopes of ${size.envelopeSize} (some chunks record by record)` : "one record per message"
  const jobs = size.jobs === 1 ? `1 of ${int(size.reviews)} reviews` : `${int(size.jobs)} of ${int(size.reviewsPerJob)} reviews`
  const lines = [
    `== ${run.path}${run.mode === undefined ? "" : ` (${run.mode})`} / ${run.case} ==`,
    line("reviews", int(size.reviews)),
    line("jobs", `${jobs}, ${shape}`),
    line("input", `${int(input.records)} records in ${int(input.messages)} messages, ${mb(input.bytes)}${input.partitions === undefined ? "" : `, ${input.partitions} partitions per input topic`}`),
    line("outcome", outcomeOf(run)),
    line("records/s", `${int(service.recordsPerSecond)} in ${service.seconds.toFixed(1)} s`),
    line("floor records/s", `${int(floor.recordsPerSecond)} (${floor.what}); ratio ${run.ratio.toFixed(3)}`),
    line("CPU per record", `${service.cpuMicrosPerRecord.toFixed(1)} µs (floor ${floor.cpuMicrosPerRecord.toFixed(1)} µs)`),
    line("peak RSS", `${mib(service.peakRssBytes)} sampled every 100 ms (${service.rssSamples} samples); kernel high-water mark ${mib(service.maxRssBytes)}; ${mib(service.baselineRssBytes)} at the start`),
    line("changelog per review", `${changelog.recordsPerReview.toFixed(2)} records, ${int(changelog.bytesPerReview)} B (${changelog.bytesPerInputByte.toFixed(2)} x input bytes${changelog.bytesExtrapolated ? "; bytes extrapolated: the mock dropped old records" : ""})`)
  ]
  const shares = Object.entries(changelog.shareByStore ?? {})
  if (shares.length > 0) lines.push(line("changelog by store", shares.map(([store, share]) => `${store} ${(100 * share).toFixed(0)}%`).join(", ") + " of the bytes"))
  if (run.heap !== undefined) {
    const { baselineBytes, halfwayBytes, halfwayReviews, afterFinishBytes, afterEvictionBytes, evicted } = run.heap
    const perReview = halfwayReviews > 0 ? ` (${Math.round((halfwayBytes - baselineBytes) / halfwayReviews)} B per review handled)` : ""
    lines.push(line("heap after full GC", `baseline ${mib(baselineBytes)}, halfway +${mib(halfwayBytes - baselineBytes)}${perReview}, jobs finished +${mib(afterFinishBytes - baselineBytes)}, after retention +${mib(afterEvictionBytes - baselineBytes)} (${evicted ? "evicted" : "NOT evicted"})`))
  }
  return lines.join("\n")
}

const row = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`

export const summaryTable = (rows: ReadonlyArray<Median>): string =>
  [
    row(["path", "mode", "case", "reviews", "runs", "records/s", "floor records/s", "ratio", "CPU µs/record", "peak RSS", "changelog records/review", "changelog B/review"]),
    row(Array.from({ length: 12 }, () => "---")),
    ...rows.map((m) =>
      row([
        m.path, m.mode ?? "-", m.case, int(m.reviews), String(m.runs), int(m.recordsPerSecond), int(m.floorRecordsPerSecond), m.ratio.toFixed(3),
        m.cpuMicrosPerRecord.toFixed(1), mib(m.peakRssBytes), m.changelogRecordsPerReview.toFixed(2), int(m.changelogBytesPerReview)
      ])
    )
  ].join("\n")
