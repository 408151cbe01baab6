/**
 * The embedded PostgreSQL's binaries when we run as root: postgres runs as the `postgres` user,
 * which cannot pass through a private folder. A clone under /root, or in a 0700 temp folder (what
 * `npm run test:fresh-clone` makes), failed `npm start` with `initdb … EACCES` before the binaries
 * were relocated.
 */
import { SqlClient } from "effect/sql"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { AppInfoConfig } from "../../../src/config/app.js"
import { DatabaseConfig } from "../../../src/config/database.js"
import { APP_PASSWORD_FILE } from "../../../src/layers/database/embedded.js"
import { loadBinaries, reachableBinaries, resolveRunAs } from "../../../src/layers/database/embeddedSetup.js"
import { DatabaseLive } from "../../../src/layers/database/postgres.js"
import { APP_ROLE } from "../../../src/layers/database/roles.js"
import { testConfigProvider } from "../../support/settings.js"

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

// `npm start` with no DATABASE_URL: the embedded server, migrated by its superuser, and the
// application's pool on APP_ROLE. The pool connected as the superuser, which no trigger can stop.
describe("the embedded database behind `npm start`", () => {
  it("migrates as its superuser, then the application's pool connects as APP_ROLE with a password kept 0600 beside the superuser's", async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-embedded-roles-"))
    dirs.push(dataDir)
    const whoAmI = (env: Record<string, string>) =>
      Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const [row] = yield* sql<{ user: string; superuser: boolean }>`
            SELECT current_user AS user, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`
          const refused = yield* Effect.flip(sql`ALTER TABLE audit_log DISABLE TRIGGER ALL`)
          return { ...row, refused: String((refused.reason.cause as Error).message) }
        }).pipe(
          // the database slice and DATA_DIR, read alone from the environment
          Effect.provide(
            DatabaseLive.pipe(
              Layer.provide(Layer.merge(DatabaseConfig.layer, AppInfoConfig.layer)),
              Layer.provide(testConfigProvider({ DATA_DIR: dataDir, ...env }))
            )
          ),
          Effect.scoped
        )
      )
    expect(await whoAmI({})).toEqual({ user: APP_ROLE, superuser: false, refused: "must be owner of table audit_log" })
    const file = path.join(dataDir, APP_PASSWORD_FILE)
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600)
    const password = await fs.readFile(file, "utf8")
    // A restart without migrating: the same password, the role's login set again before the pool opens.
    expect(await whoAmI({ MIGRATE_ON_START: "false" })).toMatchObject({ user: APP_ROLE })
    expect(await fs.readFile(file, "utf8")).toBe(password)
  }, 120_000)
})
