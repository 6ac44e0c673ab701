/**
 * Runs one case on one path in a fresh Node process (its memory figures its own, no JIT or
 * heap left over from another case) and reads the RunResult it prints.
 */
import { spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { CaseName, ModeName, PathName } from "./BenchArgs.ts"
import type { RunResult } from "./RunResult.ts"

const benchDir = dirname(fileURLToPath(import.meta.url))

const entries: Readonly<Record<PathName, { readonly module: string; readonly flags: ReadonlyArray<string> }>> = {
  inprocess: { module: "RunInProcess.ts", flags: ["--expose-gc"] },
  wire: { module: "RunWire.ts", flags: [] }
}

/** Runs a script of bench/ in a fresh Node process and reads the JSON document it prints last. */
export const runScript = <T>(module: string, flags: ReadonlyArray<string>, args: ReadonlyArray<string>, what: string): Promise<T> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, "--import", "tsx", join(benchDir, module), ...args], {
      cwd: join(benchDir, ".."),
      // Its progress and errors go straight to ours; its stdout is the result.
      stdio: ["ignore", "pipe", "inherit"]
    })
    let stdout = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => void (stdout += chunk))
    child.once("error", reject)
    child.once("close", (code, signal) => {
      const last = stdout.trim().split("\n").at(-1) ?? ""
      if (code !== 0 || last === "") {
        reject(new Error(`${what} failed: exit code ${code}, signal ${signal} (its messages are above)`))
        return
      }
      try {
        resolve(JSON.parse(last) as T)
      } catch (error) {
        reject(new Error(`${what} printed no result: ${String(error)}\n${stdout.slice(-2_000)}`))
      }
    })
  })

export const runChild = (path: PathName, name: CaseName, reviews: number, mode: ModeName): Promise<RunResult> =>
  runScript<RunResult>(
    entries[path].module,
    entries[path].flags,
    [name, String(reviews), ...(path === "wire" ? [mode] : [])],
    `the ${path} run of ${name} (${reviews} reviews${path === "wire" ? `, ${mode}` : ""})`
  )
