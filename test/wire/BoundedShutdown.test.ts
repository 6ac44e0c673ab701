/**
 * Issue 8: SIGTERM while the broker is frozen (SIGSTOP, requests hang unanswered) and a
 * batch is in flight ends the real service process (scaled out, the default) within 15 s with exit 0, on the real
 * kafkajs adapter and its real retry behaviour; the abandoned batch is not committed, and
 * a restart replays it and finishes every job exactly.
 */
import { expect, it } from "vitest"
import { partitionForKey } from "../../src/kernel/kafka/Murmur2.ts"
import { sleep, waitFor } from "../support/ServiceProcess.ts"
import { cleanJobs, recordsIn, serviceCluster } from "./ServiceOnMockCluster.ts"
import { describeWire } from "./WireSuite.ts"

const APP = "shutdown-aggregator"
/** Long deadlines: only the shutdown is under test, no job may time out meanwhile. */
const env = { TIMEOUT_MS: "600000", WINDOW_INACTIVITY_MS: "2000", SHUTDOWN_TIMEOUT_MS: "5000" }

describeWire("bounded shutdown on the mock cluster", { what: "the bounded-shutdown wire test", kcat: true }, () => {
  const wire = serviceCluster(APP)
  const allCommitted = async () => {
    const { committed, end } = await wire.committedAndEnd()
    return committed === end
  }
  /**
   * Offsets the review task's group has committed: the records its /metrics counts as read
   * come from the topics it reads (scaled out, the repartition topics; the repartition
   * stage commits the inputs in a group of its own).
   */
  const reviewOffsets = async () => (await wire.inputOffsets()).filter((o) => o.group === APP)
  const reviewCommitted = async () => (await reviewOffsets()).reduce((n, o) => n + o.committed, 0)

  it("SIGTERM with the broker frozen and a batch in flight exits 0 within 15 s; a restart replays the batch", async () => {
    // Three jobs, which the repartition stage keys to three different partitions. With four
    // of 2,000, two shared a partition: 4,000 transform records plus the replays of four
    // attempts came near the mock's ~5 MB per partition, and once it dropped the oldest.
    const jobs = cleanJobs("shutdown-job", 3, 2_500)
    expect(new Set(jobs.map((j) => partitionForKey(new TextEncoder().encode(j.truth.jobId), 3))).size, "a partition per job").toBe(3)
    await wire.produceJobs(jobs)

    // The freeze must catch a batch between being handled and being committed. It almost
    // always does (the service is busy with the backlog); when it caught a fetch instead,
    // the next attempt (a new process, resuming from the committed offsets) tries again.
    const reviewTopics = [...new Set((await reviewOffsets()).map((o) => o.topic))]
    const attempts: Array<string> = []
    let inFlightCaught = false
    for (let attempt = 1; attempt <= 4 && !inFlightCaught; attempt++) {
      if (await allCommitted()) break
      const before = await reviewCommitted()
      const service = await wire.start(env)
      await waitFor("the review task consuming the backlog", 60_000, async () => (await recordsIn(service, reviewTopics)) > 0, { watching: [service], everyMs: 50 })
      wire.cluster.freeze()
      // Long enough for the write under way to be stuck in kafkajs's request retries.
      await sleep(1_500)
      const handled = await recordsIn(service, reviewTopics)
      const { exit, tookMs } = await service.stop("SIGTERM", 30_000).finally(() => wire.cluster.thaw())
      expect(exit, `exit after SIGTERM; output:\n${service.output()}`).toEqual({ code: 0, signal: null })
      expect(tookMs, `shutdown time with the broker frozen; output:\n${service.output()}`).toBeLessThan(15_000)

      const after = await reviewCommitted()
      // Handled by this process's review task but never committed: a batch was in flight when the broker froze.
      inFlightCaught = before + handled > after
      attempts.push(`attempt ${attempt}: review task committed ${before} -> ${after}, handled ${handled}, stopped in ${tookMs} ms`)
      if (inFlightCaught) {
        expect(service.output(), "the service says it abandoned the write").toMatch(/stopping: write abandoned/)
      }
    }
    expect(inFlightCaught, `a batch in flight at the freeze in one of the attempts:\n${attempts.join("\n")}`).toBe(true)

    // The restart consumes what was abandoned (at-least-once) and every job ends exactly.
    const restarted = await wire.start(env)
    await waitFor("every job finished and every input committed", 120_000, () => wire.jobsFinished(jobs), { watching: [restarted], everyMs: 500 })
    await wire.expectJobsExact(jobs)
    expect((await restarted.stop("SIGTERM", 20_000)).exit).toEqual({ code: 0, signal: null })
  }, 300_000)
})
