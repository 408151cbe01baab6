/** bench/profile.ts: how a V8 CPU profile becomes µs per request, by group and by function. */
import { describe, expect, it } from "vitest"
import * as path from "node:path"
import { groupOf, summarize } from "../../bench/profile.js"

const ROOT = path.resolve(import.meta.dirname, "../..")
const frame = (id: number, functionName: string, url: string, children: Array<number> = []) => ({
  id,
  callFrame: { functionName, url, lineNumber: 9 },
  children
})

// (root) → runLoop (effect) → listTimeline (ours); the GC and idle pseudo-frames beside them.
const profile = {
  nodes: [
    frame(1, "(root)", "", [2, 4, 5]),
    frame(2, "runLoop", `file://${ROOT}/node_modules/effect/dist/internal/effect.js`, [3]),
    frame(3, "listTimeline", `file://${ROOT}/src/programs/content.ts`),
    frame(4, "(garbage collector)", ""),
    frame(5, "(idle)", "")
  ],
  // one sample every 100 µs from startTime 1,000: at 1,100 … 1,800
  samples: [2, 3, 3, 4, 5, 5, 3, 2],
  timeDeltas: [100, 100, 100, 100, 100, 100, 100, 100],
  startTime: 1_000,
  endTime: 1_800
}

describe("bench/profile.ts", () => {
  it("groups frames by package (effect by module), by our directory (three levels deep), and V8's pseudo-frames", () => {
    expect(groupOf(`file://${ROOT}/node_modules/effect/dist/internal/effect.js`, "runLoop")).toBe("effect/internal/effect")
    expect(groupOf(`file://${ROOT}/node_modules/@effect/sql-pg/dist/PgConnection.js`, "query")).toBe("@effect/sql-pg")
    expect(groupOf(`file://${ROOT}/src/layers/crypto/envelope.ts`, "")).toBe("src/layers/crypto")
    expect(groupOf("node:internal/crypto/cipher", "update")).toBe("node:internal/crypto/cipher")
    expect(groupOf("", "(garbage collector)")).toBe("GC")
    expect(groupOf("", "(idle)")).toBe("idle")
    expect(groupOf("", "writev")).toBe("native: writev")
  })

  it("counts self time per request, leaves idle out of busy, and only inside the window", () => {
    const all = summarize(profile, 2)
    // busy: 6 samples × 100 µs (2 idle left out) over 2 requests
    expect(all.busyUsPerRequest).toBe(300)
    expect(all.groups.find((g) => g.where === "src/programs/content.ts")?.["µs/request"]).toBe(150)
    expect(all.groups.find((g) => g.where === "effect/internal/effect")?.["µs/request"]).toBe(100)
    expect(all.groups.find((g) => g.where === "GC")?.["µs/request"]).toBe(50)
    expect(all.groups.some((g) => g.where === "idle")).toBe(false)
    expect(all.functions[0]?.where).toBe("listTimeline src/programs/content.ts:10")
    // the window [1,250, 1,650] holds the samples at 1,300 … 1,600: listTimeline, GC, idle, idle
    const window = summarize(profile, 1, 1_250, 1_650)
    expect(window.busyUsPerRequest).toBe(200)
    expect(window.groups.map((g) => g.where).sort()).toEqual(["GC", "src/programs/content.ts"])
  })
})
