/**
 * A real Kafka wire peer for tests: librdkafka's built-in mock cluster, hosted by
 * the tiny C program in ./mock-cluster/launcher.c and reached over loopback.
 *
 * Needs (Debian): `apt-get install -y librdkafka-dev pkg-config gcc` (plus `kcat`
 * for tests that cross-check with an independent client). No Docker, no JVM.
 *
 * kafkajs 2.2.4 against this mock (Debian librdkafka 2.0.2), as measured:
 *  - Works: producer.send/sendBatch (keys, headers, gzip), consumer groups with
 *    `fromBeginning: true`, manual `commitOffsets`, resuming from the committed
 *    offset in a new consumer, and the admin calls listTopics,
 *    fetchTopicMetadata, fetchTopicOffsets, fetchTopicOffsetsByTimestamp,
 *    fetchOffsets and describeCluster.
 *  - Fails at once (no retry helps): createTopics, deleteTopics,
 *    createPartitions, describeConfigs, and idempotent or transactional
 *    producers ("KafkaJSBrokerNotFound: Broker 0 not found": the mock advertises
 *    no real controller, and kafkajs routes those calls to it); listGroups,
 *    describeGroups, deleteGroups and setOffsets/resetOffsets (which call
 *    describeGroups) with "server does not support the requested API version".
 *    So topics must be pre-created through `startMockKafkaCluster({ topics })`;
 *    `serviceMockTopics` gives the service's, from the plan `npm run topics` prints.
 *  - `allowAutoTopicCreation: false` is ignored: any Metadata request or send
 *    naming an unknown topic creates it with 4 partitions. Assert on topic names.
 *  - Group join timing is set by the mock's coordinator, not by kafkajs:
 *      * first join of an empty group: fixed 3 s (its initial rebalance delay),
 *        whatever sessionTimeout/rebalanceTimeout/heartbeatInterval are;
 *      * any later rebalance (a second member joins, or a new consumer joins a
 *        group whose previous member just left) waits sessionTimeout - 1 s:
 *        29 s with the kafkajs default sessionTimeout of 30 s, 5 s with 6 s;
 *      * sessionTimeout below ~3 s never joins (the member expires during the
 *        3 s first-join delay); 5 s measured slower (8 s) than 6 s for a second
 *        member; rebalanceTimeout is not used by the mock.
 *    Hence MOCK_CONSUMER_SETTINGS below (sessionTimeout 6 s, heartbeat 0.5 s).
 *  - The mock ends a group sync as soon as the leader's SyncGroup (carrying every
 *    member's assignment) arrives; a follower whose SyncGroup comes after it gets
 *    INVALID_REQUEST, and kafkajs crashes that consumer for good. The service's assigner
 *    (KafkaJsSingleActiveAssigner.ts) therefore lets followers sync first.
 *  - Silence kafkajs's partitioner warning with
 *    `createPartitioner: Partitioners.DefaultPartitioner`.
 *  - stop() takes 0-1 s (librdkafka's mock thread notices shutdown on a 1 s
 *    timer), so share one cluster per suite rather than per test.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdir, rename, rm, stat } from "node:fs/promises"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { ConfigProvider, Effect } from "effect"
import { reviewTopics } from "../../src/app/TopicSetup.ts"
import { AppSettings } from "../../src/config/AppConfig.ts"
import { KafkaSettings } from "../../src/config/KafkaConfig.ts"
import { applyRequestQueueFix } from "../../src/kernel/kafka/KafkaJsRequestQueue.ts"
import type { PlannedTopic } from "../../src/kernel/kafka/TopicSetup.ts"

const execFileAsync = promisify(execFile)

const supportDir = dirname(fileURLToPath(import.meta.url))
const launcherSource = join(supportDir, "mock-cluster", "launcher.c")
const launcherBinDir = join(supportDir, "mock-cluster", "bin")
const launcherBinary = join(launcherBinDir, "launcher")

const INSTALL_HINT = "install with: apt-get install -y librdkafka-dev pkg-config gcc"

export interface MockTopic {
  readonly name: string
  readonly partitions: number
}

export interface MockKafkaClusterOptions {
  readonly topics: ReadonlyArray<MockTopic>
  /** Number of brokers (ids 1..n); defaults to 1. */
  readonly brokers?: number
  /** How long to wait for the launcher to report its bootstrap list; default 15 s. */
  readonly startTimeoutMs?: number
}

export interface MockKafkaCluster {
  /** Comma-separated `host:port` list, ready for kafkajs `brokers` or kcat `-b`. */
  readonly bootstrap: string
  readonly brokers: ReadonlyArray<string>
  /** Whatever the launcher wrote to stderr so far (librdkafka warnings). */
  stderr(): string
  /** Stops the cluster and waits for the process to exit. Idempotent. */
  stop(): Promise<void>
  /**
   * Freezes every broker (SIGSTOP to the launcher): connections stay open and requests
   * go unanswered, as with a hung broker or a network partition. `thaw` resumes it.
   */
  freeze(): void
  thaw(): void
}

