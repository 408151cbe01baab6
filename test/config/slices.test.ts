/**
 * The settings' slices (src/config/*.ts) against the composed settings (src/config.ts): a slice
 * read alone gives what the whole settings give for the same environment, a slice's own problem
 * names its variable, every variable has one slice, and the README's settings table lists exactly
 * the variables the configuration reads (taken from the code, not from a copy).
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, type Config, ConfigProvider, Context, Duration, Effect, Exit, Layer, Option, Redacted, Result } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs"
import * as path from "node:path"
import { type ConfigServices, configLayer, formatConfigError, type Settings, settingsConfig, settingsProvider } from "../../src/config.js"
import { AppInfoConfig, appInfoConfig } from "../../src/config/app.js"
import { AuditConfig, auditConfig } from "../../src/config/audit.js"
import { AuthConfig, authConfig } from "../../src/config/auth.js"
import { CostConfig, costConfig } from "../../src/config/cost.js"
import { CryptoConfig, cryptoConfig } from "../../src/config/crypto.js"
import { DatabaseConfig, databaseConfig } from "../../src/config/database.js"
import { DocumentsConfig, documentsConfig } from "../../src/config/documents.js"
import { HttpConfig, httpConfig } from "../../src/config/http.js"
import { LLMConfig, llmConfig } from "../../src/config/llm.js"
import { NotificationsConfig, notificationsConfig } from "../../src/config/notifications.js"
import { PlansConfig, plansConfig } from "../../src/config/plans.js"
import { StorageConfig, storageConfig } from "../../src/config/storage.js"
import { TelemetryConfig, telemetryConfig } from "../../src/config/telemetry.js"
import { TimelineCacheConfig, timelineCacheConfig } from "../../src/config/timelineCache.js"
import { WorkerConfig, workerConfig } from "../../src/config/worker.js"
import { PRODUCTION_ENV } from "../support/settings.js"

const ROOT = path.resolve(import.meta.dirname, "../..")

interface Slice {
  readonly name: string
  readonly config: Config.Config<unknown>
  /** The tag's own `layer` built under `env` as the ConfigProvider: the slice read alone. */
  readonly readAlone: (env: Record<string, string>) => Exit.Exit<unknown, Config.ConfigError>
  /** What configLayer provides for the tag, from the composed settings. */
  readonly fromComposed: (settings: Settings) => unknown
}

const slice = <I extends ConfigServices, S>(
  name: string,
  config: Config.Config<S>,
  tag: Context.Service<I, S>,
  layer: Layer.Layer<I, Config.ConfigError>
): Slice => ({
  name,
  config,
  readAlone: (env) =>
    Effect.runSyncExit(
      Effect.scoped(Effect.map(Layer.build(layer), (context) => Context.get(context, tag))).pipe(
        Effect.provide(ConfigProvider.layer(settingsProvider(env)))
      )
    ),
  fromComposed: (settings) => Effect.runSync(Effect.scoped(Effect.map(Layer.build(configLayer(settings)), (context) => Context.get(context, tag))))
})

/** Every slice: its name, its Config and its tag. */
const SLICES: ReadonlyArray<Slice> = [
  slice("app", appInfoConfig, AppInfoConfig, AppInfoConfig.layer),
  slice("http", httpConfig, HttpConfig, HttpConfig.layer),
  slice("database", databaseConfig, DatabaseConfig, DatabaseConfig.layer),
  slice("crypto", cryptoConfig, CryptoConfig, CryptoConfig.layer),
  slice("storage", storageConfig, StorageConfig, StorageConfig.layer),
  slice("notifications", notificationsConfig, NotificationsConfig, NotificationsConfig.layer),
  slice("llm", llmConfig, LLMConfig, LLMConfig.layer),
  slice("cost", costConfig, CostConfig, CostConfig.layer),
  slice("plans", plansConfig, PlansConfig, PlansConfig.layer),
  slice("auth", authConfig, AuthConfig, AuthConfig.layer),
  slice("documents", documentsConfig, DocumentsConfig, DocumentsConfig.layer),
  slice("worker", workerConfig, WorkerConfig, WorkerConfig.layer),
  slice("telemetry", telemetryConfig, TelemetryConfig, TelemetryConfig.layer),
  slice("audit", auditConfig, AuditConfig, AuditConfig.layer),
  slice("timelineCache", timelineCacheConfig, TimelineCacheConfig, TimelineCacheConfig.layer)
]

