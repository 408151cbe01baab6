/** Settings for tests: the defaults of src/config.ts with APP_ENV=test, overridable per test. */
import { Effect, Result } from "effect"
import { loadSettings, settingsProvider, type Settings } from "../../src/config.js"

export const settingsFrom = (env: Record<string, string>): Result.Result<Settings, string> =>
  Effect.runSync(loadSettings(settingsProvider(env)))

export const testSettings = (env: Record<string, string> = {}): Settings => {
  const result = settingsFrom({ APP_ENV: "test", DATA_DIR: "/nonexistent/serenya-test", ...env })
  if (Result.isFailure(result)) throw new Error(result.failure)
  return result.success
}