/**
 * kafkajs consumer settings for the mock (spread into `kafka.consumer({ groupId,
 * ...MOCK_CONSUMER_SETTINGS })`): first join ~3 s, later rebalances ~5 s instead
 * of ~29 s with the defaults. See the findings at the top of this file.
 */
export const MOCK_CONSUMER_SETTINGS = {
  sessionTimeout: 6_000,
  rebalanceTimeout: 10_000,
  heartbeatInterval: 500
} as const

let availability: { ok: true } | { ok: false; reason: string } | undefined

/**
 * Whether this machine can build and run the launcher: a C compiler (`cc`),
 * pkg-config and the librdkafka headers including `rdkafka_mock.h`.
 * Synchronous so suites can use it in `describe.skipIf`.
 */
export function mockClusterAvailable(): { ok: true } | { ok: false; reason: string } {
  if (availability !== undefined) return availability
  availability = probeToolchain()
  return availability
}

function probeToolchain(): { ok: true } | { ok: false; reason: string } {
  const cc = spawnSync("cc", ["--version"], { encoding: "utf8" })
  if (cc.error !== undefined || cc.status !== 0) {
    return { ok: false, reason: `mock Kafka cluster unavailable: no C compiler 'cc' on PATH; ${INSTALL_HINT}` }
  }
  const flags = pkgConfigFlags()
  if (!flags.ok) return flags
  // Preprocessing a one-line include proves the header is reachable with these flags.
  const probe = spawnSync("cc", ["-E", "-x", "c", "-", ...flags.cflags], {
    input: "#include <librdkafka/rdkafka.h>\n#include <librdkafka/rdkafka_mock.h>\n",
    encoding: "utf8"
  })
  if (probe.error !== undefined || probe.status !== 0) {
    return {
      ok: false,
      reason: `mock Kafka cluster unavailable: librdkafka/rdkafka_mock.h not usable (${errorLine(probe.stderr)}); ${INSTALL_HINT}`
    }
  }
  return { ok: true }
}

function pkgConfigFlags():
  | { ok: true; cflags: ReadonlyArray<string>; libs: ReadonlyArray<string> }
  | { ok: false; reason: string } {
  const cflags = spawnSync("pkg-config", ["--cflags", "rdkafka"], { encoding: "utf8" })
  const libs = spawnSync("pkg-config", ["--libs", "rdkafka"], { encoding: "utf8" })
  if (cflags.error !== undefined) {
    return { ok: false, reason: `mock Kafka cluster unavailable: pkg-config not on PATH; ${INSTALL_HINT}` }
  }
  if (cflags.status !== 0 || libs.status !== 0) {
    return {
      ok: false,
      reason: `mock Kafka cluster unavailable: pkg-config knows no 'rdkafka' (${firstLine(cflags.stderr)}); ${INSTALL_HINT}`
    }
  }
  return { ok: true, cflags: splitFlags(cflags.stdout), libs: splitFlags(libs.stdout) }
}

const splitFlags = (s: string): ReadonlyArray<string> => s.trim().split(/\s+/).filter((f) => f.length > 0)
const firstLine = (s: string | undefined): string => (s ?? "").trim().split("\n")[0] ?? ""
const errorLine = (s: string | undefined): string =>
  (s ?? "").split("\n").find((line) => line.includes("error")) ?? firstLine(s)

let launcherReady: Promise<string> | undefined

/** Builds the launcher if missing or older than its source; once per process. */
function ensureLauncher(): Promise<string> {
  launcherReady ??= buildLauncher().catch((error: unknown) => {
    launcherReady = undefined // let a later call retry, e.g. after installing packages
    throw error
  })
  return launcherReady
}

async function buildLauncher(): Promise<string> {
  const [src, bin] = await Promise.all([stat(launcherSource), stat(launcherBinary).catch(() => undefined)])
  if (bin !== undefined && bin.mtimeMs >= src.mtimeMs) return launcherBinary

  const available = mockClusterAvailable()
  if (!available.ok) throw new Error(available.reason)
  const flags = pkgConfigFlags()
  if (!flags.ok) throw new Error(flags.reason)

  await mkdir(launcherBinDir, { recursive: true })
  // Vitest workers may race here: each compiles to its own file and renames it
  // into place. rename() is atomic, so nobody ever executes a half-written binary.
  const tmp = join(launcherBinDir, `launcher.${process.pid}.${randomBytes(4).toString("hex")}.tmp`)
  try {
    await execFileAsync("cc", ["-O2", "-Wall", "-o", tmp, launcherSource, ...flags.cflags, ...flags.libs])
    await rename(tmp, launcherBinary)
  } catch (error) {
    await rm(tmp, { force: true })
    const stderr = (error as { stderr?: string }).stderr ?? ""
    throw new Error(`compiling ${launcherSource} failed: ${String(error)}\n${stderr}`)
  }
  return launcherBinary
}

