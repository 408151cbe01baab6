/**
 * The application's settings: the slices of src/config/ (one per capability, each read next to
 * what uses it) composed into one `Settings`, with the cross-checks between them (production's above
 * all) applied once. Secrets are Config.Redacted so they never print. The README's settings table
 * lists exactly the variables read here (test/config/slices.test.ts derives them from this file).
 */
import { Config, ConfigProvider, Context, Duration, Effect, Layer, Option, Result, SchemaIssue } from "effect"
import { SessionLifetime } from "./services/auth.js"
import { findModel, modelProblem } from "./services/models.js"
import { PlanLimits } from "./services/plans.js"
import { UploadLimits } from "./services/uploadLimits.js"
import { AppInfoConfig, appInfoConfig, type AppInfoSettings } from "./config/app.js"
import { AuditConfig, auditConfig, type AuditSettings } from "./config/audit.js"
import { AuthConfig, authConfig, type AuthSettings } from "./config/auth.js"
import { CostConfig, costConfig, type CostSettings } from "./config/cost.js"
import { CryptoConfig, cryptoProblems, type CryptoSettings, cryptoValues } from "./config/crypto.js"
import { DatabaseConfig, databaseProblems, type DatabaseSettings, databaseValues } from "./config/database.js"
import { DocumentsConfig, documentsProblems, type DocumentSettings, documentsValues } from "./config/documents.js"
import { HttpConfig, httpConfig, type HttpSettings } from "./config/http.js"
import { LLMConfig, llmConfig, type LLMSettings } from "./config/llm.js"
import {
  NotificationsConfig,
  notificationsProblems,
  type NotificationsSettings,
  notificationsValues,
  parsePlatformApplicationArn
} from "./config/notifications.js"
import { PlansConfig, plansConfig, type PlanSettings } from "./config/plans.js"
import { collect, combine, invalid, userOf } from "./config/shared.js"
import { StorageConfig, storageProblems, type StorageSettings, storageValues } from "./config/storage.js"
import { TelemetryConfig, telemetryConfig, type TelemetrySettings } from "./config/telemetry.js"
import { TimelineCacheConfig, timelineCacheConfig, type TimelineCacheSettings } from "./config/timelineCache.js"
import { WorkerConfig, workerConfig, type WorkerSettings } from "./config/worker.js"

export { AppEnv } from "./config/shared.js"
export { lookupKeyBytes } from "./config/auth.js"
export type {
  AppInfoSettings,
  AuditSettings,
  AuthSettings,
  CostSettings,
  CryptoSettings,
  DatabaseSettings,
  DocumentSettings,
  HttpSettings,
  LLMSettings,
  NotificationsSettings,
  PlanSettings,
  StorageSettings,
  TelemetrySettings,
  TimelineCacheSettings,
  WorkerSettings
}
export type { DataKeyCacheSettings } from "./config/crypto.js"
export { type TraceSampler, TraceSamplers } from "./config/telemetry.js"

