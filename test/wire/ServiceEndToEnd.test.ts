/**
 * The real service process (`src/main.ts`, scaled out as by default) against the mock
 * Kafka cluster: the public sample is produced by an independent client (kcat), the
 * outputs are read back with kcat and must match test/fixtures/sample/expected.json as in
 * SampleReplay.test.ts; SIGTERM then stops it with exit 0 and every offset of both stages
 * committed. Start-up refusals (bad setting, missing topic, topics not co-partitioned)
 * are checked on the same cluster.
 */
import { expect, it } from "vitest"
import { kcatRead } from "../support/Kcat.ts"
import { countBy, finalAggregates, json, sortKeys, text } from "../support/Outputs.ts"
import { loadExpected, loadSampleInput, sampleTimings } from "../support/Samples.ts"
import { type ServiceEnv, waitFor, within } from "../support/ServiceProcess.ts"
import { kcatProduce, serviceCluster, serviceTopicNames } from "./ServiceOnMockCluster.ts"
import { describeWire } from "./WireSuite.ts"

const APP = "e2e-aggregator"
const topic = serviceTopicNames(APP)
/** Not co-partitioned with the transform topic: the service must refuse it. */
const analysisOtherCount = "e2e-analysis-four-partitions"

describeWire("service end to end on the mock cluster", { what: "the wire end-to-end test", kcat: true }, () => {
  const expected = loadExpected()
  const input = loadSampleInput()
  const wire = serviceCluster(APP, { extraTopics: [{ name: analysisOtherCount, partitions: 4 }] })
  const start = (env: ServiceEnv = {}) =>
    wire.start({ TIMEOUT_MS: String(sampleTimings.timeoutMs), WINDOW_INACTIVITY_MS: String(sampleTimings.windowInactivityMs), ...env })

  it("refuses to start, naming the problem, on a bad setting, a missing topic or topics not co-partitioned", async () => {
    const refusals = await Promise.all([
      { env: { KAFKA_COMPRESSION: "snappy" }, message: /KAFKA_COMPRESSION/ },
      { env: { OUTPUT_ROWS_TOPIC: "e2e-no-such-rows-topic" }, message: /'e2e-no-such-rows-topic' \(OUTPUT_ROWS_TOPIC\) does not exist.*AUTO_CREATE_TOPICS=true/ },
      {
        env: { INPUT_ANALYSIS_TOPIC: analysisOtherCount },
        message: /INPUT_TRANSFORM_TOPIC '.*' has 3 partitions but INPUT_ANALYSIS_TOPIC '.*' has 4/
      }
    ].map(async ({ env, message }) => {
      const refused = await start(env)
      const { code } = await within(60_000, `service refusing ${JSON.stringify(env)}`, refused.exited)
      return { env, message, code, output: refused.output() }
    }))
    for (const r of refusals) {
      expect(r.code, `exit code with ${JSON.stringify(r.env)}; output:\n${r.output}`).toBe(1)
      expect(r.output, `start-up message with ${JSON.stringify(r.env)}`).toMatch(r.message)
    }
  }, 90_000)

  it("aggregates the sample produced by kcat like the replay, then stops on SIGTERM with exit 0 and all offsets committed", async () => {
    await Promise.all([
      kcatProduce(wire.cluster.bootstrap, topic.control, input.control),
      kcatProduce(wire.cluster.bootstrap, topic.transform, input.transform),
      kcatProduce(wire.cluster.bootstrap, topic.analysis, input.analysis)
    ])
    const inputs: ReadonlyArray<string> = [topic.transform, topic.analysis, topic.control]
    const produced = Object.fromEntries(
      (await wire.inputOffsets()).filter((o) => inputs.includes(o.topic)).reduce((m, p) => m.set(p.topic, (m.get(p.topic) ?? 0) + p.end), new Map<string, number>())
    )
    expect(produced, "one message per sample line").toEqual({
      [topic.transform]: input.transform.length,
      [topic.analysis]: input.analysis.length,
      [topic.control]: input.control.length
    })

    const running = await start()
    const jobIds = Object.keys(expected.jobs)
    const unmatchedWanted = Object.entries(expected.jobs).filter(([, j]) => (j.join_unmatched ?? 0) > 0)
    const finished = async () => {
      const control = (await kcatRead(wire.cluster.bootstrap, topic.control)).filter((r) => r.headers["producer"] === APP).map(json)
      const ended = jobIds.every((id) => control.some((m) => m.job_id === id && m.step === "aggregation"))
      const dlq = await kcatRead(wire.cluster.bootstrap, topic.dlq)
      const unmatched = countBy(dlq, (r) => (r.headers["dlq.error.type"] === "join_unmatched" ? r.headers["dlq.job_id"] : undefined))
      const joinsClosed = unmatchedWanted.every(([id, j]) => (unmatched[id] ?? 0) >= j.join_unmatched!)
      const offsets = await wire.inputOffsets()
      return ended && joinsClosed && offsets.every((o) => o.committed === o.end)
    }
    await waitFor("every job finished and every input committed", 90_000, finished, { watching: [running], everyMs: 500 })

    // The HTTP surface of the running service.
    const http = running.get
    expect((await http("/healthz")).status).toBe(200)
    expect((await http("/readyz")).status).toBe(200)
    const plain = await http("/jobs/job-plain-3")
    expect(plain.status).toBe(200)
    expect(JSON.parse(plain.body)).toMatchObject({ outcome: "done", expected_count: 200, aggregate: { is_final: true } })
    expect((await http("/metrics")).body).toMatch(new RegExp(`review_aggregator_records_in_total\\{topic="${topic.transform}"\\} ${input.transform.length}`))

    const { exit, tookMs } = await running.stop("SIGTERM", 20_000)
    expect(exit, `exit after SIGTERM; output:\n${running.output()}`).toEqual({ code: 0, signal: null })
    expect(tookMs, "shutdown time").toBeLessThan(15_000)
    // kafkajs as released arms a timer of -Date.now() ms after every response (Node 24 warns
    // of it); the service's fix to its request queue (KafkaJsRequestQueue) arms none.
    expect(running.output(), "a negative timer set by kafkajs's request queue").not.toContain("TimeoutNegativeWarning")

    const offsets = await wire.inputOffsets()
    expect(offsets.filter((o) => o.committed !== o.end), "input partitions not fully committed").toEqual([])

    const [aggregates, dlq, control, rows] = await Promise.all(
      [topic.agg, topic.dlq, topic.control, topic.rows].map((t) => kcatRead(wire.cluster.bootstrap, t))
    )
    const finals = finalAggregates(aggregates!)
    for (const [jobId, job] of Object.entries(expected.jobs)) {
      if (job.aggregate === undefined) continue
      expect(finals.get(jobId), `final aggregate of ${jobId}`).toEqual(sortKeys({ job_id: jobId, ...job.aggregate }))
    }
    const decodeFailures = countBy(dlq!, (r) => {
      const type = r.headers["dlq.error.type"]
      return type === "invalid_json" || type === "schema" ? type : undefined
    })
    expect(decodeFailures, "DLQ records per decode error type").toEqual(expected.dlq)
    const written = control!.filter((r) => r.headers["producer"] === APP).map(json)
    for (const [jobId, job] of Object.entries(expected.jobs)) {
      const last = written.filter((m) => m.job_id === jobId).at(-1)
      expect(last, `last control message of ${jobId}`).toMatchObject({
        step: job.terminal.step,
        status: job.terminal.status,
        expected_count: job.expected_count
      })
      if (job.terminal.actual_count !== undefined) expect(last.actual_count, `actual_count of ${jobId}`).toBe(job.terminal.actual_count)
      if (job.terminal.reason === "data quality") expect(last.error_message, `error_message of ${jobId}`).toMatch(/^data quality/)
      if (job.terminal.status === "done") expect(last.error_message, `error_message of ${jobId}`).toBeUndefined()
    }
    const rowKeys = rows!.map((r) => text(r.key))
    expect(new Set(rowKeys).size, "a join key was emitted twice").toBe(rowKeys.length)
    const rowsPerJob = countBy(rows!, (r) => json(r).job_id)
    const unmatchedPerJob = countBy(dlq!, (r) => (r.headers["dlq.error.type"] === "join_unmatched" ? r.headers["dlq.job_id"] : undefined))
    for (const [jobId, job] of Object.entries(expected.jobs)) {
      if (job.rows !== undefined) expect(rowsPerJob[jobId] ?? 0, `rows of ${jobId}`).toBe(job.rows)
      if (job.join_unmatched !== undefined) expect(unmatchedPerJob[jobId] ?? 0, `join_unmatched of ${jobId}`).toBe(job.join_unmatched)
    }
  }, 150_000)
})
