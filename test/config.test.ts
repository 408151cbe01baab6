import { describe, expect, it } from "@effect/vitest"
import { Duration, Formatter, Option, Redacted, Result } from "effect"
import * as fc from "fast-check"
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Settings } from "../src/config.js"
import { PRODUCTION_ENV, settingsFrom } from "./support/settings.js"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

const ok = (env: Record<string, string>): Settings => {
  const result = settingsFrom(env)
  if (Result.isFailure(result)) throw new Error(`expected valid settings, got: ${result.failure}`)
  return result.success
}


const problem = (env: Record<string, string>): string => {
  const result = settingsFrom(env)
  if (Result.isSuccess(result)) throw new Error(`expected invalid settings for ${Object.keys(env).join(", ")}`)
  return result.failure
}

describe("settings: defaults", () => {
  it("an empty environment gives the documented defaults", () => {
    const s = ok({})
    expect(s.port).toBe(3000)
    expect(s.host).toBe("127.0.0.1")
    expect(s.appEnv).toBe("local")
    expect(s.logLevel).toBe("Info")
    expect(Duration.toMillis(s.shutdownTimeout)).toBe(10_000)
    expect(s.database.maxConnections).toBe(20)
    expect(Duration.toMillis(s.database.idleTimeout)).toBe(30_000)
    expect(Duration.toMillis(s.database.connectTimeout)).toBe(2_000)
    expect(s.database.migrateOnStart).toBe(true)
    expect(s.database.ssl).toBe(false)
    expect(s.database.embeddedPort).toBe(0)
    expect(Option.isNone(s.database.url)).toBe(true)
    expect(path.isAbsolute(s.dataDir)).toBe(true)
    expect(path.basename(s.dataDir)).toBe(".data")
  })
})

describe("settings: overrides", () => {
  it("PORT, DB_POOL_MAX, DATABASE_URL and the rest parse", () => {
    const s = ok({
      PORT: "8080",
      HOST: "0.0.0.0",
      DB_POOL_MAX: "5",
      DB_POOL_IDLE_TIMEOUT_MS: "1000",
      DB_CONNECT_TIMEOUT_MS: "750",
      DB_STATEMENT_TIMEOUT_MS: "3000",
      DB_LOCK_TIMEOUT_MS: "1000",
      DB_BREAKER_OPEN_MS: "500",
      SHUTDOWN_TIMEOUT_MS: "250",
      DATABASE_SSL: "true",
      LOG_LEVEL: "debug",
      APP_ENV: "test",
      DATA_DIR: "/var/lib/serenya",
      EMBEDDED_PG_PORT: "54329",
      DATABASE_URL: "postgres://u:p4ssw0rd@h:5432/db"
    })
    expect(s.port).toBe(8080)
    expect(s.host).toBe("0.0.0.0")
    expect(s.database.maxConnections).toBe(5)
    expect(Duration.toMillis(s.database.idleTimeout)).toBe(1000)
    expect(Duration.toMillis(s.database.connectTimeout)).toBe(750)
    expect(Duration.toMillis(s.database.statementTimeout)).toBe(3000)
    expect(Duration.toMillis(s.database.lockTimeout)).toBe(1000)
    expect(Duration.toMillis(s.database.breakerOpen)).toBe(500)
    expect(Duration.toMillis(s.shutdownTimeout)).toBe(250)
    expect(s.database.ssl).toBe(true)
    expect(s.logLevel).toBe("Debug")
    expect(s.appEnv).toBe("test")
    expect(s.dataDir).toBe("/var/lib/serenya")
    expect(s.database.embeddedPort).toBe(54329)
    expect(s.database.migrateOnStart).toBe(true)
  })

  it("DATABASE_URL is Some of a Redacted that never shows the password", () => {
    const url = ok({ DATABASE_URL: "postgres://u:p4ssw0rd@h:5432/db" }).database.url
    expect(Option.isSome(url)).toBe(true)
    if (Option.isNone(url)) return
    expect(Redacted.isRedacted(url.value)).toBe(true)
    expect(Redacted.value(url.value)).toBe("postgres://u:p4ssw0rd@h:5432/db")
    expect(String(url.value)).not.toContain("p4ssw0rd")
    expect(`${url.value}`).not.toContain("p4ssw0rd")
    expect(JSON.stringify(url)).not.toContain("p4ssw0rd")
    expect(JSON.stringify(ok({ DATABASE_URL: "postgres://u:p4ssw0rd@h:5432/db" }))).not.toContain("p4ssw0rd")
    expect(Formatter.formatJson(url, { space: 2 })).not.toContain("p4ssw0rd")
  })

  it("postgresql:// is accepted too", () => {
    expect(Option.isSome(ok({ DATABASE_URL: "postgresql://u:p@h/db" }).database.url)).toBe(true)
  })
})