const sliceNamed = (name: string): Slice => {
  const found = SLICES.find((s) => s.name === name)
  if (found === undefined) throw new Error(`no slice ${name}`)
  return found
}


const composed = (env: Record<string, string>): Result.Result<Settings, string> =>
  Effect.runSync(Effect.result(settingsConfig.parse(settingsProvider(env)))).pipe(Result.mapError(formatConfigError))

/** Values as plain data, secrets and durations included, so that equal means equal (two Redacted compare by identity). */
const plain = (value: unknown): unknown => {
  if (Redacted.isRedacted(value)) return { redacted: Redacted.value(value) }
  if (Duration.isDuration(value)) return { millis: Duration.toMillis(value) }
  if (Option.isOption(value)) return Option.isSome(value) ? { some: plain(value.value) } : { none: true }
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  return value
}

/** A variable set to `value`, or left unset. */
const maybe = (name: string, value: fc.Arbitrary<string>) => fc.option(value, { nil: undefined }).map((v) => (v === undefined ? {} : { [name]: v }))

const digits = (min: number, max: number) => fc.integer({ min, max }).map(String)
const bool = fc.constantFrom("true", "false")

/**
 * Valid environments, a few variables of every slice each, the APP_ENV-dependent defaults (worker,
 * auth, database) included: in production the smallest valid production environment beneath them.
 */
