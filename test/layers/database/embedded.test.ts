/**
 * The embedded PostgreSQL's binaries when we run as root: postgres runs as the `postgres` user,
 * which cannot pass through a private folder. A clone under /root, or in a 0700 temp folder (what
 * `npm run test:fresh-clone` makes), failed `npm start` with `initdb … EACCES` before the binaries
 * were relocated.
 */
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { loadBinaries, reachableBinaries, resolveRunAs } from "../../../src/layers/database/embedded.js"

const isRoot = typeof process.getuid === "function" && process.getuid() === 0
const dirs: Array<string> = []
afterAll(async () => {
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true })
})

const versionAs = (binary: string, uid: number, gid: number) =>
  spawnSync(binary, ["--version"], { uid, gid, cwd: os.tmpdir(), encoding: "utf8" })

// Only root hands PostgreSQL to another user; as anyone else the binaries are run as they are.
describe.runIf(isRoot)("embedded PostgreSQL binaries, as root", () => {
  it("are run from a copy the postgres user can reach when the package lies in a private folder", async () => {
    const runAs = (await Effect.runPromise(resolveRunAs))!
    const real = await Effect.runPromise(loadBinaries)
    const privateDir = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-private-clone-"))
    dirs.push(privateDir)
    expect((await fs.stat(privateDir)).mode & 0o777).toBe(0o700)
    const nativeDir = path.dirname(path.dirname(real.initdb))
    const copy = path.join(privateDir, "node_modules", "native")
    await fs.cp(nativeDir, copy, { recursive: true, verbatimSymlinks: true })
    const unreachable = {
      initdb: path.join(copy, path.relative(nativeDir, real.initdb)),
      postgres: path.join(copy, path.relative(nativeDir, real.postgres))
    }
    // What the postgres user meets without the relocation.
    const refused = versionAs(unreachable.initdb, runAs.uid, runAs.gid)
    expect((refused.error as NodeJS.ErrnoException | undefined)?.code).toBe("EACCES")

    const reachable = await Effect.runPromise(reachableBinaries(unreachable, runAs))
    dirs.push(path.dirname(path.dirname(reachable.initdb)))
    expect(reachable.initdb.startsWith(privateDir)).toBe(false)
    for (const binary of [reachable.initdb, reachable.postgres]) {
      const ran = versionAs(binary, runAs.uid, runAs.gid)
      expect(ran.error).toBeUndefined()
      expect(ran.stdout).toMatch(/\(PostgreSQL\) \d+/)
    }
    // Made once: a second start finds the same copy.
    expect(await Effect.runPromise(reachableBinaries(unreachable, runAs))).toEqual(reachable)
  })

  it("are run in place when the postgres user can reach them", async () => {
    const runAs = (await Effect.runPromise(resolveRunAs))!
    const real = await Effect.runPromise(loadBinaries)
    expect(await Effect.runPromise(reachableBinaries(real, runAs))).toEqual(real)
  })
})
