/**
 * The service as the image runs it: a temporary directory filled as the Dockerfile's final
 * stage fills the image's /app (`npm run build`'s script compiling src/ into its dist/, the
 * production dependencies, the files copied from the checkout), and the Dockerfile's CMD
 * run there. Tests and the wire bench build their own copy rather than use the checkout's
 * dist/, which may be older than the sources.
 */
import { execFileSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

export interface DockerStage {
  readonly name: string | undefined
  readonly runs: ReadonlyArray<string>
  /** Each COPY's stage (undefined: the build context), sources and destination. */
  readonly copies: ReadonlyArray<{ readonly from: string | undefined; readonly sources: ReadonlyArray<string>; readonly to: string }>
}

/** The Dockerfile's stages in order, with their RUN and COPY instructions (one line each). */
export const dockerStages = (): ReadonlyArray<DockerStage> =>
  readFileSync(join(repoRoot, "Dockerfile"), "utf8").split(/^(?=FROM )/m).filter((s) => s.startsWith("FROM ")).map((text) => {
    const lines = text.split("\n")
    return {
      name: /^FROM \S+(?: AS (\S+))?/.exec(lines[0]!)?.[1],
      runs: lines.filter((l) => l.startsWith("RUN ")).map((l) => l.slice("RUN ".length)),
      copies: lines.filter((l) => l.startsWith("COPY ")).map((l) => {
        const words = l.trim().split(/\s+/).slice(1)
        const from = words[0]?.startsWith("--from=") ? words.shift()!.slice("--from=".length) : undefined
        return { from, sources: words.slice(0, -1), to: words.at(-1)! }
      })
    }
  })

/** The Dockerfile's exec-form CMD. */
export const imageCommand = (): ReadonlyArray<string> => {
  const cmd = /^CMD (\[.*\])\s*$/m.exec(readFileSync(join(repoRoot, "Dockerfile"), "utf8"))?.[1]
  if (cmd === undefined) throw new Error("the Dockerfile has no exec-form CMD")
  return JSON.parse(cmd) as Array<string>
}

/** package.json's production dependencies: what `npm ci --omit=dev` puts in the image. */
export const productionDependencies = (): ReadonlyArray<string> =>
  Object.keys(JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).dependencies ?? {})

export interface CompiledService {
  /** Stands in for the image's /app (its WORKDIR). */
  readonly dir: string
  /** The CMD after `node`, as written: run from `dir`. */
  readonly args: ReadonlyArray<string>
  /** node's options in the CMD, without the script. */
  readonly nodeOptions: ReadonlyArray<string>
  /** The CMD's script, an absolute path: runs from any directory. */
  readonly script: string
  readonly remove: () => void
}

/**
 * Stands in for each COPY of the Dockerfile's final stage; one it does not know fails. The
 * node_modules holds only the production dependencies (links to the checkout's), so an
 * import of a development dependency fails here as it would in the image; theirs resolve
 * from the checkout's node_modules, where `npm ci --omit=dev` would install them too.
 */
const fill = (dir: string) => {
  for (const copy of dockerStages().at(-1)?.copies ?? []) {
    const to = join(dir, copy.to)
    const what = `COPY ${copy.from === undefined ? "" : `--from=${copy.from} `}${copy.sources.join(" ")} ${copy.to}`
    if (copy.from === "build" && copy.sources.join(" ") === "/app/dist") {
      // The build stage runs `npm run build` in /app.
      execFileSync(process.execPath, [join(repoRoot, "scripts", "build.mjs"), to], { cwd: repoRoot, stdio: "pipe" })
    } else if (copy.from === "deps" && copy.sources.join(" ") === "/app/node_modules") {
      for (const name of productionDependencies()) {
        mkdirSync(dirname(join(to, name)), { recursive: true })
        symlinkSync(join(repoRoot, "node_modules", name), join(to, name), "dir")
      }
    } else if (copy.from === undefined) {
      for (const source of copy.sources) {
        const from = join(repoRoot, source)
        // As COPY does: a directory's contents go to the destination, a file into it if it ends with a slash.
        const target = statSync(from).isDirectory() || !/\/$/.test(copy.to) ? to : join(to, basename(source))
        mkdirSync(dirname(target), { recursive: true })
        cpSync(from, target, { recursive: true })
      }
    } else {
      throw new Error(`test/support/CompiledService.ts has no stand-in for the Dockerfile's ${what}`)
    }
  }
}

/** Builds the service into a fresh directory laid out as the image's /app. */
export const buildCompiledService = (): CompiledService => {
  const [node, ...args] = imageCommand()
  const relativeScript = args.at(-1)
  if (node !== "node" || relativeScript === undefined || !args.slice(0, -1).every((a) => a.startsWith("-"))) {
    throw new Error(`the Dockerfile's CMD is not ["node", ...options, script]: ${JSON.stringify([node, ...args])}`)
  }
  const dir = mkdtempSync(join(tmpdir(), "review-aggregator-image-"))
  try {
    fill(dir)
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    const stderr = (error as { stderr?: Buffer }).stderr?.toString("utf8") ?? ""
    throw new Error(`building the service as the image holds it failed: ${error instanceof Error ? error.message : String(error)}\n${stderr}`)
  }
  return {
    dir,
    args,
    nodeOptions: args.slice(0, -1),
    script: join(dir, relativeScript),
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}
