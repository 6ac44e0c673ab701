/**
 * k8s/base runs the service scaled out (PARTITION_ASSIGNMENT=co-partitioned, 3 replicas
 * rolling one at a time, a PodDisruptionBudget) with the repartition topics `npm run
 * topics` lists under its settings, named after them (custom input topic names too), and
 * ACLs covering them and the repartition group. k8s/overlays/single-active (and
 * exactly-once, built on it) runs one member: one replica, Recreate, no repartition topics.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseDocument } from "yaml"
import { AppSettings } from "../../src/config/AppConfig.ts"
import { repartitionGroup } from "../../src/review/RepartitionStage.ts"
import { render, type Resource } from "../support/Kustomize.ts"
import { listTopics } from "../support/TopicsCommand.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

/** A copy of k8s/ with the input topics and APPLICATION_ID renamed in the base's ConfigMap, as an operator would. */
const renamed = { APPLICATION_ID: "orders-eu-v7", INPUT_TRANSFORM_TOPIC: "spark-out", INPUT_ANALYSIS_TOPIC: "llm-out", CONTROL_TOPIC: "jobs-control" }
const copy = mkdtempSync(join(tmpdir(), "k8s-"))
afterAll(() => rmSync(copy, { recursive: true, force: true }))
cpSync(join(root, "k8s"), copy, { recursive: true })
const configmap = parseDocument(readFileSync(join(copy, "base/configmap.yaml"), "utf8"))
for (const [key, value] of Object.entries(renamed)) configmap.setIn(["data", key], value)
writeFileSync(join(copy, "base/configmap.yaml"), configmap.toString())

const rendered = {
  base: render(join(root, "k8s/base")),
  renamedBase: render(join(copy, "base")),
  singleActive: render(join(root, "k8s/overlays/single-active")),
  exactlyOnce: render(join(root, "k8s/overlays/exactly-once"))
}
const ofKind = (rs: Array<Resource>, kind: string) => rs.filter((r) => r.kind === kind)
const workload = (rs: Array<Resource>) => rs.filter((r) => r.kind === "Deployment" || r.kind === "StatefulSet")[0]!
const settingsOf = (rs: Array<Resource>) => ofKind(rs, "ConfigMap")[0]!.data as Record<string, string>
/** Stands in for the mounted CA Secret, which the settings read. */
const caDir = mkdtempSync(join(tmpdir(), "ca-"))
afterAll(() => rmSync(caDir, { recursive: true, force: true }))
writeFileSync(join(caDir, "ca.crt"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
const environment = (rs: Array<Resource>) => ({ ...settingsOf(rs), KAFKA_SSL_CA_FILE: join(caDir, "ca.crt"), KAFKA_SASL_PASSWORD: "from-the-secret" })
const settingsAccepted = (rs: Array<Resource>) =>
  Effect.provideService(Effect.gen(function*() { return yield* AppSettings }), ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(environment(rs)))
const repartitionTopicsOf = (rs: Array<Resource>) => ofKind(rs, "KafkaTopic").map((t) => t.spec.topicName as string).filter((n) => n.endsWith("-repartition")).sort()

describe("k8s/base: scaled out", () => {
  it.effect("runs 3 co-partitioned replicas, rolling one at a time", () =>
    Effect.gen(function*() {
      const deployment = workload(rendered.base)
      expect(deployment.kind).toBe("Deployment")
      expect(deployment.spec.replicas).toBe(3)
      expect(deployment.spec.strategy, "a new pod ready before an old one goes, one at a time").toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } })
      expect(settingsOf(rendered.base).PARTITION_ASSIGNMENT, "the mode is set, not left to the default").toBe("co-partitioned")
      const app = yield* settingsAccepted(rendered.base)
      expect(app.partitionAssignment).toBe("co-partitioned")
      expect(app.inputKeyedByJob, "the repartition stage runs").toBe(false)
    }))

  it("has a PodDisruptionBudget of one pod over the service's pods", () => {
    const [pdb] = ofKind(rendered.base, "PodDisruptionBudget")
    const deployment = workload(rendered.base)
    expect(pdb!.spec.maxUnavailable).toBe(1)
    expect(deployment.spec.template.metadata.labels).toMatchObject(pdb!.spec.selector.matchLabels)
    expect(pdb!.metadata.namespace).toBe(deployment.metadata.namespace)
  })

  it.each([["as shipped", rendered.base], ["with the inputs and APPLICATION_ID renamed", rendered.renamedBase]] as const)(
    "declares the repartition topics `npm run topics` lists, %s",
    (_, resources) => {
      const listed = listTopics(environment(resources)).filter((t) => t.name.endsWith("-repartition"))
      expect(listed, "the repartition topics are listed").toHaveLength(3)
      expect(repartitionTopicsOf(resources), "KafkaTopics vs npm run topics").toEqual(listed.map((t) => t.name).sort())
      const partitions = new Set(ofKind(resources, "KafkaTopic").filter((t) => t.spec.topicName.endsWith("-repartition") || t.spec.topicName.endsWith("-changelog")).map((t) => t.spec.partitions))
      expect([...partitions], "the repartition topics and the changelog have one partition count (task p restores from changelog partition p)").toHaveLength(1)
    },
    60_000
  )

  it("names the renamed repartition topics after the renamed settings", () => {
    expect(repartitionTopicsOf(rendered.renamedBase)).toEqual(["orders-eu-v7-jobs-control-repartition", "orders-eu-v7-llm-out-repartition", "orders-eu-v7-spark-out-repartition"])
  })

  it("lets the KafkaUser use the repartition topics and the repartition group", () => {
    const id = settingsOf(rendered.base).APPLICATION_ID!
    const acls = ofKind(rendered.base, "KafkaUser")[0]!.spec.authorization.acls as Array<any>
    const allows = (type: string, name: string, op: string) =>
      acls.some((a) => a.resource.type === type && a.operations.includes(op) &&
        (a.resource.patternType === "prefix" ? name.startsWith(a.resource.name) : a.resource.name === name))
    for (const t of repartitionTopicsOf(rendered.base)) {
      for (const op of ["Read", "Write", "Describe"]) expect(allows("topic", t, op), `${op} ${t}`).toBe(true)
    }
    expect(allows("group", repartitionGroup(id), "Read"), "the repartition stage's group").toBe(true)
  })
})

describe("k8s/overlays/single-active and exactly-once: one member", () => {
  it.effect.each([["single-active", rendered.singleActive], ["exactly-once", rendered.exactlyOnce]] as const)("%s: one replica, single-active, no disruption budget, no repartition topic", ([, resources]) =>
    Effect.gen(function*() {
      expect(workload(resources).spec.replicas).toBe(1)
      expect((yield* settingsAccepted(resources)).partitionAssignment).toBe("single-active")
      expect(ofKind(resources, "PodDisruptionBudget")).toEqual([])
      expect(repartitionTopicsOf(resources)).toEqual([])
    }))

  it("single-active replaces the pod (Recreate): the old member leaves before the new one joins", () => {
    expect(workload(rendered.singleActive).spec.strategy).toEqual({ type: "Recreate" })
  })
})