const environments: fc.Arbitrary<Record<string, string>> = fc
  .constantFrom("local", "test", "production", undefined)
  .chain((appEnv) => {
    const production = appEnv === "production"
    const base = production ? PRODUCTION_ENV : appEnv === undefined ? {} : { APP_ENV: appEnv }
    const parts: Array<fc.Arbitrary<Record<string, string>>> = [
      // app
      maybe("DATA_DIR", fc.constantFrom("/var/lib/serenya", "./.data", "relative/dir")),
      maybe("LOG_LEVEL", fc.constantFrom("all", "trace", "debug", "info", "warning", "error", "fatal", "none")),
      maybe("SHUTDOWN_TIMEOUT_MS", digits(1, 600_000)),
      maybe("AWS_REGION", fc.constantFrom("eu-west-1", "eu-central-1")),
      // http
      maybe("HOST", fc.constantFrom("0.0.0.0", "127.0.0.1", "::")),
      maybe("PORT", digits(1, 65535)),
      maybe("MAX_BODY_BYTES", digits(1, 50_000_000)),
      maybe("TRUSTED_PROXY_HOPS", digits(0, 3)),
      maybe("CORS_ALLOWED_ORIGINS", fc.constantFrom("", "https://console.example", " https://a.example , ,https://b.example")),
      maybe("RATE_LIMIT_IP_CAPACITY", digits(1, 1000)),
      maybe("RATE_LIMIT_USER_REFILL_PER_SECOND", digits(1, 10)),
      // database (the URLs' defaults depend on APP_ENV; production's own URLs stay valid)
      production
        ? fc.constantFrom({}, { DATABASE_OWNER_URL: "postgres://owner:o@h:5432/db" }, {
          DATABASE_OWNER_URL: "postgres://owner:o@h:5432/db",
          MIGRATE_ON_START: "true"
        })
        : fc.record(
          { DATABASE_URL: fc.constantFrom("postgres://u:p@h:5432/db", "postgresql://u@h/db"), DATABASE_OWNER_URL: fc.constant("postgres://owner:o@h/db") },
          { requiredKeys: [] }
        ),
      production ? fc.constant({}) : maybe("MIGRATE_ON_START", bool),
      maybe("DB_POOL_MAX", digits(1, 100)),
      maybe("DATABASE_SSL", bool),
      fc.option(fc.tuple(fc.integer({ min: 5_000, max: 60_000 }), fc.integer({ min: 1, max: 4_999 })), { nil: undefined }).map((t) =>
        t === undefined ? {} : { DB_STATEMENT_TIMEOUT_MS: String(t[0]), DB_LOCK_TIMEOUT_MS: String(t[1]) }
      ),
      maybe("EMBEDDED_PG_PORT", digits(0, 65535)),
      // crypto
      production
        ? fc.constant({})
        : fc.constantFrom({}, { KEY_PROVIDER: "local" }, { KEY_PROVIDER: "local", LOCAL_MASTER_KEY: "ab".repeat(32) }, {
          KEY_PROVIDER: "kms",
          KMS_FIELDS_KEY_ID: "f",
          KMS_DOCUMENTS_KEY_ID: "d",
          KMS_AUDIT_KEY_ID: "a"
        }),
      maybe("DATA_KEY_CACHE_MAX_USES", digits(1, 5000)),
      maybe("DATA_KEY_CACHE_MAX_AGE_MS", digits(1, 600_000)),
      // storage
      fc.constantFrom({}, { STORAGE_PROVIDER: "local" }, { STORAGE_PROVIDER: "s3", S3_BUCKET: "documents" }, {
        STORAGE_PROVIDER: "s3",
        S3_BUCKET: "documents",
        S3_ENDPOINT: "http://127.0.0.1:4569",
        S3_FORCE_PATH_STYLE: "true"
      }),
      // notifications (production needs sns): with sns, the platform applications in AWS_REGION, which this sets
      (production ? fc.constant("sns") : fc.constantFrom(undefined, "local", "webhook", "sns")).chain((provider): fc.Arbitrary<Record<string, string>> =>
        provider === "sns"
          ? fc.constantFrom("eu-west-1", "eu-central-1").map((region) => ({
            NOTIFICATIONS_PROVIDER: "sns",
            AWS_REGION: region,
            SNS_PLATFORM_APPLICATION_ARN_IOS: `arn:aws:sns:${region}:123456789012:app/APNS_SANDBOX/ios`,
            SNS_PLATFORM_APPLICATION_ARN_ANDROID: `arn:aws:sns:${region}:123456789012:app/GCM/android`
          }))
          : fc.constant(
            provider === undefined
              ? {}
              : provider === "local"
                ? { NOTIFICATIONS_PROVIDER: "local" }
                : { NOTIFY_WEBHOOK_URL: "http://127.0.0.1:9999/push" }
          )
      ),
      // llm
      production ? fc.constant({}) : maybe("LLM_PROVIDER", fc.constantFrom("offline", "bedrock")),
      // cost
      maybe("COST_TRACKER", fc.constantFrom("postgres", "dynamodb")),
      maybe("COST_TRACKING_TABLE", fc.constantFrom("costs", "serenya-llm-cost-tracking")),
      maybe("DYNAMODB_ENDPOINT", fc.constant("http://127.0.0.1:8000")),
      maybe("LLM_MONTHLY_BUDGET_CENTS", digits(1, 100_000)),
      // plans
      maybe("FREE_PLAN_DOCUMENTS_PER_MONTH", digits(0, 1000)),
      maybe("FREE_PLAN_CHAT_MESSAGES_PER_MONTH", digits(0, 1000)),
      // auth (DEV_AUTH_ENABLED's default depends on APP_ENV; production refuses it on)
      maybe("DEV_AUTH_ENABLED", production ? fc.constant("false") : bool),
      maybe("JWT_ISSUER", fc.constantFrom("serenya", "https://auth.example")),
      maybe("ACCESS_TOKEN_TTL_SECONDS", digits(1, 86_400)),
      production ? fc.constant({}) : maybe("GOOGLE_CLIENT_IDS", fc.constantFrom("a.apps", "a.apps, b.apps")),
      production ? fc.constant({}) : maybe("USER_LOOKUP_KEY", fc.constant(Buffer.alloc(32, 3).toString("base64"))),
      // documents
      fc.option(fc.integer({ min: 1, max: 30_000_000 }).chain((max) => fc.tuple(fc.constant(max), fc.integer({ min: 1, max }))), {
        nil: undefined
      }).map((t) => (t === undefined ? {} : { MAX_UPLOAD_BYTES: String(t[0]), MAX_DIRECT_UPLOAD_BYTES: String(t[1]) })),
      // worker (IN_PROCESS_WORKERS's default depends on APP_ENV)
      maybe("IN_PROCESS_WORKERS", bool),
      maybe("WORKER_CONCURRENCY", digits(1, 16)),
      maybe("WORKER_LEASE_MS", digits(3_000, 600_000)),
      maybe("WORKER_HEALTH_PORT", digits(0, 65535)),
      // telemetry
      maybe("OTEL_EXPORTER_OTLP_ENDPOINT", fc.constant("http://collector:4318")),
      maybe("OTEL_TRACES_SAMPLER", fc.constantFrom("always_on", "traceidratio", "parentbased_always_off")),
      maybe("OTEL_TRACES_SAMPLER_ARG", fc.double({ min: 0, max: 1, noNaN: true }).map(String)),
      maybe("OTEL_SERVICE_NAME", fc.constant("serenya-api")),
      // audit
      maybe("AUDIT_SEAL_INTERVAL_MS", digits(0, 60_000)),
      maybe("AUDIT_CHECKPOINT_RETENTION_DAYS", digits(1, 3_000)),
      production ? fc.constant({}) : maybe("AUDIT_CHECKPOINT_BUCKET", fc.constant("checkpoints")),
      // timeline cache
      maybe("TIMELINE_CACHE_TTL_MS", digits(0, 600_000)),
      maybe("TIMELINE_CACHE_MAX_USERS", digits(0, 100_000))
    ]
    return fc.tuple(...parts).map((overlays) => Object.assign({}, base, ...overlays) as Record<string, string>)
  })

