/**
 * Every setting the server reads, in one place, through Effect Config. Secrets are
 * Config.Redacted so they never print. The README's settings table mirrors this file.
 */
import { Config, ConfigProvider, Context, Duration, Effect, Layer, type LogLevel, Option, Redacted, Result, Schema, SchemaIssue } from "effect"
import * as path from "node:path"
import { DEFAULT_MODEL_ID, findModel, modelProblem } from "./services/models.js"

export const AppEnv = ["local", "test", "production"] as const
export type AppEnv = (typeof AppEnv)[number]

export interface DatabaseSettings {
  /** The application's role (APP_ROLE). Absent: start the embedded PostgreSQL under DATA_DIR. */
  readonly url: Option.Option<Redacted.Redacted<string>>
  /**
   * DATABASE_OWNER_URL: the schema owner's, which migrations connect as. Unset: DATABASE_URL
   * outside production (one role does both), the embedded superuser without DATABASE_URL, and
   * nothing in production (where only the migrate step may hold it).
   */
  readonly ownerUrl: Option.Option<Redacted.Redacted<string>>
  readonly ssl: boolean
  readonly maxConnections: number
  readonly idleTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
  /**
   * Every statement of the app's sessions: PostgreSQL cancels it after this (`statement_timeout`),
   * and the app gives up on it (a stalled server, a dead socket) a second later.
   */
  readonly statementTimeout: Duration.Duration
  /** A statement waiting this long for a lock fails (`lock_timeout`) instead of queueing. */
  readonly lockTimeout: Duration.Duration
  /** How long the database circuit breaker, once open, fails statements at once before trying again. */
  readonly breakerOpen: Duration.Duration
  readonly migrateOnStart: boolean
  /** Port for the embedded server; 0 picks a free one. */
  readonly embeddedPort: number
}

export interface DataKeyCacheSettings {
  readonly maxAge: Duration.Duration
  readonly maxUses: number
  readonly maxEntries: number
}

export interface CryptoSettings {
  readonly provider: "local" | "kms"
  /** Local provider: overrides the key files under DATA_DIR/keys. */
  readonly localMasterKey: Option.Option<Redacted.Redacted<string>>
  readonly kmsFieldsKeyId: Option.Option<string>
  readonly kmsDocumentsKeyId: Option.Option<string>
  /** KMS HMAC key (HMAC_256, GENERATE_VERIFY_MAC) of the audit trail; required with kms. */
  readonly kmsAuditKeyId: Option.Option<string>
  readonly dataKeyCache: DataKeyCacheSettings
}

/** The audit trail's sealing and its checkpoints outside the database (layers/audit/postgres.ts). */
export interface AuditSettings {
  /** How often this process tries to seal (only one process of the fleet seals at a time); zero: never. */
  readonly sealInterval: Duration.Duration
  /** A checkpoint of the head is written at most this often (when the head moved). */
  readonly checkpointInterval: Duration.Duration
  /** Rows older than this and still unsealed fail `audit:verify`. */
  readonly unsealedGrace: Duration.Duration
  /** S3 bucket (Object Lock, compliance mode) for checkpoints; absent: files under DATA_DIR/audit-checkpoints. */
  readonly checkpointBucket: Option.Option<string>
  /** Days a checkpoint object is locked for (compliance mode retention). */
  readonly checkpointRetentionDays: number
}

export interface StorageSettings {
  readonly provider: "local" | "s3"
  readonly bucket: Option.Option<string>
  /** S3-compatible servers (and tests): an endpoint URL and path-style addressing. */
  readonly endpoint: Option.Option<string>
  readonly forcePathStyle: boolean
}

export interface LLMSettings {
  readonly provider: "offline" | "bedrock"
  readonly bedrockModelId: string
  readonly bedrockRegion: string
}

export interface CostSettings {
  readonly tracker: "postgres" | "dynamodb"
  readonly table: string
  /** DynamoDB-compatible servers (and tests). */
  readonly dynamodbEndpoint: Option.Option<string>
  /** Per user and calendar month; past it, new LLM work fails with QuotaExceeded. */
  readonly monthlyBudgetCents: number
}

/** Free-plan limits per calendar month (UTC); premium has none. */
export interface PlanSettings {
  readonly freeDocumentsPerMonth: number
  readonly freeChatMessagesPerMonth: number
}

