/**
 * What a Jaeger or Tempo user sees of a job that runs across a restart: the real service
 * process (scaled out, the default: a repartition stage before the review task) against
 * the mock Kafka cluster, exporting to an OTLP/HTTP receiver, gets SIGTERM
 * in the middle of a job and is started again. The job is one trace under the upstream
 * traceparent, visible while it runs, every span's parent is exported, no stage appears
 * twice, and batch and write spans follow the OpenTelemetry messaging conventions.
 */
import { Partitioners, type Producer } from "kafkajs"
import { afterAll, beforeAll, expect, it } from "vitest"
import packageJson from "../../package.json" with { type: "json" }
import { repartitionTopic } from "../../src/kernel/topology/Repartition.ts"
import { repartitionGroup } from "../../src/review/RepartitionStage.ts"
import { type OtlpReceiver, type ReceivedSpan, SpanKind, startOtlpReceiver } from "../support/OtlpReceiver.ts"
import { type ServiceProcess, waitFor } from "../support/ServiceProcess.ts"
import { type ServiceCluster, serviceCluster, serviceTopicNames } from "./ServiceOnMockCluster.ts"
import { describeWire } from "./WireSuite.ts"

const APP = "tracing-aggregator"
const JOB = "traced-job"
const upstream = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }
const topic = serviceTopicNames(APP)
/** Scaled out (the default), the repartition stage reads the inputs and the review task their repartition topics. */
const inputs: ReadonlyArray<string> = [topic.control, topic.transform, topic.analysis]
const groupReading = (t: string) => (inputs.includes(t) ? repartitionGroup(APP) : APP)

const start = async (wire: ServiceCluster, otlpUrl: string): Promise<ServiceProcess> => {
  const service = await wire.start({
    WINDOW_INACTIVITY_MS: "1000",
    LOG_FORMAT: "json",
    OTEL_SDK_DISABLED: "false",
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_METRICS_EXPORTER: "none",
    // Spans leave within a fifth of a second, so the running job can be seen.
    OTEL_BSP_SCHEDULE_DELAY: "200",
    OTEL_RESOURCE_ATTRIBUTES: "k8s.pod.name=review-aggregator-0"
  })
  await service.waitUntilReady(60_000)
  return service
}

const stop = async (service: ServiceProcess) => {
  const { exit } = await service.stop("SIGTERM", 30_000)
  expect(exit.code, `exit after SIGTERM\n${service.output()}`).toBe(0)
}

/** Every record of the job carries the collector's trace context: whichever topic is read first starts the job. */
const send = (producer: Producer, topicName: string, values: ReadonlyArray<unknown>) =>
  producer.send({
    topic: topicName,
    messages: values.map((v) => ({ value: JSON.stringify(v), headers: { traceparent: `00-${upstream.traceId}-${upstream.spanId}-01` } }))
  })

const transformOf = (review: string) => ({ job_id: JOB, review_id: review, rating: 5, review_text: "좋아요", review_date: "2026-11-20" })
const analysisOf = (review: string) => ({ job_id: JOB, review_id: review, sentiment: "긍정", summary: "좋음" })

const jobSpans = (otlp: OtlpReceiver) => otlp.spans().filter((s) => s.attributes["job.id"] === JOB)
const describeSpans = (spans: ReadonlyArray<ReceivedSpan>) =>
  spans.map((s) => `${s.traceId.slice(0, 8)} ${s.spanId} <- ${s.parentSpanId ?? "root"} ${s.name} kind=${s.kind}`).join("\n")