describe("settings slices: read alone", () => {
  it("property: every slice read alone is what the composed settings provide for it, in any valid environment", () => {
    fc.assert(
      fc.property(environments, (env) => {
        const settings = composed(env)
        if (Result.isFailure(settings)) throw new Error(`the generator made an invalid environment: ${settings.failure}`)
        for (const slice of SLICES) {
          const alone = slice.readAlone(env)
          if (Exit.isFailure(alone)) throw new Error(`${slice.name} read alone failed for a valid environment`)
          expect(plain(alone.value), slice.name).toEqual(plain(slice.fromComposed(settings.success)))
          // and the slice's Config itself gives the same
          expect(plain(Effect.runSync(slice.config.parse(settingsProvider(env)))), slice.name).toEqual(plain(alone.value))
        }
      }),
      { numRuns: 150 }
    )
  })

  it("the slices together are the settings: nothing in Settings belongs to no slice, nothing to two", () => {
    const settings = composed(PRODUCTION_ENV)
    if (Result.isFailure(settings)) throw new Error(settings.failure)
    const app = sliceNamed("app").fromComposed(settings.success) as object
    const http = sliceNamed("http").fromComposed(settings.success) as object
    const nested = SLICES.filter((s) => s.name !== "app" && s.name !== "http").map((s) => s.name)
    const keys = [...Object.keys(app), ...Object.keys(http), ...nested]
    expect(new Set(keys).size).toBe(keys.length)
    expect([...keys].sort()).toEqual(Object.keys(settings.success).sort())
    for (const name of nested) {
      expect(sliceNamed(name).fromComposed(settings.success)).toBe(settings.success[name as keyof Settings])
    }
  })

  it("the defaults that follow APP_ENV are resolved the same way by a slice read alone", () => {
    const value = <A>(name: string, env: Record<string, string>) => {
      const exit = sliceNamed(name).readAlone(env)
      if (Exit.isFailure(exit)) throw new Error(`expected the ${name} slice to read`)
      return exit.value as A
    }
    type Worker = { readonly inProcess: boolean }
    type Auth = { readonly devAuthEnabled: boolean }
    type Database = { readonly migrateOnStart: boolean; readonly ownerUrl: Option.Option<unknown> }
    expect(value<Worker>("worker", {}).inProcess).toBe(true)
    expect(value<Worker>("worker", PRODUCTION_ENV).inProcess).toBe(false)
    expect(value<Worker>("worker", { ...PRODUCTION_ENV, IN_PROCESS_WORKERS: "true" }).inProcess).toBe(true)
    expect(value<Auth>("auth", {}).devAuthEnabled).toBe(true)
    expect(value<Auth>("auth", { APP_ENV: "test" }).devAuthEnabled).toBe(false)
    expect(value<Auth>("auth", PRODUCTION_ENV).devAuthEnabled).toBe(false)
    const local = value<Database>("database", { DATABASE_URL: "postgres://u:p@h/db" })
    expect(local.migrateOnStart).toBe(true)
    expect(Option.isSome(local.ownerUrl)).toBe(true)
    const production = value<Database>("database", PRODUCTION_ENV)
    expect(production.migrateOnStart).toBe(false)
    expect(Option.isNone(production.ownerUrl)).toBe(true)
  })
})