export interface AuthSettings {
  /** ES256 (P-256) private key, PEM. Absent outside production: one is created under DATA_DIR/keys. */
  readonly jwtPrivateKey: Option.Option<Redacted.Redacted<string>>
  readonly jwtIssuer: string
  readonly accessTokenTtlSeconds: number
  readonly refreshTokenTtlDays: number
  /** Google OAuth client ids (iOS, Android, web) accepted as ID token audiences. */
  readonly googleClientIds: ReadonlyArray<string>
  readonly googleJwksUrl: string
  /** POST /auth/dev: on by default for APP_ENV=local only; never allowed in production. */
  readonly devAuthEnabled: boolean
  /**
   * HMAC key (32+ bytes, hex or base64) for the lookup hashes of emails and Google subjects.
   * Absent outside production: one is created under DATA_DIR/keys/lookup.key.
   */
  readonly userLookupKey: Option.Option<Redacted.Redacted<string>>
}

/** Uploaded documents. */
export interface DocumentSettings {
  /** Decoded bytes; larger uploads are refused with 413, presigned or direct (src/services/uploadLimits.ts). */
  readonly maxUploadBytes: number
  /**
   * Decoded bytes a direct upload (`POST /documents/upload`, the document in the request) may carry;
   * at most maxUploadBytes. On Lambda the payload limit sets it (LAMBDA_DIRECT_UPLOAD_BYTES).
   */
  readonly maxDirectUploadBytes: number
}

/** The job workers (in-process pool or `npm run worker`). */
export interface WorkerSettings {
  readonly concurrency: number
  /** A claimed job is re-claimable after this long without a heartbeat (heartbeats come every third of it). */
  readonly lease: Duration.Duration
  /** How long an idle worker waits before looking for work again. */
  readonly poll: Duration.Duration
  /** Run the pool inside the HTTP server (the local default); deployments run `npm run worker`. */
  readonly inProcess: boolean
  /** How often the pool sweeps originals that outlived their finished jobs. */
  readonly sweepInterval: Duration.Duration
  /** `npm run worker` answers /health and /ready here for its probes; 0 serves nothing. */
  readonly healthPort: number
}

/** OpenTelemetry export, from the standard OTEL_* variables (see layers/telemetry/otel.ts). */
export interface TelemetrySettings {
  readonly serviceName: Option.Option<string>
  readonly endpoint: Option.Option<string>
  readonly tracesEndpoint: Option.Option<string>
  readonly metricsEndpoint: Option.Option<string>
  readonly protocol: "http/protobuf" | "http/json"
  readonly tracesExporter: "otlp" | "console" | "none"
  readonly metricsExporter: "otlp" | "none"
  readonly metricExportInterval: Duration.Duration
  /** OTEL_TRACES_SAMPLER / _ARG, applied per request before any span exists (http/sampling.ts). */
  readonly sampler: TraceSampler
  readonly samplerRatio: number
}

export const TraceSamplers = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio"
] as const
export type TraceSampler = (typeof TraceSamplers)[number]

/** The per-instance timeline cache (architecture: 5 minutes). */
export interface TimelineCacheSettings {
  /** Zero turns the cache off. */
  readonly ttl: Duration.Duration
  readonly maxUsers: number
}

export interface Settings {
  readonly appEnv: AppEnv
  readonly host: string
  readonly port: number
  readonly dataDir: string
  readonly logLevel: LogLevel.LogLevel
  readonly shutdownTimeout: Duration.Duration
  /** Request bodies larger than this are refused (413) while being read, before any parsing. */
  readonly maxBodyBytes: number
  /** Browser origins allowed by CORS (a web console); the mobile apps need none. */
  readonly corsAllowedOrigins: ReadonlyArray<string>
  /**
   * Proxies in front of us that append to X-Forwarded-For (0: none, the socket's peer is the
   * client; 1: a load balancer; 2: CloudFront and API Gateway).
   */
  readonly trustedProxyHops: number
  /** Token buckets per client IP and per bearer token (requests; refill per second). */
  readonly rateLimit: {
    readonly ipCapacity: number
    readonly ipRefillPerSecond: number
    readonly userCapacity: number
    readonly userRefillPerSecond: number
    readonly maxKeys: number
  }
  readonly awsRegion: string
  readonly database: DatabaseSettings
  readonly crypto: CryptoSettings
  readonly storage: StorageSettings
  readonly llm: LLMSettings
  readonly cost: CostSettings
  readonly plans: PlanSettings
  readonly documents: DocumentSettings
  readonly worker: WorkerSettings
  readonly auth: AuthSettings
  readonly timelineCache: TimelineCacheSettings
  readonly telemetry: TelemetrySettings
  readonly audit: AuditSettings
}

