/**
 * Issue 8's fault suite: the real service process on the mock cluster, scaled out as it
 * runs by default (PARTITION_ASSIGNMENT=co-partitioned: the repartition stage and the
 * review task, 3 partitions each; inputs on 3 partitions, started and ready before they
 * are produced, TIMEOUT_MS=3000 and WINDOW_INACTIVITY_MS=1000) ends the sample exactly as
 * expected.json says with no fault, across a kill -9 and a restart that waits out the
 * dead member's session, across a 20 s broker freeze, and with an over-count job whose
 * collection message precedes its last records. (SIGTERM with a frozen broker:
 * BoundedShutdown.test.ts.)
 */
import { describe, expect, it } from "vitest"
import { generateJob } from "../../src/app/ReviewGenerator.ts"
import { repartitionTopic } from "../../src/kernel/topology/Repartition.ts"
import { kcatRead } from "../support/Kcat.ts"
import { json, text } from "../support/Outputs.ts"
import { loadSampleInput, sampleTimings } from "../support/Samples.ts"
import { type ServiceProcess, sleep, waitFor } from "../support/ServiceProcess.ts"
import { kcatProduce, recordsIn, type ServiceCluster, serviceCluster, serviceTopicNames } from "./ServiceOnMockCluster.ts"
import { describeWire } from "./WireSuite.ts"

const timings = { TIMEOUT_MS: String(sampleTimings.timeoutMs), WINDOW_INACTIVITY_MS: String(sampleTimings.windowInactivityMs) }
/** The kafkajs group defaults (30 s session) instead of the mock's quick ones: a restart waits out the dead member. */
const defaultSession = { KAFKA_SESSION_TIMEOUT_MS: undefined, KAFKA_REBALANCE_TIMEOUT_MS: undefined, KAFKA_HEARTBEAT_INTERVAL_MS: undefined }

type Input = "transform" | "analysis" | "control"
const input = loadSampleInput()

/** Produces the sample's inputs named, unkeyed, each message to a random partition. */
const produceSample = (wire: ServiceCluster, applicationId: string, inputs: ReadonlyArray<Input>) =>
  Promise.all(inputs.map((i) => kcatProduce(wire.cluster.bootstrap, serviceTopicNames(applicationId)[i], input[i], { spread: true })))

/**
 * Produces inputs now, unkeyed and spread over the partitions, with the record time (Kafka
 * CreateTime) an upstream stamped at `timestamp`: records written late by their producer
 * but belonging to the same moment as the records already in the other topic.
 */
const produceStamped = async (wire: ServiceCluster, applicationId: string, inputs: ReadonlyArray<Input>, timestamp: number) => {
  const producer = wire.kafka.producer()
  await producer.connect()
  try {
    for (const i of inputs) {
      const partitions = (await wire.inputOffsets()).filter((o) => o.topic === serviceTopicNames(applicationId)[i]).length
      await producer.send({
        topic: serviceTopicNames(applicationId)[i],
        messages: input[i].map((value, n) => ({ value: Buffer.from(value), partition: n % partitions, timestamp: String(timestamp) }))
      })
    }
  } finally {
    await producer.disconnect()
  }
}

/** Records of `topic` a running service has consumed (its /metrics). */
const recordsInOf = async (service: ServiceProcess, topic: string): Promise<number> => {
  const res = await service.get("/metrics").catch(() => undefined)
  const line = res?.body.match(new RegExp(`^review_aggregator_records_in_total\\{topic="${topic}"\\} (\\d+)`, "m"))
  return line === null || line === undefined ? 0 : Number(line[1])
}

/**
 * Whether the review task has read every record of the input `topic`: scaled out, the
 * repartition stage has committed all of it and the review task has consumed all it wrote
 * to the repartition topic (a mixed envelope becomes several records there, a record
 * without job_id none, so counts of the input and of what the task read differ).
 */
const inputRead = async (wire: ServiceCluster, service: ServiceProcess, applicationId: string, topic: string): Promise<boolean> => {
  const offsets = await wire.inputOffsets()
  const forwarded = offsets.filter((o) => o.topic === topic)
  const repartitioned = offsets.filter((o) => o.topic === repartitionTopic(applicationId, topic))
  if (repartitioned.length === 0) return (await recordsInOf(service, topic)) === forwarded.reduce((n, o) => n + o.end, 0)
  return forwarded.every((o) => o.committed === o.end) &&
    (await recordsInOf(service, repartitionTopic(applicationId, topic))) === repartitioned.reduce((n, o) => n + o.end, 0)
}

/** Every partition of both joined inputs holds some of the sample: spread, not one sticky burst. */
const expectSpread = async (wire: ServiceCluster, applicationId: string) => {
  const topic = serviceTopicNames(applicationId)
  const joined = (await wire.inputOffsets()).filter((o) => o.topic === topic.transform || o.topic === topic.analysis)
  expect(joined.map((o) => `${o.topic}/${o.partition}`), "partitions holding sample records").toHaveLength(6)
  expect(joined.filter((o) => o.end === 0), "input partitions left empty by the unkeyed producer").toEqual([])
}

const stopCleanly = async (service: ServiceProcess) => {
  const { exit } = await service.stop("SIGTERM", 30_000)
  expect(exit, `exit after SIGTERM; output:\n${service.output()}`).toEqual({ code: 0, signal: null })
}