describe("settings slices: problems", () => {
  /** One wrong variable per slice (a bad value, or the slice's own rule across its variables). */
  const cases: ReadonlyArray<readonly [slice: string, env: Record<string, string>, variable: string]> = [
    ["app", { LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    ["app", { SHUTDOWN_TIMEOUT_MS: "soon" }, "SHUTDOWN_TIMEOUT_MS"],
    ["http", { PORT: "70000" }, "PORT"],
    ["http", { RATE_LIMIT_MAX_KEYS: "0" }, "RATE_LIMIT_MAX_KEYS"],
    ["database", { DB_POOL_MAX: "0" }, "DB_POOL_MAX"],
    ["database", { DATABASE_URL: "mysql://u:hunter22@h/db" }, "DATABASE_URL"],
    ["database", { DB_LOCK_TIMEOUT_MS: "5000" }, "DB_LOCK_TIMEOUT_MS"],
    ["database", { APP_ENV: "staging" }, "APP_ENV"],
    ["crypto", { LOCAL_MASTER_KEY: "too-short-secret" }, "LOCAL_MASTER_KEY"],
    ["crypto", { KEY_PROVIDER: "kms", KMS_DOCUMENTS_KEY_ID: "d", KMS_AUDIT_KEY_ID: "a" }, "KMS_FIELDS_KEY_ID"],
    ["storage", { STORAGE_PROVIDER: "s3" }, "S3_BUCKET"],
    ["storage", { S3_FORCE_PATH_STYLE: "sometimes" }, "S3_FORCE_PATH_STYLE"],
    ["notifications", { NOTIFICATIONS_PROVIDER: "sns", SNS_PLATFORM_APPLICATION_ARN_IOS: "arn:aws:sns:eu-west-1:123456789012:app/APNS/ios" }, "SNS_PLATFORM_APPLICATION_ARN_ANDROID"],
    ["notifications", { SNS_PLATFORM_APPLICATION_ARN_IOS: "arn:aws:sns:eu-west-1:123456789012:app/GCM/android" }, "SNS_PLATFORM_APPLICATION_ARN_IOS"],
    ["notifications", { NOTIFY_WEBHOOK_URL: "ftp://push.internal/hook" }, "NOTIFY_WEBHOOK_URL"],
    ["llm", { LLM_PROVIDER: "gpt" }, "LLM_PROVIDER"],
    ["cost", { LLM_MONTHLY_BUDGET_CENTS: "0" }, "LLM_MONTHLY_BUDGET_CENTS"],
    ["plans", { FREE_PLAN_DOCUMENTS_PER_MONTH: "-1" }, "FREE_PLAN_DOCUMENTS_PER_MONTH"],
    ["auth", { USER_LOOKUP_KEY: "ab".repeat(31) }, "USER_LOOKUP_KEY"],
    ["auth", { APP_ENV: "staging" }, "APP_ENV"],
    ["documents", { MAX_DIRECT_UPLOAD_BYTES: "6000000" }, "MAX_DIRECT_UPLOAD_BYTES"],
    ["worker", { WORKER_LEASE_MS: "100" }, "WORKER_LEASE_MS"],
    ["worker", { APP_ENV: "staging" }, "APP_ENV"],
    ["telemetry", { OTEL_TRACES_SAMPLER_ARG: "2" }, "OTEL_TRACES_SAMPLER_ARG"],
    ["audit", { AUDIT_CHECKPOINT_RETENTION_DAYS: "0" }, "AUDIT_CHECKPOINT_RETENTION_DAYS"],
    ["timelineCache", { TIMELINE_CACHE_MAX_USERS: "-1" }, "TIMELINE_CACHE_MAX_USERS"]
  ]

  for (const [name, env, variable] of cases) {
    it(`the ${name} slice read alone with ${JSON.stringify(env)}: fails naming ${variable}, as the whole settings do`, () => {
      const alone = sliceNamed(name).readAlone(env)
      if (Exit.isSuccess(alone)) throw new Error("expected the slice to fail")
      const error = Cause.findErrorOption(alone.cause)
      if (Option.isNone(error)) throw new Error("expected a ConfigError")
      const message = formatConfigError(error.value)
      expect(message).toMatch(/^Invalid configuration: /)
      expect(message).toContain(variable)
      for (const value of Object.values(env)) if (value !== "staging" && value.length > 3) expect(message).not.toContain(value)
      // the whole settings report the same problem in the same words
      const whole = composed(env)
      if (Result.isSuccess(whole)) throw new Error("expected the settings to fail")
      expect(whole.failure).toContain(message.replace(/^Invalid configuration: /, ""))
    })
  }
})

/** A provider over `env` that records every variable looked up (fromEnv reads the record by key: `Object.hasOwn` and `env[key]`). */
const recording = (env: Record<string, string>) => {
  const read = new Set<string>()
  let recordingStarted = false
  const note = (key: string | symbol) => {
    if (recordingStarted && typeof key === "string") read.add(key)
  }
  const proxy = new Proxy(env, {
    get: (target, key, receiver) => (note(key), Reflect.get(target, key, receiver)),
    has: (target, key) => (note(key), Reflect.has(target, key)),
    getOwnPropertyDescriptor: (target, key) => (note(key), Reflect.getOwnPropertyDescriptor(target, key))
  })
  // fromEnv enumerates the record once, here, to find nested names; only lookups after it count
  const provider = settingsProvider(proxy)
  recordingStarted = true
  return { provider, read }
}

/** The variables `config` reads, over environments that take it down every branch we have. */
const variablesOf = (config: Config.Config<unknown>): Set<string> => {
  const all = new Set<string>()
  for (const env of [{}, PRODUCTION_ENV, { STORAGE_PROVIDER: "s3", KEY_PROVIDER: "kms", LLM_PROVIDER: "bedrock", MAX_DIRECT_UPLOAD_BYTES: "9" }]) {
    const { provider, read } = recording({ ...env })
    Effect.runSync(Effect.result(config.parse(provider)))
    for (const name of read) all.add(name)
  }
  return all
}

describe("every variable has one slice", () => {
  it("the recorder sees every lookup, and only lookups", () => {
    const { provider, read } = recording({ UNRELATED: "x", PORT: "8080" })
    Effect.runSync(httpConfig.parse(provider))
    expect(read.has("PORT")).toBe(true)
    expect(read.has("HOST")).toBe(true)
    expect(read.has("UNRELATED")).toBe(false)
  })

  it("each variable the settings read is read by exactly one slice (APP_ENV too is the app slice's; three others read it for their defaults)", () => {
    const settingsVariables = variablesOf(settingsConfig as Config.Config<unknown>)
    const owners = new Map<string, Array<string>>()
    for (const slice of SLICES) for (const name of variablesOf(slice.config)) owners.set(name, [...(owners.get(name) ?? []), slice.name])
    expect([...owners.keys()].sort()).toEqual([...settingsVariables].sort())
    const shared = [...owners].filter(([, slices]) => slices.length > 1)
    expect(shared).toEqual([["APP_ENV", ["app", "database", "auth", "worker"]]])
  })
})

describe("the README's settings table", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8")
  const section = (heading: string) => {
    const start = readme.indexOf(`\n${heading}\n`)
    expect(start, heading).toBeGreaterThanOrEqual(0)
    const end = readme.indexOf("\n## ", start + heading.length + 1)
    return readme.slice(start, end === -1 ? undefined : end)
  }
  /** The backticked variable names in the first column of a section's table rows. */
  const tableVariables = (text: string) =>
    new Set(
      text
        .split("\n")
        .filter((line) => line.startsWith("| `"))
        .flatMap((line) => [...(line.split("|")[1] ?? "").matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!))
    )

  const read = variablesOf(settingsConfig as Config.Config<unknown>)
  // On purpose elsewhere: the OpenTelemetry standard's variables (the telemetry slice) have their own
  // table under "Tracing and metrics"; the Lambda-only ones (src/main/lambda/settings.ts) are not
  // read by the settings at all, and are listed under "Deployment on AWS Lambda".
  const telemetry = variablesOf(telemetryConfig as Config.Config<unknown>)
  const settingsTable = tableVariables(section("## Settings"))

  it("lists every variable the settings read (but the telemetry slice's)", () => {
    expect(read.size).toBeGreaterThan(70)
    expect([...read].filter((name) => !telemetry.has(name) && !settingsTable.has(name))).toEqual([])
  })

  it("lists nothing the settings do not read", () => {
    expect([...settingsTable].filter((name) => !read.has(name) || telemetry.has(name))).toEqual([])
  })

  it("the telemetry slice's variables are documented under Tracing and metrics (`_METRICS_ENDPOINT` after its sibling)", () => {
    const tracing = section("## Tracing and metrics (OpenTelemetry)")
    const documented = (name: string) =>
      tracing.includes(`\`${name}\``) || tracing.includes(`\`_${name.split("_").slice(-2).join("_")}\``)
    expect([...telemetry].filter((name) => !documented(name))).toEqual([])
    expect(telemetry.size).toBe(10)
  })
})

describe("src/config/", () => {
  it("imports no layer, program, HTTP module or entry point (slices are read next to what uses them, never the other way)", () => {
    const dir = path.join(ROOT, "src/config")
    for (const file of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, file), "utf8")
      expect([...text.matchAll(/from "(\.\.\/[^"]+)"/g)].map((m) => m[1]).filter((p) => !/^\.\.\/services\//.test(p!)), file).toEqual([])
    }
  })
})
