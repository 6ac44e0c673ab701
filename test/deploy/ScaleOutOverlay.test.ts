/**
 * k8s/overlays/scale-out: the base's pod scaled out (PARTITION_ASSIGNMENT=co-partitioned,
 * 3 replicas rolling one at a time, a PodDisruptionBudget), its KafkaTopics exactly those
 * `npm run topics` lists under its settings (the repartition topics included), and the
 * base's ACLs covering the repartition topics and group. The base stays at one replica.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { AppSettings } from "../../src/config/AppConfig.ts"
import { repartitionGroup } from "../../src/review/RepartitionStage.ts"
import { render, renderInstalled, type Resource } from "../support/Kustomize.ts"
import { listTopics } from "../support/TopicsCommand.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const overlay = join(root, "k8s/overlays/scale-out")
const resources = render(overlay)
const base = render(join(root, "k8s/base"))
const ofKind = (rs: Array<Resource>, kind: string) => rs.filter((r) => r.kind === kind)
const settingsOf = (rs: Array<Resource>) => ofKind(rs, "ConfigMap")[0]!.data as Record<string, string>
/** Stands in for the mounted CA Secret, which the settings read. */
const caDir = mkdtempSync(join(tmpdir(), "ca-"))
afterAll(() => rmSync(caDir, { recursive: true, force: true }))
writeFileSync(join(caDir, "ca.crt"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
const environment = (rs: Array<Resource>) => ({ ...settingsOf(rs), KAFKA_SSL_CA_FILE: join(caDir, "ca.crt"), KAFKA_SASL_PASSWORD: "from-the-secret" })
const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

describe("k8s/overlays/scale-out", () => {
  it("renders as the installed kustomize does", (ctx) => {
    const installed = renderInstalled(overlay)
    if (installed === undefined) return ctx.skip("no kustomize or kubectl on the PATH")
    const key = (r: Resource) => `${r.kind}/${r.metadata.name}`
    expect([...render(overlay)].sort((a, b) => (key(a) < key(b) ? -1 : 1))).toEqual([...installed.resources].sort((a, b) => (key(a) < key(b) ? -1 : 1)))
  })

  it("runs 3 co-partitioned replicas rolling one at a time; the base keeps one, Recreate", () => {
    const [deployment] = ofKind(resources, "Deployment")
    expect(deployment!.spec.replicas).toBe(3)
    expect(deployment!.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } })
    expect(settingsOf(resources).PARTITION_ASSIGNMENT).toBe("co-partitioned")
    const [single] = ofKind(base, "Deployment")
    expect(single!.spec.replicas).toBe(1)
    expect(single!.spec.strategy.type).toBe("Recreate")
    expect(settingsOf(base).PARTITION_ASSIGNMENT, "the base runs the default single-active").toBeUndefined()
  })

  it("has a PodDisruptionBudget of one pod over the service's pods", () => {
    const [pdb] = ofKind(resources, "PodDisruptionBudget")
    const [deployment] = ofKind(resources, "Deployment")
    expect(pdb!.spec.maxUnavailable).toBe(1)
    expect(deployment!.spec.template.metadata.labels).toMatchObject(pdb!.spec.selector.matchLabels)
    expect(pdb!.metadata.namespace).toBe(deployment!.metadata.namespace)
  })

  it.effect("has settings the service accepts", () =>
    Effect.gen(function*() {
      const app = yield* Effect.provideService(Effect.gen(function*() { return yield* AppSettings }), ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(settingsOf(resources)))
      expect(app.partitionAssignment).toBe("co-partitioned")
      expect(app.inputKeyedByJob).toBe(false)
    }))

  it("declares a KafkaTopic for every own topic `npm run topics` lists, repartition topics included, and no other", () => {
    const settings = settingsOf(resources)
    const inputs = new Set(["INPUT_TRANSFORM_TOPIC", "INPUT_ANALYSIS_TOPIC", "CONTROL_TOPIC"].map((v) => settings[v]))
    const own = listTopics(environment(resources)).filter((t) => !inputs.has(t.name))
    expect(own.filter((t) => t.name.endsWith("-repartition")), "the repartition topics are listed").toHaveLength(3)
    const declared = ofKind(resources, "KafkaTopic").map((t) => ({
      name: t.spec.topicName,
      partitions: t.spec.partitions,
      config: Object.fromEntries(Object.entries(t.spec.config ?? {}).map(([k, v]) => [k, String(v)]))
    }))
    expect([...declared].sort(byName)).toEqual([...own].sort(byName))
  }, 60_000)

  it("lets the KafkaUser use the repartition topics and the repartition group", () => {
    const settings = settingsOf(resources)
    const id = settings.APPLICATION_ID!
    const acls = ofKind(resources, "KafkaUser")[0]!.spec.authorization.acls as Array<any>
    const allows = (type: string, name: string, op: string) =>
      acls.some((a) => a.resource.type === type && a.operations.includes(op) &&
        (a.resource.patternType === "prefix" ? name.startsWith(a.resource.name) : a.resource.name === name))
    for (const t of ofKind(resources, "KafkaTopic").map((r) => r.spec.topicName as string).filter((n) => n.endsWith("-repartition"))) {
      for (const op of ["Read", "Write", "Describe"]) expect(allows("topic", t, op), `${op} ${t}`).toBe(true)
    }
    expect(allows("group", repartitionGroup(id), "Read"), "the repartition stage's group").toBe(true)
  })
})