describeWire("job traces across a restart", { what: "the tracing wire test", kcat: false }, () => {
  const wire = serviceCluster(APP, { onePartition: true })
  let otlp: OtlpReceiver

  beforeAll(async () => {
    otlp = await startOtlpReceiver()
  })

  afterAll(async () => {
    await otlp?.close()
  })

  it("shows a job interrupted by SIGTERM as one complete trace with messaging spans", async () => {
    const producer = wire.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    const spansSoFar = () => describeSpans(otlp.spans())

    const service = await start(wire, otlp.url)
    await send(producer, topic.control, [{ job_id: JOB, step: "collection", status: "done", expected_count: 2 }])
    await send(producer, topic.transform, [transformOf("r1")])
    // While the job runs (transform has one of two reviews), Jaeger already shows its trace.
    await waitFor("the running job's root and collection spans exported", 30_000, () =>
      ["job", "stage collection"].every((name) => jobSpans(otlp).some((s) => s.name === name)), { watching: [service], context: spansSoFar, everyMs: 200 })
    await stop(service)
    expect(jobSpans(otlp).map((s) => s.name).sort(), "before the restart: the root and the ended stage only").toEqual(["job", "stage collection"])

    const restarted = await start(wire, otlp.url)
    await send(producer, topic.transform, [transformOf("r2")])
    await send(producer, topic.analysis, [analysisOf("r1"), analysisOf("r2")])
    await waitFor("the job's last stage exported", 60_000, () => jobSpans(otlp).some((s) => s.name === "stage aggregation"), { watching: [restarted], context: spansSoFar, everyMs: 200 })
    await stop(restarted)
    await producer.disconnect()

    const spans = otlp.spans()
    const job = jobSpans(otlp)
    expect(job.map((s) => s.name).sort(), `one span per stage, none twice\n${describeSpans(job)}`).toEqual([
      "job",
      "stage aggregation",
      "stage analysis",
      "stage collection",
      "stage transform"
    ])
    expect(new Set(job.map((s) => s.traceId)), "the job is one trace, under the upstream trace").toEqual(new Set([upstream.traceId]))
    const root = job.find((s) => s.name === "job")!
    expect(root.parentSpanId, "the job's root is a child of the upstream span").toBe(upstream.spanId)
    for (const stage of job.filter((s) => s !== root)) expect(stage.parentSpanId, `${stage.name} under the job's root`).toBe(root.spanId)

    // Well formed: every parent is exported (or is the upstream span); no span appears twice.
    const ids = new Set(spans.map((s) => s.spanId))
    expect(ids.size, "span ids are unique").toBe(spans.length)
    const orphans = spans.filter((s) => s.parentSpanId !== undefined && !ids.has(s.parentSpanId) && s.parentSpanId !== upstream.spanId)
    expect(orphans, `spans whose parent was never exported\n${describeSpans(orphans)}`).toEqual([])

    // No noise: Kafka writes and adapter operations are never traces of their own.
    const byId = new Map(spans.map((s) => [s.spanId, s]))
    const adapterRoots = spans.filter((s) => s.parentSpanId === undefined && (s.name.startsWith("KafkaJs.") || s.name.startsWith("send")))
    expect(adapterRoots, `adapter spans at the root of a trace\n${describeSpans(adapterRoots)}`).toEqual([])
    const traces = new Map<string, number>()
    for (const s of spans) traces.set(s.traceId, (traces.get(s.traceId) ?? 0) + 1)
    const lone = spans.filter((s) => traces.get(s.traceId) === 1)
    expect(lone, `traces of a single span\n${describeSpans(lone)}`).toEqual([])

    // Input events: CONSUMER spans after the messaging conventions (`process <topic>` for an
    // event of one topic, `process` with the topics listed for several), their commit a child.
    const events = spans.filter((s) => s.name === "process" || s.name.startsWith("process "))
    const read = new Set<string>()
    for (const event of events) {
      expect(event.kind, `${event.name} is a CONSUMER span`).toBe(SpanKind.consumer)
      expect(event.attributes, event.name).toMatchObject({
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.batch.message_count": expect.any(Number)
      })
      const topics = event.name === "process" ? String(event.attributes["messaging.kafka.destinations"]).split(",") : [event.name.slice("process ".length)]
      if (event.name === "process") {
        expect(topics.length, "a plain `process` span lists the topics it read").toBeGreaterThan(1)
      } else {
        expect(event.attributes, event.name).toMatchObject({ "messaging.destination.name": topics[0] })
      }
      for (const t of topics) {
        read.add(t)
        expect(event.attributes["messaging.consumer.group.name"], `${event.name}: the group of the stage reading ${t}`).toBe(groupReading(t))
      }
      if (event.attributes["messaging.destination.partition.id"] !== undefined) {
        expect(event.attributes, `${event.name} of one partition`).toMatchObject({
          "messaging.destination.partition.id": "0",
          "messaging.kafka.offset": expect.any(Number),
          "messaging.kafka.batch.last_offset": expect.any(Number)
        })
      }
      const children = spans.filter((s) => s.parentSpanId === event.spanId)
      expect(children.some((c) => c.name === "KafkaJs.commit" && c.kind === SpanKind.internal), `${event.name} commits inside its span`).toBe(true)
    }
    expect(read, "process spans cover every topic read").toEqual(new Set([...inputs, ...inputs.map((t) => repartitionTopic(APP, t))]))
    // Writes: PRODUCER `send` spans inside the input event (or clock work) that made them.
    const sends = spans.filter((s) => s.name.startsWith("send"))
    expect(sends.some((s) => s.name === `send ${topic.changelog}`), "state changes are sent").toBe(true)
    expect(sends.some((s) => s.attributes["messaging.destination.name"] === topic.agg || String(s.attributes["messaging.kafka.destinations"]).includes(topic.agg)), "the aggregate is sent").toBe(true)
    for (const send of sends) {
      expect(send.kind, `${send.name} is a PRODUCER span`).toBe(SpanKind.producer)
      expect(send.attributes, send.name).toMatchObject({ "messaging.system": "kafka", "messaging.operation.type": "send" })
      const parent = byId.get(send.parentSpanId ?? "")?.name ?? ""
      expect(parent === "process" || parent.startsWith("process ") || parent === "punctuate", `${send.name} inside an input event or clock work`).toBe(true)
    }

    expect(root.resource, "the service's resource").toMatchObject({
      "service.name": "review-aggregator",
      "service.version": packageJson.version,
      "service.instance.id": expect.any(String),
      "k8s.pod.name": "review-aggregator-0"
    })
  }, 150_000)
})