/** A ConfigError naming one variable and what is wrong with it; never its value. */
const invalid = (name: string, message: string): Config.ConfigError =>
  new Config.ConfigError(new Schema.SchemaError(new SchemaIssue.Pointer([name], new SchemaIssue.InvalidValue({ message }))))

/** Our own rule for a variable, failing with our message under the variable's name. */
const check = <A>(name: string, config: Config.Config<A>, valid: (a: A) => boolean, message: string) =>
  Config.mapEffect(config, (a) => (valid(a) ? Effect.succeed(a) : Effect.fail(invalid(name, message))))

/** Several problems as one ConfigError (a composite of their issues), so every one is reported. */
const combine = (errors: ReadonlyArray<Config.ConfigError>): Config.ConfigError => {
  const issues: Array<SchemaIssue.Issue> = []
  for (const error of errors) {
    // the provider could not be read at all: that alone is the problem
    if (error.cause._tag === "SourceError") return error
    const issue = error.cause.issue
    if (issue._tag === "Composite") issues.push(...issue.issues)
    else issues.push(issue)
  }
  const [first, ...rest] = issues
  return first === undefined || rest.length === 0
    ? errors[0]!
    : new Config.ConfigError(new Schema.SchemaError(new SchemaIssue.Composite(Schema.Unknown.ast, [first, ...rest])))
}

type Values<R extends Record<string, Config.Config<unknown>>> = {
  -readonly [K in keyof R]: R[K] extends Config.Config<infer A> ? A : never
}

/**
 * Config.all stops at the first field that fails; this reads every field and fails with all their
 * problems together, so one run names every wrong variable.
 */
const collect = <R extends Record<string, Config.Config<unknown>>>(configs: R): Config.Config<Values<R>> =>
  Config.all(
    Object.fromEntries(
      Object.entries(configs).map(([key, config]) => [
        key,
        config.pipe(
          Config.map((value): Result.Result<unknown, Config.ConfigError> => Result.succeed(value)),
          Config.orElse((error) => Config.succeed(Result.fail(error)))
        )
      ])
    )
  ).pipe(
    Config.mapEffect((results) => {
      const errors: Array<Config.ConfigError> = []
      const values: Record<string, unknown> = {}
      for (const [key, result] of Object.entries(results)) {
        if (Result.isFailure(result)) errors.push(result.failure)
        else values[key] = result.success
      }
      return errors.length === 0 ? Effect.succeed(values as Values<R>) : Effect.fail(combine(errors))
    })
  )

/** USER_LOOKUP_KEY's bytes: 32 or more, as hex digits or (standard or url-safe) base64; undefined otherwise. */
export const lookupKeyBytes = (text: string): Buffer | undefined => {
  const value = text.trim()
  const bytes = /^(?:[0-9a-fA-F]{2})+$/.test(value)
    ? Buffer.from(value, "hex")
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(value)
      ? Buffer.from(value, "base64")
      : undefined
  return bytes !== undefined && bytes.length >= 32 ? bytes : undefined
}

/**
 * A network port the way Effect 3's Config.port read it: the plain digits of 1..65535 (Effect 4's
 * Config.Port also takes forms such as "80.0").
 */
const port = (name: string, fallback: number) =>
  Config.String(name).pipe(
    Config.mapEffect((text) =>
      /^[1-9][0-9]{0,4}$/.test(text) && Number(text) <= 65535
        ? Effect.succeed(Number(text))
        : Effect.fail(invalid(name, "must be a port number (1-65535)"))
    ),
    Config.withDefault(fallback)
  )

const nonNegativeInt = (name: string, fallback: number) =>
  check(name, Config.Int(name).pipe(Config.withDefault(fallback)), (n) => n >= 0, "must be a whole number ≥ 0")