describeWire("issue 8 fault scenarios on the mock cluster", { what: "the wire fault suite", kcat: true }, () => {
  describe("no fault", () => {
    const APP = "fault-none-aggregator"
    const wire = serviceCluster(APP)

    it("ends the sample as expected.json says, inputs unkeyed and spread over the partitions", async () => {
      const service = await wire.start(timings)
      await service.waitUntilReady(60_000)
      await produceSample(wire, APP, ["control", "transform", "analysis"])
      await expectSpread(wire, APP)
      await waitFor("every sample job finished and every input committed", 90_000, wire.sampleFinished, { watching: [service], everyMs: 500 })
      await stopCleanly(service)
      await wire.expectSampleExact()
    }, 150_000)
  })

  describe("kill -9", () => {
    const APP = "fault-kill-aggregator"
    const wire = serviceCluster(APP)

    it("kill -9 once the transform input is read, the rest produced while down, a restart that waits out the session: as expected.json says", async () => {
      const topic = serviceTopicNames(APP)
      const env = { ...timings, ...defaultSession }
      const first = await wire.start(env)
      await first.waitUntilReady(60_000)
      const producedAt = Date.now()
      await produceSample(wire, APP, ["transform"])
      await waitFor("the transform input read", 60_000, () => inputRead(wire, first, APP, topic.transform), { watching: [first], everyMs: 50 })
      first.signal("SIGKILL")
      expect(await first.exited, "the first process killed").toEqual({ code: null, signal: "SIGKILL" })

      // Written while the service is down, stamped as of the transform records (join windows
      // compare record times: otherwise how long the first life took to read would decide
      // whether the reviews join at all).
      await produceStamped(wire, APP, ["analysis", "control"], producedAt)
      await expectSpread(wire, APP)
      const restarted = await wire.start(env)
      await waitFor("every sample job finished and every input committed after the restart", 150_000, wire.sampleFinished, {
        watching: [restarted],
        everyMs: 500,
        context: () => `--- killed process output:\n${first.output()}`
      })
      await stopCleanly(restarted)
      await wire.expectSampleExact({ outputsMayRepeat: true })
    }, 240_000)
  })

  describe("broker frozen", () => {
    const APP = "fault-freeze-aggregator"
    const wire = serviceCluster(APP)

    it("the broker frozen (SIGSTOP) for 20 s mid-run, then resumed: as expected.json says", async () => {
      const service = await wire.start(timings)
      await service.waitUntilReady(60_000)
      await produceSample(wire, APP, ["control", "transform", "analysis"])
      await expectSpread(wire, APP)
      await waitFor("the service consuming", 60_000, async () => (await recordsIn(service)) > 0, { watching: [service], everyMs: 10 })
      wire.cluster.freeze()
      let readAtFreeze = -1
      try {
        readAtFreeze = await recordsIn(service)
        await sleep(20_000)
        expect(service.running(), `the service alive through the freeze; output:\n${service.output()}`).toBe(true)
      } finally {
        wire.cluster.thaw()
      }
      await waitFor("every sample job finished and every input committed after the thaw", 120_000, wire.sampleFinished, {
        watching: [service],
        everyMs: 500,
        context: () => `records read when the broker froze: ${readAtFreeze}`
      })
      await stopCleanly(service)
      await wire.expectSampleExact({ outputsMayRepeat: true })
    }, 240_000)
  })

  describe("over-count job", () => {
    const APP = "fault-overcount-aggregator"
    const wire = serviceCluster(APP)
    const expectedCount = 50
    const over = generateJob({ jobId: "job-over-count", reviews: expectedCount + 5, seed: 8_055, emptyShare: 0.1 })
    const collection = JSON.stringify({ ...JSON.parse(over.control[0]!), expected_count: expectedCount })

    it("a job with more records than announced, its collection message before its last records, ends transform failed; the sample as expected.json says", async () => {
      expect(over.transform, "one transform message per review of the over-count job").toHaveLength(expectedCount + 5)
      const topic = serviceTopicNames(APP)
      const { bootstrap } = wire.cluster
      // All in the topics before the service reads any: the collection message between the job's records.
      await kcatProduce(bootstrap, topic.transform, over.transform.slice(0, expectedCount), { spread: true })
      await kcatProduce(bootstrap, topic.control, [collection])
      await kcatProduce(bootstrap, topic.transform, over.transform.slice(expectedCount), { spread: true })
      const [control, transform] = await Promise.all([kcatRead(bootstrap, topic.control), kcatRead(bootstrap, topic.transform)])
      const lastValues = new Set(over.transform.slice(expectedCount))
      const lastRecords = transform.filter((r) => lastValues.has(text(r.value)!))
      expect(lastRecords, "the over-count job's last records in the topic").toHaveLength(5)
      expect(lastRecords.every((r) => r.timestamp >= control[0]!.timestamp), "the collection message produced before the last records").toBe(true)

      const service = await wire.start(timings)
      await service.waitUntilReady(60_000)
      await produceSample(wire, APP, ["control", "transform", "analysis"])
      const overEnded = async () =>
        (await kcatRead(bootstrap, topic.control)).some((r) => r.headers["producer"] === APP && json(r).job_id === over.truth.jobId && json(r).step === "aggregation")
      await waitFor("every job finished and every input committed", 90_000, async () => (await wire.sampleFinished()) && (await overEnded()), {
        watching: [service],
        everyMs: 500
      })
      await stopCleanly(service)

      const written = (await kcatRead(bootstrap, topic.control)).filter((r) => r.headers["producer"] === APP).map(json)
      const transformVerdict = written.filter((m) => m.job_id === over.truth.jobId && m.step === "transform")
      expect(transformVerdict, `transform verdicts of the over-count job; all its messages: ${JSON.stringify(written.filter((m) => m.job_id === over.truth.jobId))}`)
        .toEqual([expect.objectContaining({ status: "failed", expected_count: expectedCount })])
      expect(transformVerdict[0].actual_count, "actual_count of the over-count job's transform step").toBeGreaterThan(expectedCount)
      await wire.expectSampleExact()
    }, 150_000)
  })
})
