/**
 * The rendered kustomizations (k8s/base, k8s/overlays/single-active,
 * k8s/overlays/exactly-once, otel) start as written: objects where Strimzi and the Secrets are, restricted pods, probes on the HTTP
 * port, settings the service reads with values it accepts, ACLs and topic names derived
 * from the settings (a non-default APPLICATION_ID too), KafkaTopics as `npm run topics`
 * lists them under those settings, metrics ingested once, and a
 * collector with a health check. Rendering is test/support/Kustomize.ts, checked against
 * an installed kustomize where there is one.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { type Config, ConfigProvider, Effect } from "effect"
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parse, parseDocument } from "yaml"
import { AppSettings, changelogTopic } from "../../src/config/AppConfig.ts"
import { KafkaSettings } from "../../src/config/KafkaConfig.ts"
import { repartitionTopic } from "../../src/kernel/topology/Repartition.ts"
import { TelemetrySettings } from "../../src/observability/Telemetry.ts"
import { repartitionGroup, runsRepartition } from "../../src/review/RepartitionStage.ts"
import { imageCommand } from "../support/CompiledService.ts"
import { render, renderInstalled, type Resource } from "../support/Kustomize.ts"
import { listTopics } from "../support/TopicsCommand.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const kustomizations = ["k8s/base", "k8s/overlays/single-active", "k8s/overlays/exactly-once", "otel"] as const

/** A copy of k8s/ with settings changed in k8s/base/configmap.yaml, as an operator would. */
const k8sWithSettings = (settings: Record<string, string>): string => {
  const copy = mkdtempSync(join(tmpdir(), "k8s-"))
  cpSync(join(root, "k8s"), copy, { recursive: true })
  const file = join(copy, "base/configmap.yaml")
  const doc = parseDocument(readFileSync(file, "utf8"))
  for (const [key, value] of Object.entries(settings)) doc.setIn(["data", key], value)
  writeFileSync(file, doc.toString())
  return copy
}

const custom = {
  APPLICATION_ID: "orders-eu-v7",
  INPUT_TRANSFORM_TOPIC: "spark-out",
  INPUT_ANALYSIS_TOPIC: "llm-out",
  CONTROL_TOPIC: "jobs-control",
  OUTPUT_ROWS_TOPIC: "rows-v2",
  OUTPUT_AGG_TOPIC: "agg-v2",
  DLQ_TOPIC: "dlq-v2"
}
const customDir = k8sWithSettings(custom)
afterAll(() => rmSync(customDir, { recursive: true, force: true }))

const rendered = {
  base: render(join(root, "k8s/base")),
  singleActive: render(join(root, "k8s/overlays/single-active")),
  exactlyOnce: render(join(root, "k8s/overlays/exactly-once")),
  customBase: render(join(customDir, "base")),
  customExactlyOnce: render(join(customDir, "overlays/exactly-once")),
  otel: render(join(root, "otel"))
}
const serviceRenders = [
  ["k8s/base", rendered.base],
  ["k8s/overlays/single-active", rendered.singleActive],
  ["k8s/overlays/exactly-once", rendered.exactlyOnce],
  ["k8s/base with custom settings", rendered.customBase],
  ["k8s/overlays/exactly-once with custom settings", rendered.customExactlyOnce]
] as const