const positiveInt = (name: string, fallback: number) =>
  check(name, Config.Int(name).pipe(Config.withDefault(fallback)), (n) => n >= 1, "must be a whole number ≥ 1")

/** Milliseconds as a plain number: the unit is in the variable's name, so nothing is ambiguous. */
const millis = (name: string, fallback: number) => positiveInt(name, fallback).pipe(Config.map(Duration.millis))

const postgresUrl = (name: string) =>
  check(
    name,
    Config.Redacted(name),
    (url) => /^postgres(ql)?:\/\/\S+$/.test(Redacted.value(url)),
    "must be a postgres:// or postgresql:// URL"
  ).pipe(Config.option)

/** The user a postgres URL names (undefined when it does not parse). */
const userOf = (url: Redacted.Redacted<string>): string | undefined => {
  try {
    return decodeURIComponent(new URL(Redacted.value(url)).username)
  } catch {
    return undefined
  }
}

const logLevel = Config.Literals(["all", "trace", "debug", "info", "warning", "error", "fatal", "none"], "LOG_LEVEL").pipe(
  Config.withDefault("info" as const),
  Config.map((level): LogLevel.LogLevel => {
    switch (level) {
      case "all":
        return "All"
      case "trace":
        return "Trace"
      case "debug":
        return "Debug"
      case "info":
        return "Info"
      case "warning":
        return "Warn"
      case "error":
        return "Error"
      case "fatal":
        return "Fatal"
      case "none":
        return "None"
    }
  })
)

