/**
 * Lambda init's secrets: the RDS secret becomes DATABASE_URL on the proxy's host (TLS), the JWT
 * and lookup keys their variables; values already set win; a failure names the variable only.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager"
import { mockClient } from "aws-sdk-client-mock"
import { Effect, Result } from "effect"
import { describe, expect, it } from "vitest"
import { settingsProvider } from "../../../src/config.js"
import { applyLambdaDefaults, lambdaSettingsConfig, resolveSecrets, secretsManagerReader } from "../../../src/main/lambda/settings.js"

const ARN = {
  database: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
  jwt: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf",
  lookup: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:lookup-AbCdEf"
}

const settingsFrom = (env: Record<string, string>) =>
  Effect.runSync(lambdaSettingsConfig.parse(settingsProvider(env)))

const lambdaEnv = {
  DATABASE_SECRET_ARN: ARN.database,
  DATABASE_HOST: "serenya-proxy.proxy-abc.eu-west-1.rds.amazonaws.com",
  JWT_SECRET_ARN: ARN.jwt,
  USER_LOOKUP_KEY_SECRET_ARN: ARN.lookup
}

const sm = mockClient(SecretsManagerClient)
const client = new SecretsManagerClient({ region: "eu-west-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } })

describe("Lambda secrets", () => {
  it("resolves DATABASE_URL for the proxy, JWT_PRIVATE_KEY and USER_LOOKUP_KEY from Secrets Manager", async () => {
    sm.reset()
    sm.on(GetSecretValueCommand, { SecretId: ARN.database }).resolves({
      SecretString: JSON.stringify({
        engine: "postgres",
        username: "serenya",
        password: "p@ss/word:1",
        host: "serenya-db.abc.eu-west-1.rds.amazonaws.com",
        port: 5432,
        dbname: "serenya"
      })
    })
    sm.on(GetSecretValueCommand, { SecretId: ARN.jwt }).resolves({ SecretString: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----" })
    sm.on(GetSecretValueCommand, { SecretId: ARN.lookup }).resolves({ SecretString: "a".repeat(64) })
    const env: Record<string, string | undefined> = {}
    await Effect.runPromise(resolveSecrets(settingsFrom(lambdaEnv), secretsManagerReader(client), env))
    expect(env.DATABASE_URL).toBe(
      "postgres://serenya:p%40ss%2Fword%3A1@serenya-proxy.proxy-abc.eu-west-1.rds.amazonaws.com:5432/serenya?sslmode=verify-full"
    )
    expect(new URL(env.DATABASE_URL ?? "").password).toBe("p%40ss%2Fword%3A1")
    expect(env.DATABASE_SSL).toBe("true")
    expect(env.JWT_PRIVATE_KEY).toContain("PRIVATE KEY-----")
    expect(env.USER_LOOKUP_KEY).toBe("a".repeat(64))
  })

  it("the migrate function: the master secret becomes DATABASE_OWNER_URL beside the application's DATABASE_URL", async () => {
    sm.reset()
    const owner = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master-AbCdEf"
    const secret = (username: string, password: string) => ({
      SecretString: JSON.stringify({ engine: "postgres", username, password, host: "db.internal", port: 5432, dbname: "serenya" })
    })
    sm.on(GetSecretValueCommand, { SecretId: ARN.database }).resolves(secret("serenya_app", "app-pw"))
    sm.on(GetSecretValueCommand, { SecretId: owner }).resolves(secret("serenya", "owner-pw"))
    const env: Record<string, string | undefined> = {}
    const settings = settingsFrom({ DATABASE_SECRET_ARN: ARN.database, DATABASE_OWNER_SECRET_ARN: owner, DATABASE_HOST: "proxy.internal" })
    await Effect.runPromise(resolveSecrets(settings, secretsManagerReader(client), env))
    expect(env.DATABASE_URL).toBe("postgres://serenya_app:app-pw@proxy.internal:5432/serenya?sslmode=verify-full")
    expect(env.DATABASE_OWNER_URL).toBe("postgres://serenya:owner-pw@proxy.internal:5432/serenya?sslmode=verify-full")
  })

  it("keeps variables already set and reads no secret for them", async () => {
    sm.reset()
    const env: Record<string, string | undefined> = {
      DATABASE_URL: "postgres://local/db",
      JWT_PRIVATE_KEY: "set",
      USER_LOOKUP_KEY: "set"
    }
    await Effect.runPromise(resolveSecrets(settingsFrom(lambdaEnv), secretsManagerReader(client), env))
    expect(env).toEqual({ DATABASE_URL: "postgres://local/db", JWT_PRIVATE_KEY: "set", USER_LOOKUP_KEY: "set" })
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0)
  })

  it("fails naming the variable, never the value, when a secret cannot be read or has the wrong shape", async () => {
    sm.reset()
    sm.on(GetSecretValueCommand, { SecretId: ARN.database }).resolves({ SecretString: '{"password":"hunter2"}' })
    sm.on(GetSecretValueCommand, { SecretId: ARN.jwt }).rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }))
    const result = await Effect.runPromise(
      Effect.result(resolveSecrets(settingsFrom({ DATABASE_SECRET_ARN: ARN.database }), secretsManagerReader(client), {}))
    )
    expect(Result.isFailure(result) && result.failure.message).toBe("DATABASE_URL could not be read from Secrets Manager: the secret is not the RDS JSON shape")
    expect(JSON.stringify(result)).not.toContain("hunter2")

    const denied = await Effect.runPromise(
      Effect.result(resolveSecrets(settingsFrom({ JWT_SECRET_ARN: ARN.jwt }), secretsManagerReader(client), {}))
    )
    expect(Result.isFailure(denied) && denied.failure.message).toBe("JWT_PRIVATE_KEY could not be read from Secrets Manager: AccessDeniedException")
  })

  it("defaults a function's environment: no migrations at cold start, data under /tmp", () => {
    const env: Record<string, string | undefined> = { MIGRATE_ON_START: "true" }
    applyLambdaDefaults(env)
    expect(env).toEqual({ MIGRATE_ON_START: "true", IN_PROCESS_WORKERS: "false", DATA_DIR: "/tmp/serenya" })
    const empty: Record<string, string | undefined> = {}
    applyLambdaDefaults(empty)
    expect(empty.MIGRATE_ON_START).toBe("false")
  })
})
