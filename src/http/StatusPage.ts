/** The human status page at `/`: every job with its outcome and counts, refreshed every 5 s. */
import type { JobView } from "../review/JobView.ts"

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export const statusPage = (jobs: ReadonlyArray<JobView>, ready: boolean): string => {
  const rows = jobs
    .map((j) =>
      `<tr><td><a href="/jobs/${encodeURIComponent(j.job_id)}">${escape(j.job_id)}</a></td><td>${escape(j.outcome)}</td>` +
      `<td>${j.expected_count ?? "-"}</td><td>${j.counts.transform.usable}</td><td>${j.counts.analysis.usable}</td>` +
      `<td>${j.counts.transform.invalid + j.counts.analysis.invalid}</td><td>${j.counts.transform.duplicates + j.counts.analysis.duplicates}</td>` +
      `<td>${j.aggregate.transform_stats.avg_rating}</td></tr>`)
    .join("\n")
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>review-aggregator</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body>
<h1>review-aggregator</h1>
<p>${ready ? "ready" : "restoring state…"} · ${jobs.length} jobs · <a href="/metrics">metrics</a></p>
<table><thead><tr><th>job</th><th>outcome</th><th>expected</th><th>transform</th><th>analysis</th><th>invalid</th><th>duplicates</th><th>avg rating</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>`
}