export const settingsConfig: Config.Config<Settings> = collect({
  appEnv: Config.Literals(AppEnv, "APP_ENV").pipe(Config.withDefault("local" as const)),
  host: check("HOST", Config.String("HOST").pipe(Config.withDefault("127.0.0.1")), (h) => h.trim() !== "", "must not be empty"),
  port: port("PORT", 3000),
  dataDir: Config.String("DATA_DIR").pipe(Config.withDefault("./.data"), Config.map((dir) => path.resolve(dir))),
  logLevel,
  shutdownTimeout: millis("SHUTDOWN_TIMEOUT_MS", 10_000),
  // API Gateway caps payloads at 10 MB; a 5 MiB document is ~6.7 MiB as base64 JSON.
  maxBodyBytes: positiveInt("MAX_BODY_BYTES", 8 * 1024 * 1024),
  rateLimit: collect({
    ipCapacity: positiveInt("RATE_LIMIT_IP_CAPACITY", 120),
    ipRefillPerSecond: positiveInt("RATE_LIMIT_IP_REFILL_PER_SECOND", 2),
    userCapacity: positiveInt("RATE_LIMIT_USER_CAPACITY", 60),
    userRefillPerSecond: positiveInt("RATE_LIMIT_USER_REFILL_PER_SECOND", 1),
    maxKeys: positiveInt("RATE_LIMIT_MAX_KEYS", 10_000)
  }),
  trustedProxyHops: nonNegativeInt("TRUSTED_PROXY_HOPS", 0),
  corsAllowedOrigins: Config.Array(Schema.String, "CORS_ALLOWED_ORIGINS").pipe(
    Config.withDefault([] as ReadonlyArray<string>),
    Config.map((origins) => origins.map((o) => o.trim()).filter((o) => o !== ""))
  ),
  awsRegion: Config.String("AWS_REGION").pipe(Config.withDefault("eu-west-1")),
  crypto: collect({
    provider: Config.Literals(["local", "kms"], "KEY_PROVIDER").pipe(Config.withDefault("local" as const)),
    localMasterKey: check(
      "LOCAL_MASTER_KEY",
      Config.Redacted("LOCAL_MASTER_KEY"),
      (key) => /^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/.test(Redacted.value(key).trim()),
      "must be 32 bytes as 64 hex digits or base64"
    ).pipe(Config.option),
    kmsFieldsKeyId: Config.String("KMS_FIELDS_KEY_ID").pipe(Config.option),
    kmsDocumentsKeyId: Config.String("KMS_DOCUMENTS_KEY_ID").pipe(Config.option),
    kmsAuditKeyId: Config.String("KMS_AUDIT_KEY_ID").pipe(Config.option),
    dataKeyCache: collect({
      maxAge: millis("DATA_KEY_CACHE_MAX_AGE_MS", 5 * 60_000),
      maxUses: positiveInt("DATA_KEY_CACHE_MAX_USES", 1000),
      maxEntries: positiveInt("DATA_KEY_CACHE_MAX_ENTRIES", 1000)
    })
  }),
  storage: collect({
    provider: Config.Literals(["local", "s3"], "STORAGE_PROVIDER").pipe(Config.withDefault("local" as const)),
    bucket: Config.String("S3_BUCKET").pipe(Config.option),
    endpoint: Config.String("S3_ENDPOINT").pipe(Config.option),
    forcePathStyle: Config.Boolean("S3_FORCE_PATH_STYLE").pipe(Config.withDefault(false))
  }),
  llm: collect({
    provider: Config.Literals(["offline", "bedrock"], "LLM_PROVIDER").pipe(Config.withDefault("offline" as const)),
    bedrockModelId: Config.String("BEDROCK_MODEL_ID").pipe(Config.withDefault(DEFAULT_MODEL_ID)),
    bedrockRegion: Config.String("BEDROCK_REGION").pipe(Config.withDefault("eu-west-1"))
  }),
  cost: collect({
    tracker: Config.Literals(["postgres", "dynamodb"], "COST_TRACKER").pipe(Config.withDefault("postgres" as const)),
    table: Config.String("COST_TRACKING_TABLE").pipe(Config.withDefault("serenya-llm-cost-tracking")),
    dynamodbEndpoint: Config.String("DYNAMODB_ENDPOINT").pipe(Config.option),
    monthlyBudgetCents: positiveInt("LLM_MONTHLY_BUDGET_CENTS", 500)
  }),
  documents: collect({
    maxUploadBytes: positiveInt("MAX_UPLOAD_BYTES", 5 * 1024 * 1024),
    maxDirectUploadBytes: check(
      "MAX_DIRECT_UPLOAD_BYTES",
      Config.Int("MAX_DIRECT_UPLOAD_BYTES"),
      (n) => n >= 1,
      "must be a whole number ≥ 1"
    ).pipe(Config.option)
  }).pipe(
    // unset: direct uploads take what presigned ones take (the local server has no payload limit of its own)
    Config.map(({ maxUploadBytes, maxDirectUploadBytes }) => ({
      maxUploadBytes,
      maxDirectUploadBytes: Option.getOrElse(maxDirectUploadBytes, () => maxUploadBytes)
    }))
  ),
  worker: collect({
    concurrency: positiveInt("WORKER_CONCURRENCY", 2),
    lease: check("WORKER_LEASE_MS", millis("WORKER_LEASE_MS", 60_000), (d) => Duration.toMillis(d) >= 3_000, "must be at least 3000"),
    poll: millis("WORKER_POLL_MS", 500),
    inProcess: Config.Boolean("IN_PROCESS_WORKERS").pipe(Config.option),
    sweepInterval: millis("WORKER_SWEEP_MS", 60_000),
    healthPort: check(
      "WORKER_HEALTH_PORT",
      nonNegativeInt("WORKER_HEALTH_PORT", 3001),
      (n) => n <= 65535,
      "must be a port number (0 serves nothing)"
    )
  }),
  telemetry: collect({
    serviceName: Config.String("OTEL_SERVICE_NAME").pipe(Config.option),
    endpoint: Config.String("OTEL_EXPORTER_OTLP_ENDPOINT").pipe(Config.option),
    tracesEndpoint: Config.String("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").pipe(Config.option),
    metricsEndpoint: Config.String("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").pipe(Config.option),
    protocol: Config.Literals(["http/protobuf", "http/json"], "OTEL_EXPORTER_OTLP_PROTOCOL").pipe(
      Config.withDefault("http/protobuf" as const)
    ),
    tracesExporter: Config.Literals(["otlp", "console", "none"], "OTEL_TRACES_EXPORTER").pipe(Config.withDefault("otlp" as const)),
    metricsExporter: Config.Literals(["otlp", "none"], "OTEL_METRICS_EXPORTER").pipe(Config.withDefault("otlp" as const)),
    metricExportInterval: millis("OTEL_METRIC_EXPORT_INTERVAL", 60_000),
    sampler: Config.Literals(TraceSamplers, "OTEL_TRACES_SAMPLER").pipe(Config.withDefault("parentbased_always_on" as const)),
    samplerRatio: check(
      "OTEL_TRACES_SAMPLER_ARG",
      Config.Finite("OTEL_TRACES_SAMPLER_ARG").pipe(Config.withDefault(1)),
      (n) => n >= 0 && n <= 1,
      "must be a number between 0 and 1"
    )
  }),
  audit: collect({
    sealInterval: nonNegativeInt("AUDIT_SEAL_INTERVAL_MS", 5_000).pipe(Config.map(Duration.millis)),
    checkpointInterval: nonNegativeInt("AUDIT_CHECKPOINT_INTERVAL_MS", 300_000).pipe(Config.map(Duration.millis)),
    unsealedGrace: millis("AUDIT_UNSEALED_GRACE_MS", 15 * 60_000),
    checkpointBucket: Config.String("AUDIT_CHECKPOINT_BUCKET").pipe(Config.option),
    checkpointRetentionDays: positiveInt("AUDIT_CHECKPOINT_RETENTION_DAYS", 2_190)
  }),
  timelineCache: collect({
    ttl: nonNegativeInt("TIMELINE_CACHE_TTL_MS", 300_000).pipe(Config.map(Duration.millis)),
    maxUsers: nonNegativeInt("TIMELINE_CACHE_MAX_USERS", 10_000)
  }),
  plans: collect({
    freeDocumentsPerMonth: nonNegativeInt("FREE_PLAN_DOCUMENTS_PER_MONTH", 10),
    freeChatMessagesPerMonth: nonNegativeInt("FREE_PLAN_CHAT_MESSAGES_PER_MONTH", 50)
  }),
  auth: collect({
    jwtPrivateKey: check(
      "JWT_PRIVATE_KEY",
      Config.Redacted("JWT_PRIVATE_KEY"),
      (pem) => Redacted.value(pem).includes("PRIVATE KEY-----"),
      "must be a PEM private key (ES256, P-256)"
    ).pipe(Config.option),
    jwtIssuer: Config.String("JWT_ISSUER").pipe(Config.withDefault("serenya")),
    accessTokenTtlSeconds: positiveInt("ACCESS_TOKEN_TTL_SECONDS", 900),
    refreshTokenTtlDays: positiveInt("REFRESH_TOKEN_TTL_DAYS", 30),
    googleClientIds: Config.Array(Schema.String, "GOOGLE_CLIENT_IDS").pipe(
      Config.withDefault([] as ReadonlyArray<string>),
      Config.map((ids) => ids.map((id) => id.trim()).filter((id) => id !== ""))
    ),
    googleJwksUrl: Config.String("GOOGLE_JWKS_URL").pipe(Config.withDefault("https://www.googleapis.com/oauth2/v3/certs")),
    devAuthEnabled: Config.Boolean("DEV_AUTH_ENABLED").pipe(Config.option),
    userLookupKey: check(
      "USER_LOOKUP_KEY",
      Config.Redacted("USER_LOOKUP_KEY"),
      (key) => lookupKeyBytes(Redacted.value(key)) !== undefined,
      "must be at least 32 bytes as hex digits or base64"
    ).pipe(Config.option)
  }),
  database: collect({
    url: postgresUrl("DATABASE_URL"),
    ownerUrl: postgresUrl("DATABASE_OWNER_URL"),
    ssl: Config.Boolean("DATABASE_SSL").pipe(Config.withDefault(false)),
    maxConnections: positiveInt("DB_POOL_MAX", 20),
    idleTimeout: millis("DB_POOL_IDLE_TIMEOUT_MS", 30_000),
    connectTimeout: millis("DB_CONNECT_TIMEOUT_MS", 2_000),
    // The architecture's database timeout (services/resilience.ts Timeouts.database) and breaker timeout.
    statementTimeout: millis("DB_STATEMENT_TIMEOUT_MS", 5_000),
    lockTimeout: millis("DB_LOCK_TIMEOUT_MS", 2_000),
    breakerOpen: millis("DB_BREAKER_OPEN_MS", 15_000),
    migrateOnStart: Config.Boolean("MIGRATE_ON_START").pipe(Config.option),
    embeddedPort: check(
      "EMBEDDED_PG_PORT",
      nonNegativeInt("EMBEDDED_PG_PORT", 0),
      (n) => n <= 65535,
      "must be a port number (0 picks a free one)"
    )
  })
}).pipe(
  Config.map(({ database, auth, worker, ...rest }) => ({
    ...rest,
    worker: { ...worker, inProcess: Option.getOrElse(worker.inProcess, () => rest.appEnv !== "production") },
    auth: { ...auth, devAuthEnabled: Option.getOrElse(auth.devAuthEnabled, () => rest.appEnv === "local") },
    database: {
      ...database,
      ownerUrl: Option.orElse(database.ownerUrl, () => (rest.appEnv === "production" ? Option.none() : database.url)),
      // Deployments run `npm run migrate` as a separate step; everywhere else start-up migrates.
      migrateOnStart: Option.getOrElse(database.migrateOnStart, () => rest.appEnv !== "production")
    }
  })),
  Config.mapEffect((s) => {
    const problems: Array<Config.ConfigError> = []
    const require = (ok: boolean, name: string, message: string) => {
      if (!ok) problems.push(invalid(name, message))
    }
    require(
      s.appEnv !== "production" || Option.isSome(s.database.url),
      "DATABASE_URL",
      "is required when APP_ENV=production (the embedded database is for local use)"
    )
    // Production never runs the application as the owner of its tables (who could rewrite the audit trail).
    require(
      s.appEnv !== "production" || !s.database.migrateOnStart || Option.isSome(s.database.ownerUrl),
      "DATABASE_OWNER_URL",
      "is required when APP_ENV=production and MIGRATE_ON_START=true (migrations run as the schema's owner, the application as its own role)"
    )
    require(
      s.appEnv !== "production" ||
        Option.isNone(s.database.url) ||
        Option.isNone(s.database.ownerUrl) ||
        userOf(s.database.url.value) !== userOf(s.database.ownerUrl.value),
      "DATABASE_URL",
      "must name the application's role, not the owner of DATABASE_OWNER_URL, when APP_ENV=production"
    )
    require(
      s.appEnv !== "production" || s.crypto.provider === "kms",
      "KEY_PROVIDER",
      "must be kms when APP_ENV=production (a local master key is for local use)"
    )
    require(
      Duration.isLessThan(s.database.lockTimeout, s.database.statementTimeout),
      "DB_LOCK_TIMEOUT_MS",
      "must be below DB_STATEMENT_TIMEOUT_MS (a lock wait is part of its statement)"
    )
    require(s.crypto.provider !== "kms" || Option.isSome(s.crypto.kmsFieldsKeyId), "KMS_FIELDS_KEY_ID", "is required when KEY_PROVIDER=kms")
    require(
      s.crypto.provider !== "kms" || Option.isSome(s.crypto.kmsDocumentsKeyId),
      "KMS_DOCUMENTS_KEY_ID",
      "is required when KEY_PROVIDER=kms"
    )
    require(s.crypto.provider !== "kms" || Option.isSome(s.crypto.kmsAuditKeyId), "KMS_AUDIT_KEY_ID", "is required when KEY_PROVIDER=kms")
    require(
      s.appEnv !== "production" || Option.isSome(s.audit.checkpointBucket),
      "AUDIT_CHECKPOINT_BUCKET",
      "is required when APP_ENV=production (audit checkpoints must live outside the database and the instance)"
    )
    require(s.storage.provider !== "s3" || Option.isSome(s.storage.bucket), "S3_BUCKET", "is required when STORAGE_PROVIDER=s3")
    require(
      s.appEnv !== "production" || !s.auth.devAuthEnabled,
      "DEV_AUTH_ENABLED",
      "can never be on when APP_ENV=production"
    )
    require(
      s.appEnv !== "production" || Option.isSome(s.auth.jwtPrivateKey),
      "JWT_PRIVATE_KEY",
      "is required when APP_ENV=production"
    )
    require(
      s.appEnv !== "production" || Option.isSome(s.auth.userLookupKey),
      "USER_LOOKUP_KEY",
      "is required when APP_ENV=production"
    )
    require(
      s.appEnv !== "production" || s.auth.googleClientIds.length > 0,
      "GOOGLE_CLIENT_IDS",
      "is required when APP_ENV=production"
    )
    require(
      s.appEnv !== "production" || s.llm.provider === "bedrock",
      "LLM_PROVIDER",
      "must be bedrock when APP_ENV=production (the offline provider is for local use)"
    )
    require(
      s.documents.maxDirectUploadBytes <= s.documents.maxUploadBytes,
      "MAX_DIRECT_UPLOAD_BYTES",
      "must not be above MAX_UPLOAD_BYTES (a direct upload is an upload)"
    )
    // The model table (src/services/models.ts) decides: production calls only a model it knows, active,
    // offered in BEDROCK_REGION and keeping the data in the EU; nowhere is a retired one called.
    if (s.llm.provider === "bedrock") {
      const problem = modelProblem(s.llm.bedrockModelId, s.llm.bedrockRegion)
      const known = findModel(s.llm.bedrockModelId)
      require(
        problem === undefined || (s.appEnv !== "production" && (known === undefined || known.status === "active")),
        "BEDROCK_MODEL_ID",
        problem ?? ""
      )
    }
    return problems.length === 0 ? Effect.succeed(s) : Effect.fail(combine(problems))
  })
)