const live = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // Backstop for tests that forget stop(): the launcher also exits when its stdin
  // closes, but a synchronous kill on exit makes that immediate.
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL")
  })
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/

/**
 * The service's topics under the settings `env` (what `npm run topics` lists, from the
 * same plan), for `startMockKafkaCluster({ topics })`: the partitions the plan fixes, else
 * `partitionsOf(topic)` (inputs, and own topics without TOPIC_PARTITIONS). Topic configs
 * are not applied: the mock has no compaction or retention.
 */
export const serviceMockTopics = async (
  env: Readonly<Record<string, string>>,
  partitionsOf: (topic: PlannedTopic) => number
): Promise<ReadonlyArray<MockTopic>> => {
  const settings = Effect.gen(function*() { return [yield* AppSettings, yield* KafkaSettings] as const }).pipe(
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env))
  )
  const [app, kafka] = await Effect.runPromise(settings)
  return reviewTopics(app, kafka).map((t) => ({ name: t.topic, partitions: t.partitions ?? partitionsOf(t) }))
}

/**
 * Starts a mock cluster with the given topics pre-created (the mock cannot
 * create topics through the admin API). Resolves once the brokers listen.
 */
export async function startMockKafkaCluster(options: MockKafkaClusterOptions): Promise<MockKafkaCluster> {
  // The tests' own kafkajs clients run with the service's fix too (no 1 ms timer per connection).
  applyRequestQueueFix()
  const brokerCount = options.brokers ?? 1
  if (!Number.isInteger(brokerCount) || brokerCount < 1) {
    throw new Error(`brokers must be a positive integer, got ${brokerCount}`)
  }
  for (const topic of options.topics) {
    if (!TOPIC_NAME.test(topic.name)) throw new Error(`invalid topic name '${topic.name}'`)
    if (!Number.isInteger(topic.partitions) || topic.partitions < 1) {
      throw new Error(`topic '${topic.name}': partitions must be a positive integer, got ${topic.partitions}`)
    }
  }

  const binary = await ensureLauncher()
  const args = [String(brokerCount), ...options.topics.map((t) => `${t.name}:${t.partitions}`)]
  const child = spawn(binary, args, { stdio: ["pipe", "pipe", "pipe"] })
  live.add(child)
  installExitHook()

  let stderr = ""
  child.stderr.setEncoding("utf8")
  child.stderr.on("data", (chunk: string) => {
    // Bounded: librdkafka can log a lot if a client misbehaves for a long test.
    stderr = (stderr + chunk).slice(-64 * 1024)
  })
  // Our stdin is the launcher's lifeline; an EPIPE on it just means it already exited.
  child.stdin.on("error", () => {})

  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      live.delete(child)
      resolve()
    })
  })

  const timeoutMs = options.startTimeoutMs ?? 15_000
  const bootstrap = await new Promise<string>((resolve, reject) => {
    let stdout = ""
    let settled = false
    const fail = (why: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill("SIGKILL")
      reject(
        new Error(
          `mock Kafka cluster failed to start (${why}); command: ${binary} ${args.join(" ")}\n` +
            `stderr:\n${stderr.trim() || "(empty)"}`
        )
      )
    }
    const timer = setTimeout(() => fail(`no BOOTSTRAP line within ${timeoutMs} ms`), timeoutMs)
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk
      const match = /^BOOTSTRAP (\S+)$/m.exec(stdout)
      if (match?.[1] !== undefined && !settled) {
        settled = true
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.once("error", (error) => fail(`spawn error: ${error.message}`))
    // "close", not "exit": it fires after stderr is drained, so the error has it all.
    child.once("close", (code, signal) => fail(`launcher exited early with code ${code} signal ${signal}`))
  })

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // A frozen launcher would not notice its stdin closing.
        child.kill("SIGCONT")
        // EOF on stdin is the launcher's normal shutdown path; SIGKILL only if it hangs.
        child.stdin.end()
        const killer = setTimeout(() => child.kill("SIGKILL"), 5_000)
        await exited
        clearTimeout(killer)
      }
    })()
    return stopping
  }

  return {
    bootstrap,
    brokers: bootstrap.split(","),
    stderr: () => stderr,
    stop,
    freeze: () => void child.kill("SIGSTOP"),
    thaw: () => void child.kill("SIGCONT")
  }
}

/**
 * Whether a missing mock toolchain must fail the wire suites instead of skipping them:
 * when REQUIRE_WIRE_TESTS (set by .ci/run) or CI is set to anything but "", "0", "false".
 */
export const wireTestsRequired = (): boolean =>
  ["REQUIRE_WIRE_TESTS", "CI"].some((name) => !["", "0", "false"].includes((process.env[name] ?? "").trim().toLowerCase()))
