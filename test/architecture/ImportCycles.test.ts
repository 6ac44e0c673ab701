/**
 * No import cycles: the relative-import graph of src/ (and examples/ when present),
 * type-only imports included, must be acyclic, so every module can be read, tested and
 * moved without dragging in the modules that use it.
 */
import { describe, expect, it } from "@effect/vitest"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

type Graph = ReadonlyMap<string, ReadonlyArray<string>>

/**
 * One cycle per strongly connected component that has one (Tarjan), each written as
 * the path that closes it: `a -> b -> a`, followed by the other modules of that tangle
 * if there are more. Sorted, so a failure reads the same every run.
 */
const findCycles = (graph: Graph): Array<string> => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const components: Array<Set<string>> = []
  let next = 0
  const connect = (node: string): void => {
    index.set(node, next)
    low.set(node, next)
    next++
    stack.push(node)
    onStack.add(node)
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        connect(to)
        low.set(node, Math.min(low.get(node)!, low.get(to)!))
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!))
      }
    }
    if (low.get(node) !== index.get(node)) return
    const component = new Set<string>()
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.add(member)
    } while (member !== node)
    components.push(component)
  }
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) connect(node)

  const cycleIn = (component: Set<string>): string | undefined => {
    const start = [...component].sort()[0]!
    // Breadth-first inside the component: the shortest way from `start` back to itself.
    const previous = new Map<string, string>()
    const queue = [start]
    while (queue.length > 0) {
      const node = queue.shift()!
      for (const to of graph.get(node) ?? []) {
        if (!component.has(to)) continue
        if (to === start) {
          const path = [start]
          for (let at = node; at !== start; at = previous.get(at)!) path.splice(1, 0, at)
          const others = [...component].filter((m) => !path.includes(m)).sort()
          return [...path, start].join(" -> ") + (others.length > 0 ? ` (tangled with ${others.join(", ")})` : "")
        }
        if (!previous.has(to)) {
          previous.set(to, node)
          queue.push(to)
        }
      }
    }
    return undefined
  }
  return components.flatMap((c) => cycleIn(c) ?? []).sort()
}

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|tsx|mts)$/.test(e.name) ? [join(dir, e.name)] : [])

/** Static imports and re-exports (type-only ones too), side-effect imports and dynamic `import("./x")`. */
const relativeSpecifiers = (source: string): Array<string> =>
  [...source.matchAll(/(?:\bimport|\bexport)\s[^"'`;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']|\bimport\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)]
    .map((m) => (m[1] ?? m[2])!)

const importGraph = (dirs: ReadonlyArray<string>): Graph => {
  const files = dirs.filter((d) => existsSync(d)).flatMap(sourceFiles)
  const known = new Set(files)
  return new Map(files.map((file) => [
    relative(root, file),
    relativeSpecifiers(readFileSync(file, "utf8"))
      .map((spec) => resolve(dirname(file), spec))
      .filter((target) => known.has(target))
      .map((target) => relative(root, target))
  ]))
}

describe("import cycles", () => {
  it("the cycle finder names every cycle of a small graph and accepts an acyclic one", () => {
    const cyclic: Graph = new Map([
      ["Adapter.ts", ["Consumer.ts", "Port.ts"]],
      ["Consumer.ts", ["Settings.ts", "Adapter.ts"]],
      ["Settings.ts", []],
      ["Port.ts", []],
      ["Self.ts", ["Self.ts"]],
      ["A.ts", ["B.ts"]],
      ["B.ts", ["C.ts"]],
      ["C.ts", ["A.ts", "Port.ts", "D.ts"]],
      ["D.ts", ["B.ts"]]
    ])
    expect(findCycles(cyclic)).toEqual([
      "A.ts -> B.ts -> C.ts -> A.ts (tangled with D.ts)",
      "Adapter.ts -> Consumer.ts -> Adapter.ts",
      "Self.ts -> Self.ts"
    ])
    const acyclic: Graph = new Map([
      ["Adapter.ts", ["Consumer.ts", "Port.ts", "Settings.ts"]],
      ["Consumer.ts", ["Settings.ts", "Port.ts"]],
      ["Settings.ts", []],
      ["Port.ts", []]
    ])
    expect(findCycles(acyclic)).toEqual([])
  })

  it("reads type-only, multi-line, re-export, side-effect and dynamic imports", () => {
    const source = [
      `import type { A } from "./A.ts"`,
      `import {\n  B,\n  type C\n} from "../B.ts"`,
      `export { D } from "./D.ts"`,
      `export * from "./E.ts"`,
      `import "./F.ts"`,
      `const g = await import("./G.ts")`,
      `import { Effect } from "effect"`,
      `// a path in a comment "./H.ts" is not an import`
    ].join("\n")
    expect(relativeSpecifiers(source)).toEqual(["./A.ts", "../B.ts", "./D.ts", "./E.ts", "./F.ts", "./G.ts"])
  })

  it("finds no cycle among the modules of src/ and examples/", () => {
    const graph = importGraph([join(root, "src"), join(root, "examples")])
    expect(graph.size, "modules found under src/").toBeGreaterThan(30)
    expect(findCycles(graph), "import cycles (break each by moving what both sides share into its own module)").toEqual([])
  })
})