export class AppConfig extends Context.Service<AppConfig, Settings>()("AppConfig") {
  /** Reads the settings from the current ConfigProvider (the environment by default). */
  static readonly layer = Layer.effect(AppConfig, settingsConfig)
}

/**
 * One line for a person: which variable, what is wrong. A ConfigError holds a schema issue tree
 * (several problems: a composite); we report every leaf, joined, and never the offending value.
 */
export const formatConfigError = (error: Config.ConfigError): string => {
  const leaves: Array<string> = []
  const cause = error.cause
  if (cause._tag === "SourceError") {
    leaves.push(`configuration ${describe(cause.message)}`)
  } else {
    const walk = (issue: SchemaIssue.Issue, at: ReadonlyArray<PropertyKey>): void => {
      switch (issue._tag) {
        case "Pointer":
          return walk(issue.issue, [...at, ...issue.path])
        case "Composite":
          return issue.issues.forEach((inner) => walk(inner, at))
        default: {
          const missing = isMissing(issue)
          for (const leaf of formatIssue(issue).issues) {
            const path = [...at, ...(leaf.path ?? []).map((p) => (typeof p === "object" ? p.key : p))]
            const name = path.length > 0 ? path.map(String).join("_") : "configuration"
            leaves.push(`${name} ${missing ? "is required but not set" : describe(leaf.message)}`)
          }
        }
      }
    }
    walk(cause.issue, [])
  }
  return `Invalid configuration: ${[...new Set(leaves)].join("; ")}`
}

