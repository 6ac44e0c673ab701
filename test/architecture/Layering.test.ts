/** STYLE: the kernel never imports the review domain (or anything else above it). */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const kernel = join(root, "src/kernel")

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [])

const relativeImports = (file: string): Array<string> =>
  [...readFileSync(file, "utf8").matchAll(/(?:import|export)[^"']*from\s+["'](\.[^"']+)["']/g)].map((m) => m[1]!)

describe("module layering", () => {
  it("keeps every relative import of src/kernel inside src/kernel", () => {
    const files = filesUnder(kernel)
    expect(files.length).toBeGreaterThan(10)
    const escapes = files.flatMap((file) =>
      relativeImports(file)
        .map((spec) => resolve(dirname(file), spec))
        .filter((target) => relative(kernel, target).startsWith(".."))
        .map((target) => `${relative(root, file)} imports ${relative(root, target)}`))
    expect(escapes).toEqual([])
  })
})

describe("kernel vocabulary", () => {
  it("names nothing in src/kernel after the review domain (service tags, exports)", () => {
    const offenders = filesUnder(kernel).flatMap((file) =>
      readFileSync(file, "utf8").split("\n").flatMap((line, i) =>
        // Comments may give the review service as an example; code may not name it.
        /^\s*(\*|\/\/|\/\*)/.test(line) || !/review/i.test(line) ? [] : [`${relative(root, file)}:${i + 1}: ${line.trim()}`]))
    expect(offenders).toEqual([])
  })
})

describe("examples", () => {
  it("use the kernel through its public entry point only", () => {
    const examples = join(root, "examples")
    const entry = join(kernel, "index.ts")
    const outside = filesUnder(examples).flatMap((file) =>
      relativeImports(file)
        .map((spec) => resolve(dirname(file), spec))
        .filter((target) => relative(examples, target).startsWith("..") && target !== entry)
        .map((target) => `${relative(root, file)} imports ${relative(root, target)}`))
    expect(outside).toEqual([])
  })
})
