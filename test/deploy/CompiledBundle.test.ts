/**
 * What the image runs: `npm run build` compiles src/ into dist/main.js, the image holds
 * that, its launcher, package.json and the production dependencies, and its CMD runs the
 * launcher in node itself. The service is built here into a temporary directory laid out
 * as the image's /app (test/support/CompiledService.ts) and run there with the CMD as written.
 */
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import * as NodeModule from "node:module"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { buildCompiledService, type CompiledService, dockerStages, imageCommand, productionDependencies } from "../support/CompiledService.ts"
import { freePort, killServices, startService } from "../support/ServiceProcess.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"))

/** The specifiers the bundle imports, statically or dynamically. */
const importsOf = (bundle: string): ReadonlyArray<string> => [
  ...new Set(
    [...bundle.matchAll(/^\s*(?:import|export)\b[^;"']*?\bfrom\s*"([^"]+)"|^\s*import\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm)]
      .map((m) => m[1] ?? m[2] ?? m[3]!)
  )
]
const packageOf = (specifier: string) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/")

let compiled: CompiledService
let scratch: string
beforeAll(() => {
  compiled = buildCompiledService()
  scratch = mkdtempSync(join(tmpdir(), "compiled-test-"))
})
afterAll(() => {
  compiled?.remove()
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true })
})
afterEach(killServices)

describe("the compiled service", () => {
  it("is what `npm run build` writes, with a source map naming the src/ files", () => {
    // test/support/CompiledService.ts builds with this script, into a directory of its own.
    expect(pkg.scripts.build).toBe("node scripts/build.mjs")
    const dist = join(compiled.dir, "dist")
    expect(readdirSync(dist).sort()).toEqual(["main.js", "main.js.map"])
    expect(readFileSync(join(dist, "main.js"), "utf8").trimEnd().split("\n").at(-1)).toBe("//# sourceMappingURL=main.js.map")
    const map = JSON.parse(readFileSync(join(dist, "main.js.map"), "utf8")) as { sources: Array<string> }
    const sources = map.sources.map((s) => resolve(dist, s))
    expect(sources).toContain(join(repoRoot, "src", "main.ts"))
    // package.json: src/observability/ServiceResource.ts reports its version.
    const outside = sources.filter((s) => !s.startsWith(join(repoRoot, "src") + "/") && s !== join(repoRoot, "package.json"))
    expect(outside, "compiled in from outside src/").toEqual([])
  })

  it("imports nothing but node's modules and the production dependencies", () => {
    const bundle = readFileSync(join(compiled.dir, "dist", "main.js"), "utf8")
    const imports = importsOf(bundle)
    expect(imports, "kafkajs and effect are imported, not compiled in").toEqual(expect.arrayContaining(["kafkajs", "effect"]))
    const production = new Set(productionDependencies())
    const builtins = new Set(NodeModule.builtinModules)
    const strays = imports.filter((i) => !(i.startsWith("node:") ? builtins.has(i.slice("node:".length)) : production.has(packageOf(i))))
    expect(strays, "imports the image's node_modules (npm ci --omit=dev) does not have").toEqual([])
    // esbuild turns a require() of a dependency into a call that throws in an ES module.
    expect(bundle).not.toContain("__require(")
    expect(production.has("tsx"), "tsx runs the sources in development; the image does not need it").toBe(false)
  })

  it("is built in the image's build stage and is, with its launcher, package.json and the production dependencies, all the image holds", () => {
    const stages = dockerStages()
    const byName = new Map(stages.map((s) => [s.name, s]))
    const build = byName.get("build")
    expect(build?.runs, "the build stage compiles").toContain("npm run build")
    expect(build?.copies.flatMap((c) => c.sources), "with the build script, the sources and tsconfig.json").toEqual(
      expect.arrayContaining(["scripts", "src", "tsconfig.json"])
    )
    expect(byName.get("deps")?.runs.some((r) => /^npm ci --omit=dev\b/.test(r)), "deps installs the production dependencies only").toBe(true)
    expect(stages.at(-1)!.copies.map((c) => `${c.from ?? "context"}: ${c.sources.join(" ")} -> ${c.to}`)).toEqual([
      "deps: /app/node_modules -> ./node_modules",
      "context: package.json -> ./",
      "build: /app/dist -> ./dist",
      "context: bin/review-aggregator-dist -> ./bin/"
    ])
    expect(imageCommand(), "node runs the launcher itself (exec form)").toEqual(["node", "bin/review-aggregator-dist"])
    // The README runs it as a command too.
    expect(() => accessSync(join(repoRoot, "bin", "review-aggregator-dist"), constants.X_OK), "executable").not.toThrow()
  })

  it.each([
    ["abc", "TIMEOUT_MS"],
    ["", "TIMEOUT_MS: the variable is set but empty"]
  ])("stops with exit 1 naming the variable when a setting is invalid (TIMEOUT_MS=%j)", async (value, message) => {
    const refused = await startService({ TIMEOUT_MS: value }, compiled)
    const exit = await refused.exited
    expect(exit, `exit; output:\n${refused.output()}`).toEqual({ code: 1, signal: null })
    expect(refused.output()).toContain(message)
  })

  it("answers /healthz with no broker to reach, stops with exit 0 on SIGTERM and writes no file meanwhile", async () => {
    const tmp = mkdtempSync(join(scratch, "tmp-"))
    const brokerPort = await freePort()
    const service = await startService({ BOOTSTRAP_SERVERS: `127.0.0.1:${brokerPort}`, KAFKA_LOG_LEVEL: "nothing", TMPDIR: tmp }, compiled)
    await service.waitUntilHealthy(30_000)
    expect((await service.get("/readyz")).status, "not ready without a broker").toBe(503)
    const { exit } = await service.stop("SIGTERM", 30_000)
    expect(exit, `exit after SIGTERM; output:\n${service.output()}`).toEqual({ code: 0, signal: null })
    // k8s/ mounts /tmp writable beside a read-only root filesystem: tsx kept its compile cache there.
    expect(readdirSync(tmp), "files written to TMPDIR").toEqual([])
    expect(readdirSync(compiled.dir).sort(), "files written to the working directory").toEqual(["bin", "dist", "node_modules", "package.json"])
  }, 60_000)

  it("has the bundle's source map loaded for stack traces, and from Node 22.14 no dependency's", async () => {
    // Loaded first (NODE_OPTIONS), it reports at exit which source maps node holds.
    const probe = join(scratch, "source-map-probe.mjs")
    writeFileSync(probe, [
      `import { findSourceMap } from "node:module"`,
      `import { writeSync } from "node:fs"`,
      `const sources = (file) => findSourceMap(file)?.payload.sources ?? null`,
      `process.once("exit", () => writeSync(1, "source maps: " + JSON.stringify({ bundle: sources(process.env.PROBE_BUNDLE), dependency: sources(process.env.PROBE_DEPENDENCY) }) + "\\n"))`
    ].join("\n"))
    const bundle = join(compiled.dir, "dist", "main.js")
    // effect ships a source map for each of its modules; the bundle imports its index.
    const dependency = realpathSync(join(compiled.dir, "node_modules", "effect", "dist", "index.js"))
    expect(readFileSync(dependency, "utf8")).toContain("//# sourceMappingURL=")
    const run = await startService({
      TIMEOUT_MS: "abc",
      NODE_OPTIONS: `--import=${pathToFileURL(probe).href}`,
      PROBE_BUNDLE: bundle,
      PROBE_DEPENDENCY: dependency
    }, compiled)
    await run.exited
    const line = run.lines().find((l) => l.startsWith("source maps: "))
    expect(line, `the probe's report; output:\n${run.output()}`).toBeDefined()
    const held = JSON.parse(line!.slice("source maps: ".length)) as { bundle: Array<string> | null; dependency: Array<string> | null }
    // node holds the sources as URLs resolved against the map's.
    expect(held.bundle?.map((s) => fileURLToPath(s)), "the bundle's map").toContain(join(repoRoot, "src", "main.ts"))
    // Node 20 can only turn source maps on for every module (bin/review-aggregator-dist).
    if ("setSourceMapsSupport" in NodeModule) expect(held.dependency, "a dependency's map (about 30 MiB for all of them)").toBeNull()
  })
})
