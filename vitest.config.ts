import { defineConfig } from "vitest/config"

// vitest 5's reporter (this process) calls Map.groupBy when a test fails; Node 20 — these machines and
// CI — lacks it (Node 21+ has it), so a failure would crash the reporter and hide the error. Lambda
// runs Node 22 and needs nothing.
const maps = Map as unknown as { groupBy?: unknown }
if (typeof maps.groupBy !== "function") {
  Object.defineProperty(Map, "groupBy", {
    configurable: true,
    writable: true,
    value: <K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, Array<T>> => {
      const groups = new Map<K, Array<T>>()
      let index = 0
      for (const item of items) {
        const k = key(item, index++)
        const group = groups.get(k)
        if (group === undefined) groups.set(k, [item])
        else group.push(item)
      }
      return groups
    }
  })
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    setupFiles: ["test/support/schemaCompiler.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // @medplum/core (the FHIR validator of test/programs/fhir.test.ts) reads WebSocket's constants as
    // it loads; Node 20 has WebSocket only behind this flag (Node 22, Lambda's, has it by default)
    execArgv: typeof (globalThis as { WebSocket?: unknown }).WebSocket === "undefined" ? ["--experimental-websocket"] : []
  }
})
