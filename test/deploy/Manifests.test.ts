/**
 * The deployment files agree with the code: every ConfigMap setting is one the service
 * reads and its value passes the same validation as at start-up; probes, ports, topic
 * names and ACLs line up with the settings.
 */
import { describe, expect, it } from "@effect/vitest"
import { type Config, ConfigProvider, Effect } from "effect"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseAllDocuments } from "yaml"
import { AppSettings, changelogTopic } from "../../src/config/AppConfig.ts"
import { KafkaSettings } from "../../src/config/KafkaConfig.ts"
import { TelemetrySettings } from "../../src/observability/Telemetry.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const docs = (file: string): Array<any> => parseAllDocuments(readFileSync(join(root, "k8s", file), "utf8")).map((d) => d.toJS())

const configMap = docs("configmap.yaml")[0].data as Record<string, string>
const deployment = docs("deployment.yaml")[0]
const container = deployment.spec.template.spec.containers[0]

/** Environment variable names the service's Config definitions read. */
const knownSettings = (): Set<string> => {
  const sources = [
    ...readdirSync(join(root, "src/config")).map((f) => join(root, "src/config", f)),
    join(root, "src/observability/Telemetry.ts")
  ]
  return new Set(sources.flatMap((f) => [...readFileSync(f, "utf8").matchAll(/"([A-Z][A-Z0-9_]{2,})"/g)].map((m) => m[1]!)))
}

describe("k8s manifests", () => {
  it("set only settings the service reads", () => {
    const known = knownSettings()
    expect(Object.keys(configMap).filter((k) => !known.has(k))).toEqual([])
    for (const e of container.env ?? []) expect(known.has(e.name), e.name).toBe(true)
  })

  it("hold values that pass start-up validation", () =>
    Effect.gen(function*() {
      const ca = join(mkdtempSync(join(tmpdir(), "ca-")), "ca.crt")
      writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
      const env = { ...configMap, KAFKA_SSL_CA_FILE: ca, KAFKA_SASL_PASSWORD: "from-the-secret" }
      const provider = ConfigProvider.fromEnvRecord(env)
      const load = <A>(config: Config.Config<A>) =>
        Effect.provideService(Effect.gen(function*() { return yield* config }), ConfigProvider.ConfigProvider, provider)
      const app = yield* load(AppSettings)
      const kafka = yield* load(KafkaSettings)
      yield* load(TelemetrySettings)
      expect(kafka.sasl?.mechanism).toBe("scram-sha-512")
      expect(kafka.tls).toBeDefined()

      // Probes and ports line up with the HTTP surface.
      expect(container.ports[0].containerPort).toBe(app.httpPort)
      expect(container.livenessProbe.httpGet.path).toBe("/healthz")
      expect(container.readinessProbe.httpGet.path).toBe("/readyz")
      expect(container.envFrom[0].configMapRef.name).toBe(docs("configmap.yaml")[0].metadata.name)

      // Topics this service writes exist, the changelog is compacted.
      const topics = new Map(docs("kafka-topics.yaml").map((t) => [t.metadata.name, t.spec]))
      for (const t of [app.rowsTopic, app.aggregateTopic, app.dlqTopic, changelogTopic(app)]) expect(topics.has(t), t).toBe(true)
      expect(topics.get(changelogTopic(app)).config["cleanup.policy"]).toBe("compact")

      // The Kafka user may read the inputs, write the outputs and use the group and internal topics.
      const acls = docs("kafka-user.yaml")[0].spec.authorization.acls as Array<any>
      const allows = (type: string, name: string, op: string) =>
        acls.some((a) => a.resource.type === type && a.operations.includes(op) &&
          (a.resource.patternType === "prefix" ? name.startsWith(a.resource.name) : a.resource.name === name))
      for (const t of [app.transformTopic, app.analysisTopic, app.controlTopic]) expect(allows("topic", t, "Read"), `read ${t}`).toBe(true)
      for (const t of [app.controlTopic, app.rowsTopic, app.aggregateTopic, app.dlqTopic, changelogTopic(app)]) expect(allows("topic", t, "Write"), `write ${t}`).toBe(true)
      expect(allows("group", app.applicationId, "Read")).toBe(true)
    }))

  it("give a read-only container a writable /tmp (tsx's compile cache)", () => {
    if (container.securityContext?.readOnlyRootFilesystem !== true) return
    const mounts = (container.volumeMounts ?? []) as Array<{ name: string; mountPath: string }>
    const tmp = mounts.find((m) => m.mountPath === "/tmp")
    expect(tmp, "a volume mounted at /tmp").toBeDefined()
    const volume = deployment.spec.template.spec.volumes.find((v: any) => v.name === tmp!.name)
    expect(volume?.emptyDir, "/tmp is an emptyDir").toBeDefined()
  })

  it("start the service entry point that exists", () => {
    const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8")
    const command = /^CMD \["([^"]+)"\]$/m.exec(dockerfile)?.[1]
    expect(command).toBe("./bin/review-aggregator")
    expect(readFileSync(join(root, command!), "utf8"), "the start command runs src/main.ts").toContain('"../src/main.ts"')
    expect(readdirSync(join(root, "src"))).toContain("main.ts")
  })
})
