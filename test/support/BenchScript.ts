/** Runs one of the bench's scripts (`bench/<script>`) under tsx, as its docs give the command, and collects what it printed. */
import { execFile } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

export interface ScriptRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export const runBenchScript = (script: string, args: ReadonlyArray<string>, timeoutMs: number): Promise<ScriptRun> =>
  new Promise((done) => {
    execFile(process.execPath, ["--import", "tsx", `bench/${script}`, ...args], { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 2 ** 20 }, (error, stdout, stderr) =>
      done({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })
