/**
 * Issue 8: two service processes with one APPLICATION_ID on the mock cluster never split
 * the partitions. The first holds them all; the second says in its log that it stands by
 * and consumes nothing; when the first is killed (SIGKILL) mid-run, the second takes over
 * after the session timeout, restores the state the first wrote, and ends every job exactly.
 */
import { expect, it } from "vitest"
import { waitFor } from "../support/ServiceProcess.ts"
import { cleanJobs, recordsIn, serviceCluster } from "./ServiceOnMockCluster.ts"
import { describeWire } from "./WireSuite.ts"

const APP = "standby-aggregator"
/** Long deadlines: the takeover (session timeout, rejoin) must not time jobs out here. */
const env = { TIMEOUT_MS: "600000", WINDOW_INACTIVITY_MS: "2000" }
const standbyLine = /standby: another member of consumer group 'standby-aggregator' holds every partition/
const activeLine = /active: consuming all 7 partitions of consumer group 'standby-aggregator'/

describeWire("one active member per APPLICATION_ID on the mock cluster", { what: "the standby wire test", kcat: true }, () => {
  const wire = serviceCluster(APP)

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
