/**
 * Issue 8: two service processes with one APPLICATION_ID on the mock cluster never split
 * the partitions under PARTITION_ASSIGNMENT=single-active. The first holds them all; the
 * second says in its log that it stands by and consumes nothing; when the first is killed
 * (SIGKILL) mid-run, the second takes over after the session timeout, restores the state
 * the first wrote, and ends every job exactly. Scaled out (the default) with one review
 * task, a second member is given no task: it is ready (a standby), holds no job, and takes
 * the task over the same way.
 */
import { expect, it } from "vitest"
import { repartitionTopic } from "../../src/kernel/topology/Repartition.ts"
import { type ServiceProcess, waitFor } from "../support/ServiceProcess.ts"
import { cleanJobs, recordsIn, serviceCluster, serviceTopicNames } from "./ServiceOnMockCluster.ts"
import { describeWire } from "./WireSuite.ts"

/** Long deadlines: the takeover (session timeout, rejoin) must not time jobs out here. */
const env = { TIMEOUT_MS: "600000", WINDOW_INACTIVITY_MS: "2000" }

describeWire("one active member per APPLICATION_ID on the mock cluster (single-active)", { what: "the standby wire test", kcat: true }, () => {
  const APP = "standby-aggregator"
  const standbyLine = /standby: another member of consumer group 'standby-aggregator' holds every partition/
  const activeLine = /active: consuming all 7 partitions of consumer group 'standby-aggregator'/
  const wire = serviceCluster(APP, { assignment: "single-active" })

  it("a second instance stands by, consuming nothing, and takes over every job when the first is killed", async () => {
    const first = await wire.start(env)
    await first.waitForLine(activeLine, 60_000)
    const second = await wire.start(env)
    // The mock's rebalance takes a session timeout; a loaded machine makes it longer.
    await waitFor("the second instance saying it stands by", 150_000, () => standbyLine.test(second.output()), { watching: [first, second] })
    expect(first.output(), "the first instance never stands by").not.toMatch(standbyLine)

    const jobs = cleanJobs("standby-job", 3, 1_500)
    await wire.produceJobs(jobs)
    await waitFor("the first instance consuming", 60_000, async () => (await recordsIn(first)) > 0, { watching: [first, second], everyMs: 100 })
    const beforeKill = await wire.committedAndEnd()
    expect(await recordsIn(second), "records consumed by the standby while the first instance is active").toBe(0)
    expect(second.output(), "the standby restores no state before it takes over").not.toMatch(/restored \d+ jobs/)
    first.signal("SIGKILL")
    await first.exited
    expect(beforeKill.committed, "the kill leaves work for the standby").toBeLessThan(beforeKill.end)

    await second.waitForLine(activeLine, 120_000)
    await waitFor("every job finished and every input committed by the second instance", 120_000, () => wire.jobsFinished(jobs), { watching: [second], everyMs: 500 })
    expect(await recordsIn(second), "records the second instance consumed after taking over").toBeGreaterThan(0)

    await wire.expectJobsExact(jobs)
    expect((await second.stop("SIGTERM", 20_000)).exit).toEqual({ code: 0, signal: null })
  }, 480_000)
})

describeWire("a scaled-out member given no review task on the mock cluster", { what: "the scaled-out standby wire test", kcat: true }, () => {
  const APP = "idle-member-aggregator"
  // One review task (one partition per repartition topic) for two members: one of them gets none.
  const wire = serviceCluster(APP, { assignment: { partitions: 1 } })
  const topic = serviceTopicNames(APP)
  const repartitioned = [topic.transform, topic.analysis, topic.control].map((t) => repartitionTopic(APP, t))
  const joinedWith = (n: number) => new RegExp(`joined consumer group '${APP}' \\(co-partitioned\\), holding ${n} partitions`)
  const restoredTask = /restored task review-aggregator\/0 from \d+ changelog records/
  const heldJobs = async (service: ServiceProcess) => (JSON.parse((await service.get("/jobs")).body) as { total: number }).total

  it("is ready holding no task, reads nothing of the review task's topics, and takes the task over when its holder is killed", async () => {
    const first = await wire.start(env)
    await first.waitUntilReady(60_000)
    await first.waitForLine(restoredTask, 60_000)
    const second = await wire.start(env)
    await waitFor("the second member joined with no review task", 150_000, () => joinedWith(0).test(second.output()), { watching: [first, second] })
    await second.waitUntilReady(60_000)
    expect(JSON.parse((await second.get("/readyz")).body), "the idle member's readiness").toMatchObject({ status: "ready", state: "restored" })
    expect(second.output(), "the idle member restores no review task").not.toMatch(restoredTask)

    const jobs = cleanJobs("idle-member-job", 3, 1_000)
    await wire.produceJobs(jobs)
    await waitFor("the first member reading the repartition topics", 60_000, async () => (await recordsIn(first, repartitioned)) > 0, {
      watching: [first, second],
      everyMs: 100
    })
    expect(await recordsIn(second, repartitioned), "records of the review task's topics read by the member without a task").toBe(0)
    expect(await heldJobs(second), "jobs held by the member without a task").toBe(0)
    first.signal("SIGKILL")
    await first.exited

    await second.waitForLine(restoredTask, 120_000)
    await waitFor("every job finished and every input committed by the second member", 120_000, () => wire.jobsFinished(jobs), { watching: [second], everyMs: 500 })
    expect(await heldJobs(second), "jobs the second member holds after taking the task over").toBe(jobs.length)
    await wire.expectJobsExact(jobs)
    expect((await second.stop("SIGTERM", 20_000)).exit).toEqual({ code: 0, signal: null })
  }, 480_000)
})