/** Every slice together, in the shape entry points have always read (`settings.storage.bucket`, `settings.port`). */
export interface Settings extends AppInfoSettings, HttpSettings {
  readonly database: DatabaseSettings
  readonly crypto: CryptoSettings
  readonly storage: StorageSettings
  readonly notifications: NotificationsSettings
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

/**
 * Every slice read (each field of each, so one run names every wrong variable), then the checks
 * across them. The slices' own rules (databaseProblems …) are applied here, in their place among
 * the cross-checks, rather than inside the slices: a slice failing would hide the others' problems.
 */
export const settingsConfig: Config.Config<Settings> = collect({
  app: appInfoConfig,
  http: httpConfig,
  crypto: cryptoValues,
  storage: storageValues,
  notifications: notificationsValues,
  llm: llmConfig,
  cost: costConfig,
  documents: documentsValues,
  worker: workerConfig,
  telemetry: telemetryConfig,
  audit: auditConfig,
  timelineCache: timelineCacheConfig,
  plans: plansConfig,
  auth: authConfig,
  database: databaseValues
}).pipe(
  Config.map(({ app, http, ...slices }): Settings => ({ ...app, ...http, ...slices })),
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
    // DB_LOCK_TIMEOUT_MS below DB_STATEMENT_TIMEOUT_MS
    problems.push(...databaseProblems(s.database))
    // KMS_FIELDS_KEY_ID, KMS_DOCUMENTS_KEY_ID and KMS_AUDIT_KEY_ID with KEY_PROVIDER=kms
    problems.push(...cryptoProblems(s.crypto))
    require(
      s.appEnv !== "production" || Option.isSome(s.audit.checkpointBucket),
      "AUDIT_CHECKPOINT_BUCKET",
      "is required when APP_ENV=production (audit checkpoints must live outside the database and the instance)"
    )
    // S3_BUCKET with STORAGE_PROVIDER=s3
    problems.push(...storageProblems(s.storage))
    require(
      s.appEnv !== "production" || s.notifications.provider === "sns",
      "NOTIFICATIONS_PROVIDER",
      "must be sns when APP_ENV=production (the local webhook is for local use)"
    )
    // SNS_PLATFORM_APPLICATION_ARN_IOS and _ANDROID with NOTIFICATIONS_PROVIDER=sns
    problems.push(...notificationsProblems(s.notifications))
    // an endpoint ARN is usable only in its application's Region, and the SNS client is in AWS_REGION
    if (s.notifications.provider === "sns") {
      for (const [name, arn] of [
        ["SNS_PLATFORM_APPLICATION_ARN_IOS", s.notifications.iosApplicationArn],
        ["SNS_PLATFORM_APPLICATION_ARN_ANDROID", s.notifications.androidApplicationArn]
      ] as const) {
        const region = Option.isSome(arn) ? parsePlatformApplicationArn(arn.value)?.region : undefined
        require(region === undefined || region === s.awsRegion, name, "must name a platform application in AWS_REGION's Region")
      }
    }
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
    // MAX_DIRECT_UPLOAD_BYTES at most MAX_UPLOAD_BYTES
    problems.push(...documentsProblems(s.documents))
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

/**
 * What configLayer provides: every slice, and the few numbers use cases need of the settings as
 * small services of their own (UploadLimits, PlanLimits, SessionLifetime). There is no tag for the
 * whole settings: entry points pass `Settings` as a value to the function that picks layers
 * (src/main/layers.ts), and everything else requires only what it reads.
 */
export type ConfigServices =
  | UploadLimits
  | PlanLimits
  | SessionLifetime
  | AppInfoConfig
  | HttpConfig
  | DatabaseConfig
  | CryptoConfig
  | StorageConfig
  | NotificationsConfig
  | LLMConfig
  | CostConfig
  | PlansConfig
  | AuthConfig
  | DocumentsConfig
  | WorkerConfig
  | TelemetryConfig
  | AuditConfig
  | TimelineCacheConfig

/**
 * Every slice tag (and the use cases' limits) from one validated `Settings`: the cross-checks ran once (in
 * loadSettings), and every layer sees the same values. Entry points and test support provide this.
 */
export const configLayer = (settings: Settings): Layer.Layer<ConfigServices> =>
  Layer.succeedContext(
    Context.make(UploadLimits, settings.documents).pipe(
      Context.add(PlanLimits, {
        freeDocumentsPerMonth: settings.plans.freeDocumentsPerMonth,
        freeChatMessagesPerMonth: settings.plans.freeChatMessagesPerMonth,
        llmBudgetCentsPerMonth: settings.cost.monthlyBudgetCents
      }),
      Context.add(SessionLifetime, { refreshToken: Duration.days(settings.auth.refreshTokenTtlDays) }),
      Context.add(AppInfoConfig, {
        appEnv: settings.appEnv,
        dataDir: settings.dataDir,
        logLevel: settings.logLevel,
        shutdownTimeout: settings.shutdownTimeout,
        awsRegion: settings.awsRegion,
        appVersion: settings.appVersion
      }),
      Context.add(HttpConfig, {
        host: settings.host,
        port: settings.port,
        maxBodyBytes: settings.maxBodyBytes,
        corsAllowedOrigins: settings.corsAllowedOrigins,
        trustedProxyHops: settings.trustedProxyHops,
        rateLimit: settings.rateLimit
      }),
      Context.add(DatabaseConfig, settings.database),
      Context.add(CryptoConfig, settings.crypto),
      Context.add(StorageConfig, settings.storage),
      Context.add(NotificationsConfig, settings.notifications),
      Context.add(LLMConfig, settings.llm),
      Context.add(CostConfig, settings.cost),
      Context.add(PlansConfig, settings.plans),
      Context.add(AuthConfig, settings.auth),
      Context.add(DocumentsConfig, settings.documents),
      Context.add(WorkerConfig, settings.worker),
      Context.add(TelemetryConfig, settings.telemetry),
      Context.add(AuditConfig, settings.audit),
      Context.add(TimelineCacheConfig, settings.timelineCache)
    )
  )

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
