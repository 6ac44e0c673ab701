// `npm run build`: compiles the service (src/main.ts) ahead of time into one ES module,
// dist/main.js, and its source map; the image runs it with bin/review-aggregator-dist. Run
// from the TypeScript sources instead, the service loads tsx and compiles every module at
// start-up, and holds about 50 MiB more RSS for as long as it runs (docs/performance.md,
// "Start-up and idle memory").
//
//   node scripts/build.mjs [outdir]    (default: dist; the tests build into a temporary one)
//
// Plain JavaScript, so that running it needs no TypeScript loader.
import { build } from "esbuild"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const outdir = resolve(process.argv[2] ?? join(root, "dist"))

await build({
  // Resolves from the repository wherever it is run from, with its tsconfig.json.
  absWorkingDir: root,
  entryPoints: ["src/main.ts"],
  outfile: join(outdir, "main.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  // The oldest Node package.json's engines allow.
  target: "node20",
  // Only src/ (and package.json, for the version) is compiled in: the dependencies stay
  // imports, resolved from node_modules, in the image from the production dependencies alone
  // (test/deploy/CompiledBundle.test.ts checks that the bundle imports nothing else).
  packages: "external",
  // Stack traces name the src/*.ts lines. The map leaves out the sources' text, which a
  // stack trace does not use: 190 kB instead of 630, about 5 MiB less RSS.
  sourcemap: true,
  sourcesContent: false,
  logLevel: "warning"
})
