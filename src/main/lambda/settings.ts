/**
 * What only the Lambda functions read, beside the application's settings (src/config.ts): where
 * the secrets are, the proxy endpoint, the job queue. At init the secrets become the environment
 * variables the application's settings expect (DATABASE_URL, DATABASE_OWNER_URL, JWT_PRIVATE_KEY,
 * USER_LOOKUP_KEY), so src/config.ts stays the one reader of application settings.
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager"
import { Config, Data, Effect, Option, Schema } from "effect"
import { awsErrorName } from "../../layers/aws/errors.js"
import { AwsSdk } from "../../layers/aws/sdk.js"
import { fnTraced } from "../../services/telemetry.js"

export interface LambdaSettings {
  /** The application role's credentials (every function). */
  readonly databaseSecretArn: Option.Option<string>
  /** The schema owner's (the RDS master user's): the migrate function only. */
  readonly databaseOwnerSecretArn: Option.Option<string>
  /** The RDS Proxy endpoint; the secret's own host is the instance, which functions never reach. */
  readonly databaseHost: Option.Option<string>
  readonly databasePort: Option.Option<number>
  readonly databaseSslMode: string
  readonly jwtSecretArn: Option.Option<string>
  readonly userLookupKeySecretArn: Option.Option<string>
  readonly jobQueueUrl: Option.Option<string>
  /** The job queue's redrive maxReceiveCount: the delivery that reaches it is the last one. */
  readonly jobQueueMaxReceiveCount: number
  /** The job queue's dead-letter queue, which the processor also consumes (to fail its jobs). */
  readonly jobDeadLetterQueueArn: Option.Option<string>
}

export const lambdaSettingsConfig: Config.Config<LambdaSettings> = Config.all({
  databaseSecretArn: Config.String("DATABASE_SECRET_ARN").pipe(Config.option),
  databaseOwnerSecretArn: Config.String("DATABASE_OWNER_SECRET_ARN").pipe(Config.option),
  databaseHost: Config.String("DATABASE_HOST").pipe(Config.option),
  databasePort: Config.Port("DATABASE_PORT").pipe(Config.option),
  databaseSslMode: Config.Literals(["require", "verify-ca", "verify-full", "disable"], "DATABASE_SSLMODE").pipe(
    // pg treats require and verify-ca as verify-full anyway (with a warning); the proxy's certificate is public
    Config.withDefault("verify-full" as const)
  ),
  jwtSecretArn: Config.String("JWT_SECRET_ARN").pipe(Config.option),
  userLookupKeySecretArn: Config.String("USER_LOOKUP_KEY_SECRET_ARN").pipe(Config.option),
  jobQueueUrl: Config.String("JOB_QUEUE_URL").pipe(Config.option),
  jobQueueMaxReceiveCount: Config.Int("JOB_QUEUE_MAX_RECEIVE_COUNT").pipe(Config.withDefault(5)),
  jobDeadLetterQueueArn: Config.String("JOB_DLQ_ARN").pipe(Config.option)
})

export class SecretUnavailable extends Data.TaggedError("SecretUnavailable")<{
  readonly variable: string
  readonly reason: string
}> {
  override get message() {
    return `${this.variable} could not be read from Secrets Manager: ${this.reason}`
  }
}

/** The RDS-generated secret's shape (its host is ignored in favour of the proxy's). */
const DatabaseSecret = Schema.Struct({
  username: Schema.String,
  password: Schema.String,
  host: Schema.optional(Schema.String),
  // Finite: a port "abc" must not become NaN (Effect 4's NumberFromString/Number accept NaN)
  port: Schema.optional(Schema.Union([Schema.Finite, Schema.FiniteFromString])),
  dbname: Schema.optional(Schema.String)
})

export interface DatabaseSecret {
  readonly username: string
  readonly password: string
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly dbname?: string | undefined
}