describe("settings: production", () => {
  it("production refuses the local key provider, and KMS needs both key ids", () => {
    const local = problem({ ...PRODUCTION_ENV, KEY_PROVIDER: "local" })
    expect(local).toContain("KEY_PROVIDER")
    const { KMS_DOCUMENTS_KEY_ID: _documents, ...withoutDocuments } = PRODUCTION_ENV
    expect(problem(withoutDocuments)).toContain("KMS_DOCUMENTS_KEY_ID")
    const { KMS_AUDIT_KEY_ID: _audit, ...withoutAuditKey } = PRODUCTION_ENV
    expect(problem(withoutAuditKey)).toContain("KMS_AUDIT_KEY_ID")
    const { AUDIT_CHECKPOINT_BUCKET: _bucket, ...withoutCheckpoints } = PRODUCTION_ENV
    expect(problem(withoutCheckpoints)).toContain("AUDIT_CHECKPOINT_BUCKET")
    const { KMS_FIELDS_KEY_ID: _fields, ...withoutFields } = PRODUCTION_ENV
    expect(problem(withoutFields)).toContain("KMS_FIELDS_KEY_ID")
    expect(problem({ STORAGE_PROVIDER: "s3" })).toContain("S3_BUCKET")
    expect(ok({ STORAGE_PROVIDER: "s3", S3_BUCKET: "serenya-documents" }).storage.provider).toBe("s3")
  })

  it("USER_LOOKUP_KEY is required in production, redacted, and at least 32 bytes as hex or base64", () => {
    const { USER_LOOKUP_KEY: _key, ...withoutKey } = PRODUCTION_ENV
    expect(problem(withoutKey)).toContain("USER_LOOKUP_KEY")
    const short = problem({ USER_LOOKUP_KEY: "ab".repeat(31) })
    expect(short).toContain("USER_LOOKUP_KEY")
    expect(short).not.toContain("ab".repeat(31))
    expect(problem({ USER_LOOKUP_KEY: "not a key at all, but long enough to be 32 bytes" })).toContain("USER_LOOKUP_KEY")
    const base64 = ok({ USER_LOOKUP_KEY: Buffer.alloc(32, 9).toString("base64") }).auth.userLookupKey
    expect(Option.isSome(base64) && String(base64.value)).not.toContain(Buffer.alloc(32, 9).toString("base64"))
    expect(Option.isNone(ok({}).auth.userLookupKey)).toBe(true)
  })

  it("MAX_DIRECT_UPLOAD_BYTES defaults to MAX_UPLOAD_BYTES and may not exceed it", () => {
    expect(ok({}).documents).toEqual({ maxUploadBytes: 5 * 1024 * 1024, maxDirectUploadBytes: 5 * 1024 * 1024 })
    expect(ok({ MAX_UPLOAD_BYTES: "20971520", MAX_DIRECT_UPLOAD_BYTES: "4669440" }).documents).toEqual({
      maxUploadBytes: 20_971_520,
      maxDirectUploadBytes: 4_669_440
    })
    expect(problem({ MAX_DIRECT_UPLOAD_BYTES: "6000000" })).toMatch(/MAX_DIRECT_UPLOAD_BYTES must not be above MAX_UPLOAD_BYTES/)
    expect(problem({ MAX_DIRECT_UPLOAD_BYTES: "0" })).toMatch(/MAX_DIRECT_UPLOAD_BYTES must be a whole number/)
  })

  it("the Bedrock model comes from the model table: the default is the EU profile of a current Claude", () => {
    const s = ok(PRODUCTION_ENV)
    expect(s.llm.bedrockModelId).toBe("eu.anthropic.claude-sonnet-5-5")
    expect(s.llm.bedrockRegion).toBe("eu-west-1")
    expect(ok({ ...PRODUCTION_ENV, BEDROCK_MODEL_ID: "eu.anthropic.claude-opus-5-5", BEDROCK_REGION: "eu-central-1" }).llm.bedrockModelId).toBe(
      "eu.anthropic.claude-opus-5-5"
    )
  })

  it("production refuses a model the table does not know, a retired one, one not offered in the Region, and a global profile", () => {
    expect(problem({ ...PRODUCTION_ENV, BEDROCK_MODEL_ID: "anthropic.claude-3-5-sonnet-20241022-v2:0" })).toMatch(
      /BEDROCK_MODEL_ID names Claude 3.5 Sonnet v2 \(retired\), which Bedrock no longer serves \(end of life 2026-03-01\)/
    )
    expect(problem({ ...PRODUCTION_ENV, BEDROCK_MODEL_ID: "global.anthropic.claude-sonnet-5-5" })).toMatch(/BEDROCK_MODEL_ID is not a model Serenya knows/)
    expect(problem({ ...PRODUCTION_ENV, BEDROCK_MODEL_ID: "vendor.new-model-v1" })).toMatch(/BEDROCK_MODEL_ID is not a model Serenya knows/)
    expect(problem({ ...PRODUCTION_ENV, BEDROCK_REGION: "eu-west-2" })).toMatch(/BEDROCK_MODEL_ID cannot be called from eu-west-2/)
    expect(problem({ ...PRODUCTION_ENV, BEDROCK_REGION: "us-east-1" })).toMatch(/BEDROCK_MODEL_ID cannot be called from us-east-1/)
  })

  it("outside production a developer may try a model the table does not know, never a retired one", () => {
    expect(ok({ LLM_PROVIDER: "bedrock", BEDROCK_MODEL_ID: "vendor.new-model-v1" }).llm.bedrockModelId).toBe("vendor.new-model-v1")
    expect(problem({ LLM_PROVIDER: "bedrock", BEDROCK_MODEL_ID: "anthropic.claude-3-haiku-20240307-v1:0" })).toMatch(/no longer serves/)
    // the offline provider never calls a model: the setting is not checked
    expect(ok({ BEDROCK_MODEL_ID: "anthropic.claude-3-haiku-20240307-v1:0" }).llm.provider).toBe("offline")
  })

  it("APP_ENV=production without DATABASE_URL is refused, naming DATABASE_URL", () => {
    const message = problem({ APP_ENV: "production" })
    expect(message).toMatch(/^Invalid configuration: /)
    expect(message).toContain("DATABASE_URL")
    expect(message).not.toContain("\n")
  })

  it("APP_ENV=production with DATABASE_URL does not migrate at start", () => {
    const s = ok(PRODUCTION_ENV)
    expect(s.appEnv).toBe("production")
    expect(s.database.migrateOnStart).toBe(false)
  })

  it("MIGRATE_ON_START overrides the environment's default, both ways", () => {
    expect(
      ok({ ...PRODUCTION_ENV, MIGRATE_ON_START: "true", DATABASE_OWNER_URL: "postgres://owner:p@h:5432/db" }).database
        .migrateOnStart
    ).toBe(true)
    expect(ok({ MIGRATE_ON_START: "false" }).database.migrateOnStart).toBe(false)
  })

  // The server ran as the owner of its tables, who can disable the audit trail's triggers.
  it("migrating at start in production needs DATABASE_OWNER_URL, naming another user than DATABASE_URL", () => {
    expect(problem({ ...PRODUCTION_ENV, MIGRATE_ON_START: "true" })).toContain("DATABASE_OWNER_URL")
    const same = problem({ ...PRODUCTION_ENV, MIGRATE_ON_START: "true", DATABASE_OWNER_URL: "postgres://serenya_app:other@h:5432/db" })
    expect(same).toContain("DATABASE_URL must name the application's role")
    expect(same).not.toContain("other")
    // Production never falls back to DATABASE_URL for migrations.
    expect(Option.isNone(ok(PRODUCTION_ENV).database.ownerUrl)).toBe(true)
    const both = ok({ ...PRODUCTION_ENV, DATABASE_OWNER_URL: "postgres://owner:s3cret@h:5432/db" }).database
    expect(both.ownerUrl.pipe(Option.map(Redacted.value), Option.getOrUndefined)).toBe("postgres://owner:s3cret@h:5432/db")
    expect(JSON.stringify(both)).not.toContain("s3cret")
  })

  it("outside production, DATABASE_OWNER_URL falls back to DATABASE_URL (one role does both), and is unset for the embedded server", () => {
    const single = ok({ DATABASE_URL: "postgres://u:p@h:5432/db" }).database
    expect(single.ownerUrl.pipe(Option.map(Redacted.value), Option.getOrUndefined)).toBe("postgres://u:p@h:5432/db")
    expect(Option.isNone(ok({}).database.ownerUrl)).toBe(true)
  })
})

