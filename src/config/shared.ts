/**
 * What every settings slice (src/config/*.ts) is built from: our own rules and messages for a
 * variable, several problems reported together, and the readers of the kinds of value we use.
 * A message names the variable and what is wrong with it, never its value.
 */
import { Config, Duration, Effect, Redacted, Result, Schema, SchemaIssue } from "effect"

export const AppEnv = ["local", "test", "production"] as const
export type AppEnv = (typeof AppEnv)[number]

/**
 * APP_ENV. Besides the app slice (src/config/app.ts), the slices whose defaults depend on it
 * (worker, auth, database) read it themselves, so each resolves them the same way when read alone.
 */
export const appEnvConfig: Config.Config<AppEnv> = Config.Literals(AppEnv, "APP_ENV").pipe(Config.withDefault("local" as const))

/** A ConfigError naming one variable and what is wrong with it; never its value. */
export const invalid = (name: string, message: string): Config.ConfigError =>
  new Config.ConfigError(new Schema.SchemaError(new SchemaIssue.Pointer([name], new SchemaIssue.InvalidValue({ message }))))

/** Our own rule for a variable, failing with our message under the variable's name. */
export const check = <A>(name: string, config: Config.Config<A>, valid: (a: A) => boolean, message: string) =>
  Config.mapEffect(config, (a) => (valid(a) ? Effect.succeed(a) : Effect.fail(invalid(name, message))))

/** Several problems as one ConfigError (a composite of their issues), so every one is reported. */
export const combine = (errors: ReadonlyArray<Config.ConfigError>): Config.ConfigError => {
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
export const collect = <R extends Record<string, Config.Config<unknown>>>(configs: R): Config.Config<Values<R>> =>
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

/**
 * A slice's rules across its own variables (`problems` lists what is wrong, empty when nothing is),
 * applied once its variables have been read. src/config.ts composes the slices from their values
 * and applies the same rules among its cross-checks, so the whole settings still name every problem.
 */
export const validated = <A>(values: Config.Config<A>, problems: (a: A) => ReadonlyArray<Config.ConfigError>): Config.Config<A> =>
  Config.mapEffect(values, (a) => {
    const found = problems(a)
    return found.length === 0 ? Effect.succeed(a) : Effect.fail(combine(found))
  })

/** `message` under `name` when `ok` does not hold: one entry of a slice's or the settings' problems. */
export const unless = (ok: boolean, name: string, message: string): ReadonlyArray<Config.ConfigError> =>
  ok ? [] : [invalid(name, message)]

/**
 * A network port the way Effect 3's Config.port read it: the plain digits of 1..65535 (Effect 4's
 * Config.Port also takes forms such as "80.0").
 */
export const port = (name: string, fallback: number) =>
  Config.String(name).pipe(
    Config.mapEffect((text) =>
      /^[1-9][0-9]{0,4}$/.test(text) && Number(text) <= 65535
        ? Effect.succeed(Number(text))
        : Effect.fail(invalid(name, "must be a port number (1-65535)"))
    ),
    Config.withDefault(fallback)
  )

export const nonNegativeInt = (name: string, fallback: number) =>
  check(name, Config.Int(name).pipe(Config.withDefault(fallback)), (n) => n >= 0, "must be a whole number ≥ 0")

/** A port where 0 has a meaning of its own (`zeroMeans`: "picks a free one", "serves nothing"). */
export const portOrZero = (name: string, fallback: number, zeroMeans: string) =>
  check(name, nonNegativeInt(name, fallback), (n) => n <= 65535, `must be a port number (0 ${zeroMeans})`)

export const positiveInt = (name: string, fallback: number) =>
  check(name, Config.Int(name).pipe(Config.withDefault(fallback)), (n) => n >= 1, "must be a whole number ≥ 1")

/** Milliseconds as a plain number: the unit is in the variable's name, so nothing is ambiguous. */
export const millis = (name: string, fallback: number) => positiveInt(name, fallback).pipe(Config.map(Duration.millis))

export const postgresUrl = (name: string) =>
  check(
    name,
    Config.Redacted(name),
    (url) => /^postgres(ql)?:\/\/\S+$/.test(Redacted.value(url)),
    "must be a postgres:// or postgresql:// URL"
  ).pipe(Config.option)

/** The user a postgres URL names (undefined when it does not parse). */
export const userOf = (url: Redacted.Redacted<string>): string | undefined => {
  try {
    return decodeURIComponent(new URL(Redacted.value(url)).username)
  } catch {
    return undefined
  }
}

/** A comma-separated list, each entry trimmed, empty entries dropped; unset: none. */
export const list = (name: string): Config.Config<ReadonlyArray<string>> =>
  Config.Array(Schema.String, name).pipe(
    Config.withDefault([] as ReadonlyArray<string>),
    Config.map((items) => items.map((item) => item.trim()).filter((item) => item !== ""))
  )