/** postgres://user:password@host:port/db?sslmode=…, every part escaped. */
export const databaseUrlFrom = (
  secret: DatabaseSecret,
  options: { readonly host: Option.Option<string>; readonly port: Option.Option<number>; readonly sslMode: string }
): string => {
  const host = Option.getOrElse(options.host, () => secret.host ?? "localhost")
  const port = Option.getOrElse(options.port, () => secret.port ?? 5432)
  const database = encodeURIComponent(secret.dbname ?? "postgres")
  return `postgres://${encodeURIComponent(secret.username)}:${encodeURIComponent(secret.password)}@${host}:${port}/${database}?sslmode=${options.sslMode}`
}

export type SecretReader = (secretId: string) => Promise<string | undefined>

/**
 * Reads secrets with `client`, or with a client for the function's region created on the first
 * read: the SDK loads only when some secret is to be read (no ARN configured, or every variable
 * already set, loads nothing).
 */
export const secretsManagerReader = (client?: Pick<SecretsManagerClient, "send">): SecretReader => {
  let created: Pick<SecretsManagerClient, "send"> | undefined = client
  return async (secretId) => {
    const sdk = await Effect.runPromise(AwsSdk.secretsManager)
    created ??= new sdk.SecretsManagerClient({})
    return (await created.send(new sdk.GetSecretValueCommand({ SecretId: secretId }))).SecretString
  }
}

const read = (reader: SecretReader, variable: string, secretId: string) =>
  Effect.tryPromise({
    try: () => reader(secretId),
    catch: (cause) => new SecretUnavailable({ variable, reason: awsErrorName(cause) })
  }).pipe(
    Effect.flatMap((value) =>
      value === undefined || value === ""
        ? Effect.fail(new SecretUnavailable({ variable, reason: "the secret has no string value" }))
        : Effect.succeed(value)
    )
  )

/**
 * Sets DATABASE_URL and DATABASE_OWNER_URL (+ DATABASE_SSL), JWT_PRIVATE_KEY and USER_LOOKUP_KEY in `env` from the
 * secrets the settings name; a variable already set wins (local runs, tests). Values never log.
 */
export const resolveSecrets = fnTraced("Lambda.resolveSecrets")(function* (
  settings: LambdaSettings,
  reader: SecretReader,
  env: Record<string, string | undefined> = process.env
) {
  const tasks: Array<Effect.Effect<void, SecretUnavailable>> = []
  const database = (variable: "DATABASE_URL" | "DATABASE_OWNER_URL", arn: Option.Option<string>) => {
    if (env[variable] !== undefined || Option.isNone(arn)) return
    tasks.push(
      read(reader, variable, arn.value).pipe(
        Effect.flatMap((text) =>
          Effect.try({
            try: () => Schema.decodeUnknownSync(Schema.fromJsonString(DatabaseSecret))(text),
            catch: () => new SecretUnavailable({ variable, reason: "the secret is not the RDS JSON shape" })
          })
        ),
        Effect.map((secret) => {
          env[variable] = databaseUrlFrom(secret, {
            host: settings.databaseHost,
            port: settings.databasePort,
            sslMode: settings.databaseSslMode
          })
          if (settings.databaseSslMode !== "disable") env.DATABASE_SSL = "true"
        })
      )
    )
  }
  database("DATABASE_URL", settings.databaseSecretArn)
  database("DATABASE_OWNER_URL", settings.databaseOwnerSecretArn)
  const plain = (variable: string, arn: Option.Option<string>) => {
    if (env[variable] === undefined && Option.isSome(arn)) {
      tasks.push(read(reader, variable, arn.value).pipe(Effect.map((value) => void (env[variable] = value))))
    }
  }
  plain("JWT_PRIVATE_KEY", settings.jwtSecretArn)
  plain("USER_LOOKUP_KEY", settings.userLookupKeySecretArn)
  yield* Effect.all(tasks, { concurrency: "unbounded", discard: true })
})

/** Defaults for a function's environment: never migrate at cold start, write only under /tmp. */
export const applyLambdaDefaults = (env: Record<string, string | undefined> = process.env): void => {
  env.MIGRATE_ON_START ??= "false"
  env.IN_PROCESS_WORKERS ??= "false"
  env.DATA_DIR ??= "/tmp/serenya"
}
