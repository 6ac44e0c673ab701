/**
 * Runs `npm run topics`'s program (src/bin/topics.ts) as a child process with exactly the
 * given environment, and parses its lines `NAME PARTITIONS key=value ...`.
 */
import { spawnSync } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

export interface TopicsRun {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface ListedTopic {
  readonly name: string
  /** Undefined where the command prints `-`. */
  readonly partitions: number | undefined
  readonly config: Readonly<Record<string, string>>
}

/** The command under `env` alone (no variable of the test process leaks in). */
export const runTopics = (env: Readonly<Record<string, string>>): TopicsRun => {
  const run = spawnSync(process.execPath, ["--import", "tsx", "src/bin/topics.ts"], {
    cwd: root,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    timeout: 60_000
  })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

export const parseTopicLines = (stdout: string): ReadonlyArray<ListedTopic> =>
  stdout.split("\n").filter((line) => line !== "").map((line) => {
    const [name, partitions, ...configs] = line.split(" ")
    if (name === undefined || partitions === undefined || !/^(-|[1-9]\d*)$/.test(partitions)) throw new Error(`not a topic line: '${line}'`)
    return {
      name,
      partitions: partitions === "-" ? undefined : Number(partitions),
      config: Object.fromEntries(configs.map((c) => {
        const at = c.indexOf("=")
        if (at <= 0) throw new Error(`not a key=value config in '${line}': '${c}'`)
        return [c.slice(0, at), c.slice(at + 1)]
      }))
    }
  })

/** The command's topics under `env`; fails with its stderr when it exits non-zero. */
export const listTopics = (env: Readonly<Record<string, string>>): ReadonlyArray<ListedTopic> => {
  const run = runTopics(env)
  if (run.status !== 0) throw new Error(`npm run topics exited ${run.status}:\n${run.stderr}`)
  return parseTopicLines(run.stdout)
}
