/**
 * The architecture's dependency rules, checked: no import cycle among src/ modules (type-only
 * imports included: a cycle of types is still two modules that cannot be understood apart), the
 * lint rule that keeps the direction http → programs → repos → services ← layers (eslint.config.js)
 * refuses an import against it, and the one that keeps SQL out of programs refuses a statement or
 * the SQL client there.
 */
import { ESLint } from "eslint"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const ROOT = path.resolve(import.meta.dirname, "../..")
const SRC = path.join(ROOT, "src")

const sources = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? sources(full) : full.endsWith(".ts") ? [full] : []
  })

// static imports and re-exports (`import type` too), and dynamic `import("./x.js")`
const IMPORT = /(?:\b(?:import|export)\s[^"';]*?\bfrom\s*|\bimport\s*\(\s*)"(\.{1,2}\/[^"]+)"/g

/** Each module's relative imports within src/, resolved to files. */
export const importGraph = (files: ReadonlyArray<string>): Map<string, Array<string>> =>
  new Map(
    files.map((file) => {
      const text = fs.readFileSync(file, "utf8")
      const targets = [...text.matchAll(IMPORT)]
        .map((match) => path.resolve(path.dirname(file), match[1]!).replace(/\.js$/, ".ts"))
        .filter((target) => fs.existsSync(target))
      return [file, targets]
    })
  )

/** Every cycle found by a depth-first walk, as the modules along it (relative to src/). */
export const cyclesOf = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<string> => {
  const state = new Map<string, "open" | "done">()
  const stack: Array<string> = []
  const cycles: Array<string> = []
  const visit = (node: string) => {
    state.set(node, "open")
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => path.relative(SRC, f)).join(" → "))
      else if (!state.has(next)) visit(next)
    }
    stack.pop()
    state.set(node, "done")
  }
  for (const node of graph.keys()) if (!state.has(node)) visit(node)
  return cycles
}

/** The messages of `rules` that lint gives `source` as if it were `file`. */
const lintAs = async (file: string, source: string, rules: ReadonlyArray<string> = ["no-restricted-imports"]) => {
  const [result] = await new ESLint({ cwd: ROOT }).lintText(`${source}\n`, { filePath: path.join(ROOT, file) })
  return result!.messages.filter((m) => m.ruleId !== null && rules.includes(m.ruleId)).map((m) => m.message)
}

/** An import's refusals (the import is used, so that only the import rule can speak). */
const lint = (file: string, source: string) => lintAs(file, `${source}\nexport const used = x`)

describe("src/ dependencies", () => {
  it("has no import cycle, type-only imports and re-exports included", () => {
    const graph = importGraph(sources(SRC))
    expect(graph.size).toBeGreaterThan(100)
    expect(cyclesOf(graph)).toEqual([])
  })

  it("the cycle finder finds a cycle through a type import and a re-export", () => {
    const a = path.join(SRC, "a.ts")
    const b = path.join(SRC, "b.ts")
    const c = path.join(SRC, "c.ts")
    expect(cyclesOf(new Map([[a, [b]], [b, [c]], [c, [a]]]))).toEqual(["a.ts → b.ts → c.ts → a.ts"])
    expect(cyclesOf(new Map([[a, [b]], [b, [c]], [c, []]]))).toEqual([])
    expect([..."import type { X } from \"./x.js\"; export { y } from \"../y.js\"; await import(\"./z.js\")".matchAll(IMPORT)].map((m) => m[1])).toEqual([
      "./x.js",
      "../y.js",
      "./z.js"
    ])
  })

  it("lint refuses an import against the direction, and allows the ones along it", async () => {
    expect(await lint("src/programs/x.ts", `import { x } from "../layers/crypto/local.js"`)).toEqual([
      expect.stringContaining("src/programs may not import src/layers")
    ])
    expect(await lint("src/services/x.ts", `import { x } from "../programs/content.js"`)).toHaveLength(1)
    expect(await lint("src/layers/storage/x.ts", `import { x } from "../../programs/processJob.js"`)).toHaveLength(1)
    expect(await lint("src/http/groups/x.ts", `import { x } from "../../main/layers.js"`)).toHaveLength(1)
    // along the direction, and a layer using a sibling layer's helper
    expect(await lint("src/http/groups/x.ts", `import { x } from "../../programs/content.js"`)).toEqual([])
    expect(await lint("src/layers/storage/x.ts", `import { x } from "../../services/storage.js"`)).toEqual([])
    expect(await lint("src/layers/storage/x.ts", `import { x } from "../aws/sdk.js"`)).toEqual([])
    expect(await lint("src/main/x.ts", `import { x } from "../layers/crypto/local.js"`)).toEqual([])
    // the Effect 3 packages stay refused inside the boundary overrides
    expect(await lint("src/programs/x.ts", `import { x } from "@effect/schema"`)).toHaveLength(1)
    expect(await lint("src/repos/x.ts", `import { x } from "@effect/schema"`)).toHaveLength(1)
  })

  it("lint keeps repositories between programs and services: http and services may not reach them, they may not reach up", async () => {
    expect(await lint("src/repos/x.ts", `import { x } from "../programs/content.js"`)).toEqual([
      expect.stringContaining("src/repos may not import src/layers, src/programs")
    ])
    expect(await lint("src/repos/x.ts", `import { x } from "../layers/database/client.js"`)).toHaveLength(1)
    expect(await lint("src/repos/x.ts", `import { x } from "../http/api.js"`)).toHaveLength(1)
    expect(await lint("src/http/groups/x.ts", `import { x } from "../../repos/users.js"`)).toEqual([
      expect.stringContaining("src/http may not import")
    ])
    expect(await lint("src/services/x.ts", `import { x } from "../repos/users.js"`)).toHaveLength(1)
    expect(await lint("src/layers/audit/x.ts", `import { x } from "../../repos/users.js"`)).toHaveLength(1)
    // along the direction
    expect(await lint("src/programs/x.ts", `import { x } from "../repos/users.js"`)).toEqual([])
    expect(await lint("src/repos/x.ts", `import { x } from "../services/database.js"`)).toEqual([])
    expect(await lint("src/repos/x.ts", `import { x } from "./transaction.js"`)).toEqual([])
  })

  it("lint keeps settings where they are read: programs take small services, slices know no implementation", async () => {
    expect(await lint("src/programs/x.ts", `import { x } from "../config.js"`)).toEqual([expect.stringContaining("small services")])
    expect(await lint("src/programs/x.ts", `import { x } from "../config/plans.js"`)).toEqual([expect.stringContaining("small services")])
    expect(await lint("src/config/x.ts", `import { x } from "../layers/storage/s3.js"`)).toEqual([
      expect.stringContaining("src/config may not import src/layers")
    ])
    // along the direction
    expect(await lint("src/programs/x.ts", `import { x } from "../services/plans.js"`)).toEqual([])
    expect(await lint("src/layers/storage/x.ts", `import { x } from "../../config/storage.js"`)).toEqual([])
    expect(await lint("src/config/x.ts", `import { x } from "../services/models.js"`)).toEqual([])
  })

  it("lint refuses SQL in programs: a statement, a client call, or the client imported; repositories may", async () => {
    const lint = (file: string, source: string) => lintAs(file, source, ["no-restricted-imports", "no-restricted-syntax"])
    const refused = [expect.stringContaining("programs contain no SQL")]
    const client = `declare const sql: (strings: TemplateStringsArray, ...values: ReadonlyArray<unknown>) => unknown`
    expect(await lint("src/programs/x.ts", `${client}\nexport const rows = sql\`SELECT 1\``)).toEqual(refused)
    expect(await lint("src/programs/x.ts", `declare const plain: { unsafe: (s: TemplateStringsArray) => unknown }\nexport const rows = plain.unsafe\`SELECT 1\``)).toEqual(refused)
    expect(await lint("src/programs/x.ts", `declare const sql: { unsafe: (s: string) => unknown }\nexport const rows = sql.unsafe("SELECT 1")`)).toEqual(refused)
    expect(await lint("src/programs/x.ts", `import { SqlClient } from "../services/database.js"\nexport const used = SqlClient`)).toEqual(refused)
    expect(await lint("src/programs/x.ts", `import { SqlClient } from "effect/sql"\nexport const used = SqlClient`)).toEqual(refused)
    expect(await lint("src/programs/x.ts", `import { PgClient } from "@effect/sql-pg"\nexport const used = PgClient`)).toEqual(refused)
    // what programs do use of the database module, and the transaction helper
    expect(await lint("src/programs/x.ts", `import { orDatabaseUnavailable } from "../services/database.js"\nexport const used = orDatabaseUnavailable`)).toEqual([])
    expect(await lint("src/programs/x.ts", `import { inTransaction } from "../repos/transaction.js"\nexport const used = inTransaction`)).toEqual([])
    // repositories are where statements live
    expect(await lint("src/repos/x.ts", `import { SqlClient } from "../services/database.js"\n${client}\nexport const used = [SqlClient, sql\`SELECT 1\`]`)).toEqual([])
  })
})
