/**
 * Names that say one thing (docs/architecture.md): every service tag's key is namespaced, every
 * layer under src/layers/<capability>/ is named for its capability, and the layers holding a fixed,
 * known key (the tests') live in memory.ts files, never beside a production layer.
 */
import { describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"

const SRC = path.resolve(import.meta.dirname, "../../src")

const sources = (dir: string): ReadonlyArray<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? sources(full) : entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : []
  })

const files = sources(SRC).map((file) => ({ file: path.relative(SRC, file), text: fs.readFileSync(file, "utf8") }))

/** The key of every `Context.Service<…>()("key")` and `Context.Reference<…>("key", …)` in src. */
const tagKeys = (text: string): ReadonlyArray<string> => [
  ...[...text.matchAll(/Context\.Service<[\s\S]*?>\(\)\(\s*"([^"]+)"/g)].map((m) => m[1]!),
  ...[...text.matchAll(/Context\.Reference<[^>]*>\(\s*"([^"]+)"/g)].map((m) => m[1]!)
]

/** Folders of src/layers holding several capabilities, or one whose name is not its folder's. */
const CAPABILITIES_OF_FOLDER: Readonly<Record<string, ReadonlyArray<string>>> = {
  auth: ["AccessTokens", "GoogleIdTokens", "UserLookupKey"],
  database: ["Database"],
  logger: ["JsonLogger"],
  resilience: ["CircuitBreakers"]
}

describe("names", () => {
  it("every service tag's key is namespaced serenya/…, so two libraries' tags can never collide", () => {
    const keys = files.flatMap(({ file, text }) => tagKeys(text).map((key) => ({ file, key })))
    expect(keys.length).toBeGreaterThan(30)
    expect(keys.filter(({ key }) => !key.startsWith("serenya/"))).toEqual([])
    const seen = new Map<string, string>()
    const duplicates = keys.filter(({ file, key }) => (seen.has(key) ? true : (seen.set(key, file), false)))
    expect(duplicates).toEqual([])
  })

  it("every layer in src/layers/<capability>/ is named <Capability><Technology>", () => {
    const misnamed: Array<string> = []
    let layers = 0
    for (const { file, text } of files) {
      const [top, folder] = file.split(path.sep)
      if (top !== "layers" || folder === undefined || file.split(path.sep).length !== 3) continue
      for (const match of text.matchAll(/^export const ([A-Z]\w*)(?:: Layer\.Layer<| = \([^)]*\)(?:: Layer\.Layer<|\s*=>))/gm)) {
        layers++
        const name = match[1]!
        const capabilities = CAPABILITIES_OF_FOLDER[folder] ?? [folder]
        if (!capabilities.some((c) => name.toLowerCase().startsWith(c.toLowerCase()))) misnamed.push(`${file}: ${name}`)
      }
    }
    expect(layers).toBeGreaterThan(25)
    expect(misnamed).toEqual([])
  })

  it("a fixed test key (Buffer.alloc(32, n)) appears only in a memory.ts layer", () => {
    const fixedKeys = files
      .filter(({ text }) => /Buffer\.alloc\(32, \d+\)/.test(text))
      .map(({ file }) => file)
      .filter((file) => path.basename(file) !== "memory.ts")
    expect(fixedKeys).toEqual([])
  })
})