const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/** A variable that is not set at all (a required one without a default). */
const isMissing = (issue: SchemaIssue.Issue): boolean => {
  switch (issue._tag) {
    case "MissingKey":
      return true
    case "InvalidType":
      return issue.input === undefined
    case "Encoding":
    case "Filter":
    case "Pointer":
      return isMissing(issue.issue)
    default:
      return false
  }
}

// Effect's messages can name the received value; strip it so a mistyped secret never reaches a terminal or log.
// Two of them list or describe values in a way that reads badly (and would echo a value like "0"): say it plainly.
const describe = (message: string): string =>
  (/^Expected "true" \| "yes" \|/.test(message)
    ? "must be a boolean value (true or false)"
    : /^Expected a string representing a finite number/.test(message)
      ? "must be a number"
      : message
  )
    .replace(/,?\s*but received .*$/s, "")
    .replace(/,\s*got .*$/s, "")
    .replace(/^Expected /, "must be ")
    .replace(/\s+/g, " ")
    .trim()

/**
 * The environment (or `env`) as settings read it: an empty variable is a value, as in Effect 3
 * (Effect 4's env provider would treat it as unset and fall back to the default).
 */
export const settingsProvider = (env?: Record<string, string>): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromEnv({ env, preserveEmptyStrings: true })

/** Reads settings (from the environment unless a provider is given) or returns the one-line explanation of what is wrong. */
export const loadSettings = (
  provider: ConfigProvider.ConfigProvider = settingsProvider()
): Effect.Effect<Result.Result<Settings, string>> =>
  Effect.result(settingsConfig.parse(provider)).pipe(Effect.map(Result.mapError(formatConfigError)))