describe("settings: invalid values", () => {
  /** Each bad value with another of the same kind: the message must not depend on which one was set. */
  const cases: ReadonlyArray<readonly [variable: string, value: string, sameKind: string]> = [
    ["PORT", "abc", "xyz"],
    ["PORT", "70000", "99999"],
    ["PORT", "0", "-1"],
    ["DB_POOL_MAX", "0", "-7"],
    ["APP_ENV", "prod", "staging"],
    ["LOG_LEVEL", "loud", "verbose"],
    ["DATABASE_URL", "mysql://u:hunter22@h/db", "https://x:y@z/w"],
    ["DATABASE_OWNER_URL", "mysql://u:hunter22@h/db", "https://x:y@z/w"],
    ["DB_CONNECT_TIMEOUT_MS", "-5", "-1"],
    ["DB_STATEMENT_TIMEOUT_MS", "0", "-3"],
    ["DB_LOCK_TIMEOUT_MS", "0", "-2"],
    ["SHUTDOWN_TIMEOUT_MS", "soon", "later"],
    ["MIGRATE_ON_START", "sometimes", "never"],
    ["EMBEDDED_PG_PORT", "70000", "65536"],
    ["HOST", "   ", ""]
  ]

  for (const [variable, value, sameKind] of cases) {
    it(`${variable}=${JSON.stringify(value)}: one line naming ${variable}, without the value`, () => {
      const message = problem({ [variable]: value })
      expect(message).toMatch(/^Invalid configuration: /)
      expect(message).toContain(variable)
      expect(message).not.toContain("\n")
      expect(message).not.toMatch(/received/i)
      // "prod" is a substring of the allowed "production", so compare with another bad value instead
      if (value.trim().length > 0 && variable !== "APP_ENV") expect(message).not.toContain(value)
      expect(problem({ [variable]: sameKind })).toBe(message)
    })
  }

  it("DB_LOCK_TIMEOUT_MS at or above DB_STATEMENT_TIMEOUT_MS is refused (a lock wait is part of its statement)", () => {
    expect(problem({ DB_LOCK_TIMEOUT_MS: "5000" })).toMatch(/DB_LOCK_TIMEOUT_MS must be below DB_STATEMENT_TIMEOUT_MS/)
    expect(problem({ DB_LOCK_TIMEOUT_MS: "900", DB_STATEMENT_TIMEOUT_MS: "800" })).toContain("DB_LOCK_TIMEOUT_MS")
  })

  it("several bad values: every variable is named, none of the values appear, still one line", () => {
    const env = Object.fromEntries(
      cases
        .filter(([name]) => !["PORT", "EMBEDDED_PG_PORT", "HOST", "APP_ENV"].includes(name))
        .map(([name, value]) => [name, value])
        .concat([["PORT", "abc"], ["APP_ENV", "staging"]])
    )
    const message = problem(env)
    expect(message).toMatch(/^Invalid configuration: /)
    expect(message).not.toContain("\n")
    for (const [name, value] of Object.entries(env)) {
      expect(message).toContain(name)
      expect(message).not.toContain(value)
    }
    expect(message).not.toContain("hunter22")
  })

  it("a wrong DATABASE_URL is an error, not silently ignored", () => {
    expect(Result.isFailure(settingsFrom({ DATABASE_URL: "mysql://u:hunter22@h/db" }))).toBe(true)
    expect(Result.isFailure(settingsFrom({ DATABASE_URL: "not a url" }))).toBe(true)
  })

  it("property: any PORT that is not an integer in 1..65535 is refused with one line naming PORT", () => {
    const validPort = (s: string) => /^[1-9][0-9]*$/.test(s) && Number(s) <= 65535
    const portLike = fc.oneof(
      fc.string(),
      fc.integer().map(String),
      fc.integer({ min: 65536, max: 10_000_000 }).map(String),
      fc
        .integer({ min: 1, max: 65535 })
        .chain((n) =>
          fc.constantFrom(` ${n}`, `${n} `, `0${n}`, `+${n}`, `${n}.0`, `${n}.5`, `${n}e0`, `0x${n.toString(16)}`)
        ),
      fc.constantFrom("", "0", "-1", "65536", "NaN", "Infinity", "1e3", "3000abc", "٣٠٠٠")
    )
    fc.assert(
      fc.property(portLike, (port) => {
        fc.pre(!validPort(port))
        const result = settingsFrom({ PORT: port })
        expect(Result.isFailure(result)).toBe(true)
        if (Result.isSuccess(result)) return
        expect(result.failure.startsWith("Invalid configuration:")).toBe(true)
        expect(result.failure).toContain("PORT")
        expect(result.failure).not.toContain("\n")
      }),
      { numRuns: 200 }
    )
  })

  it("and every integer in 1..65535 is accepted as itself", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), (n) => {
        expect(ok({ PORT: String(n) }).port).toBe(n)
      }),
      { numRuns: 200 }
    )
  })
})

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

const runServer = (env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main/server.ts"], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`server did not exit within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`))
    }, timeoutMs)
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })

describe("the real process", () => {
  it("bad settings: exit 78, one line on stderr naming the variables, no secret, no stack, nothing on stdout", async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-config-test-"))
    try {
      const run = await runServer(
        { ...process.env, PORT: "abc", DATABASE_URL: "mysql://u:hunter22@h/db", DATA_DIR: dataDir },
        20_000
      )
      expect(run.signal).toBeNull()
      expect(run.code).toBe(78)
      expect(run.stdout).toBe("")
      expect(run.stderr.endsWith("\n")).toBe(true)
      const lines = run.stderr.split("\n").filter((l) => l.length > 0)
      expect(lines).toHaveLength(1)
      const line = lines[0]!
      expect(line).toMatch(/^Invalid configuration: /)
      expect(line).toContain("PORT")
      expect(line).toContain("DATABASE_URL")
      expect(run.stderr).not.toContain("hunter22")
      expect(run.stderr).not.toContain("    at ")
      // nothing was started: the embedded database was never initialised under DATA_DIR
      expect(await fs.readdir(dataDir)).toEqual([])
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true })
    }
  }, 30_000)
})
