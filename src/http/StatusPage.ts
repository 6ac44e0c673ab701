/**
 * The operator console at `/`: readiness, Kafka connection, consumer lag and restore
 * state, then the jobs (running first, newest first) with a progress bar per stage,
 * deadlines and failure reasons. Server-rendered; a small inline script swaps in a fresh
 * copy every few seconds (without JavaScript the page reloads itself instead).
 */
import type { KafkaConnection } from "../observability/KafkaHealth.ts"
import type { JobView } from "../review/JobView.ts"
import type { JobPage } from "./JobListing.ts"

export interface ConsoleModel {
  readonly now: number
  readonly restored: boolean
  readonly kafka: KafkaConnection
  readonly lag: ReadonlyArray<{ readonly topic: string; readonly partition: number; readonly records: number }>
  readonly page: JobPage<JobView>
}

export const refreshSeconds = 5

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const duration = (ms: number): string => {
  const s = Math.round(Math.abs(ms) / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  return `${h}h ${m % 60}m`
}

const time = (iso: string | null, now: number, suffix: "ago" | "deadline"): string => {
  if (iso === null) return "–"
  const at = Date.parse(iso)
  const relative = suffix === "ago" ? `${duration(now - at)} ago` : at >= now ? `in ${duration(at - now)}` : `overdue ${duration(now - at)}`
  return `<time datetime="${iso}" title="${iso}">${relative}</time>`
}

const pill = (kind: "ok" | "warn" | "bad", text: string) => `<span class="pill ${kind}">${escape(text)}</span>`

interface StageProgress {
  readonly count: number | undefined
  readonly of: number | undefined
}

/** What each stage's bar measures: distinct usable records against the expected count. */
const progressOf = (job: JobView, stage: string): StageProgress => {
  const expected = job.expected_count ?? undefined
  switch (stage) {
    case "transform":
      return { count: job.counts.transform.usable, of: expected }
    case "analysis":
      return { count: job.counts.analysis.usable, of: expected ?? (job.counts.transform.usable > 0 ? job.counts.transform.usable : undefined) }
    case "collection":
      return { count: expected, of: undefined }
    default:
      return { count: undefined, of: undefined }
  }
}

const stageCell = (job: JobView, stage: string, now: number): string => {
  const s = job.stages[stage]!
  const { count, of } = progressOf(job, stage)
  const measured = of !== undefined && of > 0 && count !== undefined ? Math.min(1, count / of) : undefined
  // Only a running stage without a measure is drawn as busy; an ended one shows where it stopped.
  const share = s.status === "done" ? 1 : s.status === "waiting" ? 0 : measured ?? (s.status === "running" ? undefined : 1)
  const bar = share === undefined
    ? `<div class="bar indeterminate"><div></div></div>`
    : `<div class="bar"><div style="width:${(share * 100).toFixed(1)}%"></div></div>`
  const counts = count === undefined ? "" : of === undefined ? `${count}` : `${count}/${of}`
  const deadline = s.status === "running" ? `<div class="deadline">deadline ${time(s.deadline, now, "deadline")}</div>` : ""
  return `<td class="stage ${s.status}" data-stage="${escape(stage)}" title="${escape(`${stage}: ${s.status}`)}">` +
    `<div class="stage-head"><span class="stage-name">${escape(stage)}</span><span class="counts">${counts}</span></div>${bar}${deadline}</td>`
}

const reasonOf = (job: JobView): string | undefined => {
  for (const stage of Object.values(job.stages)) {
    if ((stage.status === "failed" || stage.status === "timeout") && stage.message !== null) return stage.message
  }
  return undefined
}

const outcomeClass = (outcome: string) =>
  outcome === "done" ? "done" : outcome.startsWith("running") ? "running" : outcome.endsWith("timeout") ? "timeout" : "failed"

const jobRow = (job: JobView, stageNames: ReadonlyArray<string>, now: number): string => {
  const reason = reasonOf(job)
  const quality = job.counts.transform.invalid + job.counts.analysis.invalid
  const duplicates = job.counts.transform.duplicates + job.counts.analysis.duplicates
  return `<tr class="job ${outcomeClass(job.outcome)}" data-job-id="${escape(job.job_id)}">` +
    `<td class="job-id"><a href="/jobs/${encodeURIComponent(job.job_id)}">${escape(job.job_id)}</a>` +
    `<div class="times">started ${time(job.first_seen_at, now, "ago")}${job.finished_at === null ? "" : ` · finished ${time(job.finished_at, now, "ago")}`}</div></td>` +
    `<td><span class="outcome ${outcomeClass(job.outcome)}">${escape(job.outcome)}</span></td>` +
    stageNames.map((s) => (job.stages[s] === undefined ? "<td></td>" : stageCell(job, s, now))).join("") +
    `<td class="num">${quality}</td><td class="num">${duplicates}</td>` +
    `<td class="reason">${reason === undefined ? "" : escape(reason)}</td></tr>`
}

const pager = (page: JobPage<unknown>): string => {
  const first = page.total === 0 ? 0 : page.offset + 1
  const last = Math.min(page.total, page.offset + page.limit)
  const link = (offset: number, text: string) => `<a href="/?offset=${offset}&amp;limit=${page.limit}">${text}</a>`
  const newer = page.offset > 0 ? link(Math.max(0, page.offset - page.limit), "← newer") : ""
  const older = last < page.total ? link(last, "older →") : ""
  return `<nav class="pager">jobs ${first}–${last} of ${page.total} ${newer} ${older}</nav>`
}

const header = (m: ConsoleModel): string => {
  const ready = m.restored && m.kafka.connected
  const totalLag = m.lag.reduce((sum, l) => sum + l.records, 0)
  const lagDetail = m.lag.length === 0
    ? "no partition consumed yet"
    : [...m.lag].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
      .map((l) => `${escape(l.topic)}[${l.partition}] ${l.records}`).join(" · ")
  const kafka = m.kafka.connected
    ? pill("ok", "Kafka reachable")
    : pill("bad", m.kafka.lastError === undefined ? "Kafka unreachable" : `Kafka unreachable: ${m.kafka.lastError}`)
  const contact = m.kafka.lastOkAt === undefined ? "never" : time(new Date(m.kafka.lastOkAt).toISOString(), m.now, "ago")
  return `<section class="summary">
<div id="readiness">${ready ? pill("ok", "ready") : pill("bad", "not ready")}</div>
<div id="restore">${m.restored ? pill("ok", "state restored") : pill("warn", "restoring state…")}</div>
<div id="kafka">${kafka} <span class="muted">last answer ${contact}</span></div>
<div id="lag">${pill(totalLag === 0 ? "ok" : "warn", `consumer lag ${totalLag}`)} <span class="muted">${lagDetail}</span></div>
<div id="job-counts">${pill("ok", `${m.page.running} running`)} <span class="muted">${m.page.total} jobs in state</span></div>
</section>`
}

const jobsTable = (m: ConsoleModel): string => {
  const stageNames = m.page.jobs[0] === undefined ? [] : Object.keys(m.page.jobs[0].stages)
  if (m.page.jobs.length === 0) return `<p class="muted">${m.restored ? "No jobs in state." : "Jobs appear once state is restored."}</p>`
  return `<table id="jobs"><thead><tr><th>job</th><th>outcome</th>${stageNames.map((s) => `<th>${escape(s)}</th>`).join("")}` +
    `<th title="distinct records that could not be used">invalid</th><th>dupl.</th><th>reason</th></tr></thead>
<tbody>
${m.page.jobs.map((j) => jobRow(j, stageNames, m.now)).join("\n")}
</tbody></table>`
}

const style = `
:root{--ok:#1a7f37;--warn:#b35900;--bad:#cf222e;--run:#0969da;--muted:#57606a;--line:#d0d7de}
body{font:14px system-ui,sans-serif;margin:1.5em 2em;color:#1f2328}
h1{font-size:20px;margin:0 0 .6em}
.summary{display:flex;flex-wrap:wrap;gap:.6em 1.4em;margin-bottom:1em;align-items:center}
.pill{display:inline-block;padding:2px 9px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}
.pill.ok{background:var(--ok)}.pill.warn{background:var(--warn)}.pill.bad{background:var(--bad)}
.muted{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-size:12px;color:var(--muted);border-bottom:2px solid var(--line);padding:4px 8px}
td{padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.times{color:var(--muted);font-size:11px;margin-top:2px}
.outcome{font-weight:600;white-space:nowrap}
.outcome.done{color:var(--ok)}.outcome.running{color:var(--run)}.outcome.failed{color:var(--bad)}.outcome.timeout{color:var(--warn)}
tr.job.failed{background:#fff5f5}tr.job.timeout{background:#fff8f0}
td.stage{min-width:110px}
.stage-head{display:flex;justify-content:space-between;font-size:11px;color:var(--muted)}
.counts{font-variant-numeric:tabular-nums;color:#1f2328}
.bar{height:8px;background:#eaeef2;border-radius:4px;overflow:hidden;margin-top:3px}
.bar>div{height:100%;background:var(--muted)}
.stage.running .bar>div{background:var(--run)}.stage.done .bar>div{background:var(--ok)}
.stage.failed .bar>div{background:var(--bad)}.stage.timeout .bar>div{background:var(--warn)}
.bar.indeterminate>div{width:30%;animation:slide 1.5s linear infinite}
@keyframes slide{from{margin-left:-30%}to{margin-left:100%}}
.stage.waiting .stage-name{opacity:.6}
.deadline{font-size:11px;color:var(--muted);margin-top:2px}
.reason{color:var(--bad);max-width:28em}
.pager{margin:.8em 0;color:var(--muted)}.pager a{margin-left:1em}
footer{margin-top:1em}`

// Swaps in a fresh copy of <main> instead of reloading, so scrolling and selection survive.
const refreshScript = `
setInterval(async () => {
  try {
    const res = await fetch(location.href, { headers: { accept: "text/html" } })
    const doc = new DOMParser().parseFromString(await res.text(), "text/html")
    const fresh = doc.querySelector("main")
    if (fresh) document.querySelector("main").replaceWith(fresh)
  } catch (e) { document.getElementById("updated").textContent = "refresh failed: " + e }
}, ${refreshSeconds * 1000})`

export const statusPage = (m: ConsoleModel): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<noscript><meta http-equiv="refresh" content="${refreshSeconds}"></noscript>
<title>review-aggregator</title>
<style>${style}</style>
</head><body>
<h1>review-aggregator</h1>
<main>
${header(m)}
${jobsTable(m)}
${pager(m.page)}
<footer class="muted"><span id="updated">updated <time datetime="${new Date(m.now).toISOString()}">${new Date(m.now).toISOString().slice(11, 19)} UTC</time></span> · refreshes every ${refreshSeconds}s · <a href="/jobs">/jobs</a> · <a href="/metrics">/metrics</a> · <a href="/readyz">/readyz</a></footer>
</main>
<script>${refreshScript}</script>
</body></html>`