const ofKind = (resources: Array<Resource>, kind: string) => resources.filter((r) => r.kind === kind)
const one = (resources: Array<Resource>, kind: string, name?: string): Resource => {
  const found = ofKind(resources, kind).filter((r) => name === undefined || r.metadata.name === name)
  expect(found.map((r) => r.metadata.name), `exactly one ${kind}${name === undefined ? "" : ` ${name}`}`).toHaveLength(1)
  return found[0]!
}
const workloads = (resources: Array<Resource>) => resources.filter((r) => ["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(r.kind))
const appWorkload = (resources: Array<Resource>): Resource => {
  const found = workloads(resources)
  expect(found.map((w) => `${w.kind}/${w.metadata.name}`), "one workload running the service").toHaveLength(1)
  return found[0]!
}
const appContainer = (resources: Array<Resource>) => appWorkload(resources).spec.template.spec.containers[0]
const settingsOf = (resources: Array<Resource>) => one(resources, "ConfigMap", "review-aggregator").data as Record<string, string>

/** Loads a Config the way start-up does, from an environment record. */
const load = <A>(config: Config.Config<A>, env: Record<string, string>) =>
  Effect.provideService(Effect.gen(function*() { return yield* config }), ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env))

/** Stands in for the mounted CA Secret. */
const caDir = mkdtempSync(join(tmpdir(), "ca-"))
afterAll(() => rmSync(caDir, { recursive: true, force: true }))
writeFileSync(join(caDir, "ca.crt"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")

/** The environment the service process sees, with the CA file and password stood in for. */
const environment = (resources: Array<Resource>): Record<string, string> => ({
  ...settingsOf(resources),
  KAFKA_SSL_CA_FILE: join(caDir, "ca.crt"),
  KAFKA_SASL_PASSWORD: "from-the-secret"
})

/** Environment variable names the service's Config definitions read. */
const knownSettings = (): Set<string> => {
  const sources = [
    ...readdirSync(join(root, "src/config")).map((f) => join(root, "src/config", f)),
    join(root, "src/observability/Telemetry.ts")
  ]
  const read = sources.flatMap((f) => [...readFileSync(f, "utf8").matchAll(/"([A-Z][A-Z0-9_]{2,})"/g)].map((m) => m[1]!))
  // Read by @effect/opentelemetry's Resource.layerFromEnv, which Telemetry.ts uses.
  const resourceSettings = readFileSync(join(root, "node_modules/@effect/opentelemetry/dist/Resource.js"), "utf8")
  return new Set([...read, ...["OTEL_RESOURCE_ATTRIBUTES"].filter((name) => resourceSettings.includes(`"${name}"`))])
}

const byIdentity = (resources: Array<Resource>) =>
  [...resources].sort((a, b) => {
    const key = (r: Resource) => `${r.kind}/${r.metadata?.namespace ?? ""}/${r.metadata?.name}`
    return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
  })

describe("test/support/Kustomize.ts", () => {
  const dirs = [
    ...kustomizations.map((k) => [k, join(root, k)] as const),
    ["k8s/base with custom settings", join(customDir, "base")] as const,
    ["k8s/overlays/exactly-once with custom settings", join(customDir, "overlays/exactly-once")] as const
  ]
  it.for(dirs)("renders %s as the installed kustomize does", ([, dir], ctx) => {
    const installed = renderInstalled(dir)
    if (installed === undefined) return ctx.skip("no kustomize or kubectl on the PATH: the manifest checks rely on test/support/Kustomize.ts alone")
    expect(byIdentity(render(dir)), `test/support/Kustomize.ts vs ${installed.tool}`).toEqual(byIdentity(installed.resources))
  })

  it("refuses a kustomize feature it does not implement rather than ignoring it", () => {
    const dir = mkdtempSync(join(tmpdir(), "kustomization-"))
    writeFileSync(join(dir, "kustomization.yaml"), "resources: []\nimages: [{ name: app, newTag: v2 }]\n")
    expect(() => render(dir)).toThrow(/'images' is not supported/)
    rmSync(dir, { recursive: true })
  })
})

describe("k8s manifests", () => {
  it.each(serviceRenders)("%s: everything in the Strimzi cluster's namespace, Secrets from there", (_, resources) => {
    const strimzi = [...ofKind(resources, "KafkaTopic"), ...ofKind(resources, "KafkaUser")]
    const namespaces = new Set(resources.map((r) => r.metadata.namespace))
    expect([...namespaces], "one namespace for the service and its Strimzi objects").toHaveLength(1)
    const namespace = [...namespaces][0]
    expect(namespace, "a namespace is set").toBeTruthy()
    const clusters = new Set(strimzi.map((r) => r.metadata.labels?.["strimzi.io/cluster"]))
    expect([...clusters], "every KafkaTopic and KafkaUser names the one cluster").toHaveLength(1)
    const cluster = [...clusters][0] as string

    // Secrets that exist in that namespace: rendered ones, the cluster CA, and each KafkaUser's.
    const secrets = new Set([
      ...ofKind(resources, "Secret").map((s) => s.metadata.name),
      `${cluster}-cluster-ca-cert`,
      ...ofKind(resources, "KafkaUser").map((u) => u.metadata.name)
    ])
    for (const workload of workloads(resources)) {
      const pod = workload.spec.template.spec
      const referenced = [
        ...(pod.volumes ?? []).flatMap((v: any) => v.secret?.secretName ?? []),
        ...pod.containers.flatMap((c: any) => [
          ...(c.env ?? []).flatMap((e: any) => e.valueFrom?.secretKeyRef?.name ?? []),
          ...(c.envFrom ?? []).flatMap((e: any) => e.secretRef?.name ?? [])
        ])
      ]
      expect(referenced.length, "the pod reads the CA and the user's password").toBeGreaterThan(0)
      for (const name of referenced) expect(secrets.has(name), `Secret ${name} exists in ${namespace}`).toBe(true)
    }

    // The SASL user is the KafkaUser; the brokers are that cluster's bootstrap Service.
    const settings = settingsOf(resources)
    expect(ofKind(resources, "KafkaUser").map((u) => u.metadata.name)).toContain(settings.KAFKA_SASL_USERNAME)
    expect(settings.BOOTSTRAP_SERVERS).toMatch(new RegExp(`^${cluster}-kafka-bootstrap(\\.${namespace}(\\.svc(\\.cluster\\.local)?)?)?:\\d+$`))
  })

  it.each([...serviceRenders, ["otel", rendered.otel] as const])("%s: every pod meets the restricted Pod Security Standard", (_, resources) => {
    expect(workloads(resources).length).toBeGreaterThan(0)
    for (const workload of workloads(resources)) {
      const pod = workload.spec.template.spec
      const where = `${workload.kind}/${workload.metadata.name}`
      for (const forbidden of ["hostNetwork", "hostPID", "hostIPC"]) expect(pod[forbidden], `${where} ${forbidden}`).toBeFalsy()
      expect((pod.volumes ?? []).filter((v: any) => v.hostPath !== undefined), `${where} hostPath volumes`).toEqual([])
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const at = `${where} container ${container.name}`
        const sc = container.securityContext ?? {}
        expect(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, `${at} runAsNonRoot`).toBe(true)
        expect(sc.runAsUser ?? pod.securityContext?.runAsUser, `${at} runAsUser is not root`).not.toBe(0)
        expect((sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type, `${at} seccompProfile`).toBe("RuntimeDefault")
        expect(sc.allowPrivilegeEscalation, `${at} allowPrivilegeEscalation`).toBe(false)
        expect(sc.privileged ?? false, `${at} privileged`).toBe(false)
        expect(sc.capabilities?.drop, `${at} drops ALL capabilities`).toContain("ALL")
        expect((sc.capabilities?.add ?? []).filter((c: string) => c !== "NET_BIND_SERVICE"), `${at} adds capabilities`).toEqual([])
        expect(sc.readOnlyRootFilesystem, `${at} readOnlyRootFilesystem`).toBe(true)
        for (const port of container.ports ?? []) expect(port.hostPort, `${at} hostPort`).toBeUndefined()
      }
    }
  })

  // The compiled service writes no file (test/deploy/CompiledBundle.test.ts); /tmp stays
  // writable beside the read-only root filesystem for what looks for os.tmpdir().
  it.each(serviceRenders)("%s: /tmp is a writable emptyDir", (_, resources) => {
    const pod = appWorkload(resources).spec.template.spec
    const tmp = (appContainer(resources).volumeMounts ?? []).find((m: any) => m.mountPath === "/tmp")
    expect(tmp, "a volume mounted at /tmp").toBeDefined()
    expect(tmp.readOnly ?? false).toBe(false)
    expect(pod.volumes.find((v: any) => v.name === tmp.name)?.emptyDir, "/tmp is an emptyDir").toBeDefined()
  })

  it.effect.each(serviceRenders)("%s: probes are /healthz and /readyz on HTTP_PORT", ([, resources]) =>
    Effect.gen(function*() {
      const app = yield* load(AppSettings, environment(resources))
      const container = appContainer(resources)
      const port = (probe: any) => {
        const ref = probe.httpGet.port
        return typeof ref === "number" ? ref : container.ports.find((p: any) => p.name === ref)?.containerPort
      }
      for (const probe of ["livenessProbe", "startupProbe"]) {
        expect(container[probe].httpGet.path, probe).toBe("/healthz")
        expect(port(container[probe]), `${probe} port`).toBe(app.httpPort)
      }
      expect(container.readinessProbe.httpGet.path).toBe("/readyz")
      expect(port(container.readinessProbe), "readinessProbe port").toBe(app.httpPort)
      const service = one(resources, "Service", "review-aggregator")
      const target = service.spec.ports[0].targetPort
      expect(typeof target === "number" ? target : container.ports.find((p: any) => p.name === target)?.containerPort).toBe(app.httpPort)
    }))

  it.effect.each(serviceRenders)("%s: sets only settings the service reads, with values it accepts", ([, resources]) =>
    Effect.gen(function*() {
      const known = knownSettings()
      const settings = settingsOf(resources)
      expect(Object.keys(settings).filter((k) => !known.has(k)), "ConfigMap keys the service does not read").toEqual([])
      const container = appContainer(resources)
      expect(container.envFrom.map((e: any) => e.configMapRef?.name)).toEqual(["review-aggregator"])
      // Other variables are settings too, or downward-API values used to build one ($(NAME)).
      const env = (container.env ?? []) as Array<{ name: string; value?: string; valueFrom?: any }>
      const substituted = new Set(env.flatMap((e) => [...(e.value ?? "").matchAll(/\$\(([A-Z0-9_]+)\)/g)].map((m) => m[1]!)))
      for (const e of env) {
        const helper = e.valueFrom?.fieldRef !== undefined && substituted.has(e.name)
        expect(known.has(e.name) || helper, `env ${e.name} is a setting or feeds one`).toBe(true)
      }
      const kafka = yield* load(KafkaSettings, environment(resources))
      yield* load(TelemetrySettings, environment(resources))
      expect(kafka.sasl?.mechanism).toBe("scram-sha-512")
      expect(kafka.tls?.ca, "the CA file is read").toContain("BEGIN CERTIFICATE")
      const caMount = container.volumeMounts.find((m: any) => settings.KAFKA_SSL_CA_FILE!.startsWith(`${m.mountPath}/`))
      expect(caMount, "KAFKA_SSL_CA_FILE is on a mounted volume").toBeDefined()
      const caVolume = appWorkload(resources).spec.template.spec.volumes.find((v: any) => v.name === caMount.name)
      const file = settings.KAFKA_SSL_CA_FILE!.slice(caMount.mountPath.length + 1)
      expect(caVolume.secret.items?.map((i: any) => i.path) ?? ["ca.crt"], "the CA Secret's key is at that path").toContain(file)
    }))

  it.effect.each(serviceRenders)("%s: topics and ACLs follow APPLICATION_ID and the topic settings", ([, resources]) =>
    Effect.gen(function*() {
      const app = yield* load(AppSettings, environment(resources))
      const kafka = yield* load(KafkaSettings, environment(resources))
      const id = app.applicationId
      const acls = one(resources, "KafkaUser").spec.authorization.acls as Array<any>
      const allows = (type: string, name: string, op: string) =>
        acls.some((a) =>
          a.resource.type === type && a.operations.includes(op) &&
          (a.resource.patternType === "prefix" ? name.startsWith(a.resource.name) : a.resource.name === name)
        )

      // Declared topics: the outputs, the compacted changelog and, scaled out, the repartition topics, under their configured names.
      const topics = new Map(ofKind(resources, "KafkaTopic").map((t) => [t.spec.topicName ?? t.metadata.name, t.spec]))
      const repartitioned = runsRepartition(app) ? [app.transformTopic, app.analysisTopic, app.controlTopic].map((t) => repartitionTopic(id, t)) : []
      expect([...topics.keys()].sort()).toEqual([app.rowsTopic, app.aggregateTopic, app.dlqTopic, changelogTopic(app), ...repartitioned].sort())
      expect(topics.get(changelogTopic(app))?.config?.["cleanup.policy"]).toBe("compact")
      expect(kafka.autoCreateTopics, "topics are declared, not created by the service").toBe(false)

      for (const t of [app.transformTopic, app.analysisTopic, app.controlTopic]) expect(allows("topic", t, "Read"), `read ${t}`).toBe(true)
      for (const t of [app.controlTopic, app.rowsTopic, app.aggregateTopic, app.dlqTopic]) expect(allows("topic", t, "Write"), `write ${t}`).toBe(true)
      for (const t of [app.transformTopic, app.analysisTopic]) expect(allows("topic", t, "Write"), `no write on input ${t}`).toBe(false)
      // Internal topics, today's and those still to come, under the `<APPLICATION_ID>-` prefix.
      for (const t of [changelogTopic(app), `${id}-${app.transformTopic}-repartition`, `${id}-job-index-changelog`]) {
        for (const op of ["Read", "Write", "Describe"]) expect(allows("topic", t, op), `${op} ${t}`).toBe(true)
      }
      expect(allows("topic", `${id}x-job-state-changelog`, "Write"), "nothing beyond the `<APPLICATION_ID>-` prefix").toBe(false)

      // The consumer groups (the repartition stage's too), the restore groups, the transactional ids.
      expect(allows("group", id, "Read"), `group ${id}`).toBe(true)
      expect(allows("group", repartitionGroup(id), "Read"), `group ${repartitionGroup(id)}`).toBe(true)
      expect(allows("group", `${kafka.clientId}-restore-abc-123`, "Read"), "changelog restore groups").toBe(true)
      expect(allows("group", `${id}x`, "Read"), "no other group").toBe(false)
      expect(kafka.transactionalId, "KafkaConfig derives the transactional id from APPLICATION_ID and the host name").toBe(`${id}-${hostname()}`)
      for (const workload of workloads(resources)) {
        const podName = workload.kind === "StatefulSet" ? `${workload.metadata.name}-0` : `${workload.metadata.name}-5d8f7c9b6-x2x7q`
        expect(allows("transactionalId", `${id}-${podName}`, "Write"), `transactional id of pod ${podName}`).toBe(true)
      }

      // Nothing left of the default names when the settings differ from them.
      if (id !== "review-aggregator-enhanced-v1") {
        const names = JSON.stringify([acls, [...topics.keys()]])
        expect(names).not.toContain("review-aggregator-enhanced-v1")
        expect(names).not.toContain("realtime-review")
      }
    }))

  it.each(serviceRenders)("%s: a KafkaTopic for every own topic `npm run topics` lists, with its partitions and configs, and no other", (_, resources) => {
    const inputs = new Set(["INPUT_TRANSFORM_TOPIC", "INPUT_ANALYSIS_TOPIC", "CONTROL_TOPIC"].map((v) => settingsOf(resources)[v]))
    const listed = listTopics(environment(resources))
    expect([...inputs].every((t) => listed.some((l) => l.name === t)), "the command lists the inputs too").toBe(true)
    const own = listed.filter((t) => !inputs.has(t.name))
    const declared = ofKind(resources, "KafkaTopic").map((t) => ({
      name: t.spec.topicName ?? t.metadata.name,
      partitions: t.spec.partitions,
      config: Object.fromEntries(Object.entries(t.spec.config ?? {}).map(([k, v]) => [k, String(v)]))
    }))
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    expect(own.filter((t) => t.partitions === undefined).map((t) => t.name), "TOPIC_PARTITIONS fixes the own topics' partitions").toEqual([])
    expect([...declared].sort(byName), "KafkaTopics vs npm run topics").toEqual([...own].sort(byName))
  }, 60_000)

  it("apply a custom APPLICATION_ID where it is written (the copy's ConfigMap)", () => {
    expect(settingsOf(rendered.customBase).APPLICATION_ID).toBe(custom.APPLICATION_ID)
    expect(settingsOf(rendered.customExactlyOnce).APPLICATION_ID).toBe(custom.APPLICATION_ID)
  })

  it("run exactly_once_v2 as a StatefulSet with the base's pod, at_least_once as a Deployment", () => {
    expect(settingsOf(rendered.base).PROCESSING_GUARANTEE).toBe("at_least_once")
    expect(appWorkload(rendered.base).kind).toBe("Deployment")

    expect(settingsOf(rendered.exactlyOnce).PROCESSING_GUARANTEE).toBe("exactly_once_v2")
    const statefulSet = appWorkload(rendered.exactlyOnce)
    expect(statefulSet.kind, "stable pod names, so stable transactional ids").toBe("StatefulSet")
    expect(statefulSet.spec.podManagementPolicy ?? "OrderedReady", "never two pods with one name").toBe("OrderedReady")
    const governing = one(rendered.exactlyOnce, "Service", statefulSet.spec.serviceName)
    expect(governing.spec.clusterIP, "the governing Service is headless").toBe("None")
    expect(statefulSet.spec.template, "the same pod as the base Deployment").toEqual(appWorkload(rendered.base).spec.template)
    expect(statefulSet.spec.selector).toEqual(appWorkload(rendered.base).spec.selector)
  })

  it.each(serviceRenders)("%s: metrics reach Prometheus once, through the collector", (_, resources) => {
    // The service pushes OTLP metrics whenever an OTLP endpoint is set, so its pods are not scraped.
    expect(settingsOf(resources).OTEL_EXPORTER_OTLP_ENDPOINT).toBeTruthy()
    const scrapeAnnotations = (r: Resource) =>
      Object.keys({ ...r.metadata?.annotations, ...r.spec?.template?.metadata?.annotations }).filter((a) => a.startsWith("prometheus.io/"))
    for (const r of resources) expect(scrapeAnnotations(r), `${r.kind}/${r.metadata.name} scrape annotations`).toEqual([])
    expect(resources.filter((r) => ["ServiceMonitor", "PodMonitor"].includes(r.kind))).toEqual([])

    const collector = appWorkload(rendered.otel)
    const config = collectorConfig()
    expect(config.service.pipelines.metrics.receivers).toContain("otlp")
    const exporter = config.service.pipelines.metrics.exporters.find((e: string) => e.split("/")[0] === "prometheus")
    expect(exporter, "the collector exposes the metrics for Prometheus").toBeDefined()
    const port = Number(String(config.exporters[exporter].endpoint).split(":").pop())
    const annotations = collector.spec.template.metadata.annotations
    expect(annotations["prometheus.io/scrape"]).toBe("true")
    expect(Number(annotations["prometheus.io/port"]), "Prometheus scrapes the collector's exporter").toBe(port)
    expect(collector.spec.template.spec.containers[0].ports.map((p: any) => p.containerPort)).toContain(port)
    expect(config.exporters[exporter].add_metric_suffixes, "metric names as on the service's /metrics").toBe(false)
  })

  it.each(serviceRenders)("%s: OTLP goes to the collector's Service", (_, resources) => {
    const endpoint = new URL(settingsOf(resources).OTEL_EXPORTER_OTLP_ENDPOINT!)
    const [name, namespace] = endpoint.hostname.split(".")
    const service = one(rendered.otel, "Service", name)
    expect(service.metadata.namespace).toBe(namespace)
    const port = service.spec.ports.find((p: any) => p.port === Number(endpoint.port))
    expect(port, `the collector Service listens on ${endpoint.port}`).toBeDefined()
    const container = appWorkload(rendered.otel).spec.template.spec.containers[0]
    const target = container.ports.find((p: any) => p.name === port.targetPort || p.containerPort === port.targetPort)
    const receiver = collectorConfig().receivers.otlp.protocols[endpoint.protocol === "http:" ? "http" : "grpc"]
    expect(Number(String(receiver.endpoint).split(":").pop()), "the OTLP receiver listens there").toBe(target.containerPort)
  })
})

/** otel/collector.yaml as mounted into the collector pod. */
const collectorConfig = (): Record<string, any> => {
  const configMaps = ofKind(rendered.otel, "ConfigMap")
  expect(configMaps).toHaveLength(1)
  return parse(configMaps[0]!.data["collector.yaml"])
}

describe("otel collector", () => {
  const collector = () => appWorkload(rendered.otel)
  const container = () => collector().spec.template.spec.containers[0]

  it("has a health check its probes use", () => {
    const config = collectorConfig()
    expect(config.service.extensions).toContain("health_check")
    const port = Number(String(config.extensions.health_check.endpoint).split(":").pop())
    for (const probe of ["livenessProbe", "readinessProbe"]) {
      const ref = container()[probe].httpGet.port
      const resolved = typeof ref === "number" ? ref : container().ports.find((p: any) => p.name === ref)?.containerPort
      expect(resolved, `${probe} on the health_check port`).toBe(port)
    }
  })

  it("sends traces over OTLP to an endpoint its pod sets, and every ${env:...} is set", () => {
    const config = collectorConfig()
    const traces = config.service.pipelines.traces
    expect(traces.receivers).toContain("otlp")
    const exporter = traces.exporters.find((e: string) => ["otlp", "otlphttp"].includes(e.split("/")[0]!))
    expect(exporter, "traces leave over OTLP (Jaeger and Tempo both accept it)").toBeDefined()
    expect(config.exporters[exporter].endpoint).toBe("${env:TRACES_OTLP_ENDPOINT}")
    const placeholders = [...JSON.stringify(config).matchAll(/\$\{env:([A-Za-z0-9_]+)(:-[^}]*)?\}/g)]
    const env = new Map((container().env ?? []).map((e: any) => [e.name, e.value]))
    for (const [, name, fallback] of placeholders) {
      expect(env.has(name) || fallback !== undefined, `${name} is set in otel/deployment.yaml`).toBe(true)
    }
    expect(env.get("TRACES_OTLP_ENDPOINT")).toMatch(/^[a-z0-9.-]+:\d+$/)
  })

  it("loads the configuration it is given", () => {
    const configMap = ofKind(rendered.otel, "ConfigMap")[0]!
    const volume = collector().spec.template.spec.volumes.find((v: any) => v.configMap?.name === configMap.metadata.name)
    expect(volume, "the generated ConfigMap is mounted").toBeDefined()
    const mount = container().volumeMounts.find((m: any) => m.name === volume.name)
    expect(container().args).toContain(`--config=${mount.mountPath}/collector.yaml`)
    expect(configMap.data["collector.yaml"]).toBe(readFileSync(join(root, "otel/collector.yaml"), "utf8"))
  })
})

describe("Dockerfile", () => {
  it("starts an entry point the image holds, with node as PID 1 (the manifests use the image's CMD)", () => {
    const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8")
    const cmd = /^CMD (\[.*\])\s*$/m.exec(dockerfile)?.[1]
    expect(cmd, "an exec-form CMD, so SIGTERM reaches node").toBeDefined()
    const args = JSON.parse(cmd!) as Array<string>
    expect(args[0]).toBe("node")
    // `node --enable-source-maps dist/main.js`: the first argument that is not an option's.
    const entry = args.slice(1).find((a, i, all) => !a.startsWith("-") && all[i - 1] !== "--import")
    expect(entry, "the script node runs").toBeDefined()
    // Built in the image (test/deploy/CompiledBundle.test.ts builds and runs it): it is in a
    // directory the final stage copies in.
    const finalStage = dockerfile.split(/^FROM /m).at(-1)!
    const copied = [...finalStage.matchAll(/^COPY .* (\S+)$/gm)].map((m) => m[1]!.replace(/^\.\//, "").replace(/\/$/, ""))
    expect(copied, `the final stage copies ${entry}'s directory`).toContain(entry!.split("/")[0])
    for (const workload of [...serviceRenders.flatMap(([, r]) => workloads(r))]) {
      const container = workload.spec.template.spec.containers[0]
      expect([container.command, container.args], `${workload.kind} runs the image's CMD`).toEqual([undefined, undefined])
    }
  })

  it("runs what the manifests and the docs say the image's CMD is", () => {
    const cmd = imageCommand().join(" ")
    const k8sFiles = (dir: string): Array<string> =>
      readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? k8sFiles(join(dir, e.name)) : e.name.endsWith(".yaml") ? [join(dir, e.name)] : []
      )
    const files = ["README.md", ...readdirSync(join(root, "docs")).map((f) => join("docs", f)), ...k8sFiles("k8s")]
    // "the image's CMD, `...`", "`CMD` is `...`": the command quoted right after the word.
    const quoted = files.flatMap((file) =>
      [...readFileSync(join(root, file), "utf8").matchAll(/(?:`CMD`|\bCMD\b(?!`))[^`\n|]{0,20}`([^`]+)`/g)].map((m) => ({ file, says: m[1] }))
    )
    expect(quoted.filter((q) => q.says !== cmd), `quoted as the image's CMD, which is \`${cmd}\``).toEqual([])
    expect(new Set(quoted.map((q) => q.file))).toEqual(
      new Set(["README.md", "docs/operations.md", "docs/performance.md", "k8s/base/deployment.yaml", "k8s/overlays/exactly-once/statefulset.yaml"])
    )
  })
})
