/** Settings for tests: the defaults of src/config.ts with APP_ENV=test, overridable per test. */
import { ConfigProvider, Effect, Result } from "effect"
import { configLayer, loadSettings, settingsProvider, type Settings } from "../../src/config.js"

/** The tests' environment: APP_ENV=test and a DATA_DIR nothing may write to, `env` over them. */
const testEnv = (env: Record<string, string>): Record<string, string> => ({
  APP_ENV: "test",
  DATA_DIR: "/nonexistent/serenya-test",
  ...env
})

export const settingsFrom = (env: Record<string, string>): Result.Result<Settings, string> =>
  Effect.runSync(loadSettings(settingsProvider(env)))

export const testSettings = (env: Record<string, string> = {}): Settings => {
  const result = settingsFrom(testEnv(env))
  if (Result.isFailure(result)) throw new Error(result.failure)
  return result.success
}

/** Every slice tag (and the use cases' limits) from testSettings(env): what a test running several capabilities provides. */
export const testConfigLayer = (env: Record<string, string> = {}) => configLayer(testSettings(env))

/**
 * The tests' environment (`env` over it) as the current ConfigProvider: under it a slice's own
 * layer (`StorageConfig.layer` …) reads that slice alone, as a capability moved elsewhere would.
 */
export const testConfigProvider = (env: Record<string, string> = {}) => ConfigProvider.layer(settingsProvider(testEnv(env)))

/** The smallest valid production environment (the application's role in DATABASE_URL). */
export const PRODUCTION_ENV: Readonly<Record<string, string>> = {
  APP_ENV: "production",
  DATABASE_URL: "postgres://serenya_app:p@h:5432/db",
  KEY_PROVIDER: "kms",
  KMS_FIELDS_KEY_ID: "alias/serenya-fields",
  KMS_DOCUMENTS_KEY_ID: "alias/serenya-documents",
  KMS_AUDIT_KEY_ID: "alias/serenya-audit",
  AUDIT_CHECKPOINT_BUCKET: "serenya-audit-checkpoints",
  LLM_PROVIDER: "bedrock",
  NOTIFICATIONS_PROVIDER: "sns",
  SNS_PLATFORM_APPLICATION_ARN_IOS: "arn:aws:sns:eu-west-1:123456789012:app/APNS/serenya-ios",
  SNS_PLATFORM_APPLICATION_ARN_ANDROID: "arn:aws:sns:eu-west-1:123456789012:app/GCM/serenya-android",
  JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----",
  GOOGLE_CLIENT_IDS: "ios.apps.googleusercontent.com,android.apps.googleusercontent.com",
  USER_LOOKUP_KEY: "a".repeat(64)
}
