/**
 * Every command in the README's ```sh blocks works as written on a clone of the repository:
 * each is either run here, exactly as printed, or listed with the reason it cannot run in a
 * test. A command added to the README that is in neither list fails the test.
 */
import { spawn } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"
import { delimiter, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it, onTestFinished } from "vitest"
import { loadExpected } from "../support/Samples.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

interface ReadmeCommand {
  /** The text as printed, continuation lines and all, less a trailing comment: what sh runs. */
  readonly text: string
  /** The same on one line with single spaces: how the lists below name it. */
  readonly key: string
}

/** The commands of the README's ```sh blocks. */
const readmeCommands = (markdown: string): ReadonlyArray<ReadmeCommand> =>
  [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((block) =>
    block[1]!
      .split(/(?<!\\)\n/)
      .map((text) => text.replace(/\s+#.*$/, "").trim())
      .filter((text) => text !== "" && !text.startsWith("#"))
      .map((text) => ({ text, key: text.replace(/\\\n/g, " ").replace(/\s+/g, " ") }))
  )

/** Commands this test cannot run, each with the reason. */
const notRun: Readonly<Record<string, string>> = {
  "npm ci": "installs the dependencies this test runs on; .ci/run runs it before the suite",
  "npm test": "runs the suite this test belongs to",
  "BOOTSTRAP_SERVERS=broker:9092 bin/review-aggregator-dist":
    "needs a Kafka broker named broker; test/deploy/CompiledBundle.test.ts runs the same command on the same build, as the image lays it out",
  "BOOTSTRAP_SERVERS=broker:9092 bin/review-aggregator": "needs a Kafka broker named broker; test/docs/StartCommand.test.ts runs the same command",
  "BOOTSTRAP_SERVERS=reviews-kafka-bootstrap.kafka.svc:9093 KAFKA_SSL_CA_FILE=/etc/kafka-ca/ca.crt KAFKA_SASL_MECHANISM=scram-sha-512 KAFKA_SASL_USERNAME=review-aggregator KAFKA_SASL_PASSWORD=... bin/review-aggregator-dist":
    "needs a Strimzi cluster with TLS and SCRAM credentials"
}

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `command` with sh from the repository root, as a user would type it, in a process
 * group of its own so that the whole group (sh, npm, node) is ended if the test is.
 */
const sh = (command: string): Promise<Ran> =>
  new Promise((resolveRun, reject) => {
    const child = spawn("sh", ["-c", command], {
      cwd: repoRoot,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      // The Node running the tests is the one npm and the scripts find first.
      env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}` }
    })
    let finished = false
    onTestFinished(() => {
      if (finished || child.pid === undefined) return
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {
        // The group ended between the check and the kill.
      }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.once("error", reject)
    child.once("close", (code) => {
      finished = true
      resolveRun({ code, stdout, stderr })
    })
  })

const outcomeOf = (terminal: { readonly step: string; readonly status: string }) =>
  terminal.status === "done" ? "done" : `${terminal.step} ${terminal.status}`

/** Commands run here, each with what its output must show besides exit status 0. */
const runs: Readonly<Record<string, { readonly before?: () => void; readonly check: (ran: Ran) => void }>> = {
  "npm run build": {
    before: () => rmSync(join(repoRoot, "dist"), { recursive: true, force: true }),
    check: () => {
      for (const file of ["main.js", "main.js.map"]) expect(existsSync(join(repoRoot, "dist", file)), `dist/${file} written`).toBe(true)
    }
  },
  "npm run demo": {
    check: (ran) => expect(ran.stdout).toContain("every outcome and count is what the generator planted")
  },
  "TIMEOUT_MS=3000 WINDOW_INACTIVITY_MS=1000 npm run replay -- --transform test/fixtures/sample/transform.ndjson --analysis test/fixtures/sample/analysis.ndjson --control test/fixtures/sample/control.ndjson --out out/replay":
    {
      before: () => rmSync(join(repoRoot, "out", "replay"), { recursive: true, force: true }),
      check: (ran) => {
        const table = ran.stdout.split("\n")
        for (const [jobId, job] of Object.entries(loadExpected().jobs)) {
          const row = table.find((line) => line.startsWith(`${jobId} `))
          expect(row, `no line for ${jobId} in the replay's table`).toBeDefined()
          expect(row!.replace(/\s+/g, " "), `outcome of ${jobId}`).toMatch(new RegExp(` ${outcomeOf(job.terminal)}(:|$)`))
        }
        for (const topic of ["review-rows", "review-agg-by-job", "job-control-topic", "review-dlq"]) {
          expect(existsSync(join(repoRoot, "out", "replay", `${topic}.ndjson`)), `out/replay/${topic}.ndjson written`).toBe(true)
        }
      }
    },
  "npm run bench -- 20000": {
    check: (ran) => {
      expect(ran.stdout).toMatch(/^reviews\s+20,000$/m)
      expect(ran.stdout).toMatch(/^outcome\s+aggregation\/done$/m)
    }
  }
}

describe("README commands", () => {
  const commands = readmeCommands(readFileSync(join(repoRoot, "README.md"), "utf8"))

  it("are each either run by this test or listed with a reason they are not", () => {
    expect(commands.length, "no ```sh commands found in README.md").toBeGreaterThan(0)
    const uncovered = commands.filter((c) => !(c.key in runs) && !(c.key in notRun)).map((c) => c.key)
    expect(uncovered, "README commands this test neither runs nor lists in notRun").toEqual([])
    const stale = [...Object.keys(runs), ...Object.keys(notRun)].filter((key) => !commands.some((c) => c.key === key))
    expect(stale, "commands listed here that the README no longer shows").toEqual([])
  })

  for (const [key, { before, check }] of Object.entries(runs)) {
    it(`run as written: ${key.length > 60 ? `${key.slice(0, 57)}...` : key}`, async () => {
      const command = commands.find((c) => c.key === key)
      if (command === undefined) return expect.fail(`the README no longer shows: ${key}`)
      before?.()
      const ran = await sh(command.text)
      expect(ran.code, `exit status of\n  ${command.text}\nstdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`).toBe(0)
      check(ran)
    }, 120_000)
  }
})
