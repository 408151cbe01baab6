/** Settings for tests: the defaults of src/config.ts with APP_ENV=test, overridable per test. */
import { ConfigProvider, Effect, Either } from "effect"
import { loadSettings, type Settings } from "../../src/config.js"

export const settingsFrom = (env: Record<string, string>): Either.Either<Settings, string> =>
  Effect.runSync(loadSettings(ConfigProvider.fromMap(new Map(Object.entries(env)))))

export const testSettings = (env: Record<string, string> = {}): Settings => {
  const result = settingsFrom({ APP_ENV: "test", DATA_DIR: "/nonexistent/serenya-test", ...env })
  if (Either.isLeft(result)) throw new Error(result.left)
  return result.right
}
