/**
 * What a function builds once per container (pools, clients, the app) and reuses on every warm
 * invocation. A failed build is not kept: its resources are released at once and the next
 * invocation builds again, so one bad start (a secret not yet readable, the proxy still coming
 * up) does not poison the container for its whole life.
 */
import { Effect, Exit, Scope } from "effect"
import { JsonLoggerLive } from "../../layers/logger/json.js"

export interface Container<A> {
  /** The built value: the first caller builds, concurrent callers wait for the same build. */
  readonly get: () => Promise<A>
  /** Releases what the build acquired (tests, shutdown); the next `get` builds again. */
  readonly dispose: () => Promise<void>
}

export const makeContainer = <A, E>(name: string, build: Effect.Effect<A, E, Scope.Scope>): Container<A> => {
  let current: Promise<{ readonly value: A; readonly scope: Scope.Closeable }> | undefined

  const attempt = Effect.gen(function* () {
    const scope = yield* Scope.make()
    const exit = yield* Effect.exit(Scope.provide(build, scope))
    if (Exit.isSuccess(exit)) return { value: exit.value, scope }
    yield* Scope.close(scope, exit)
    yield* Effect.logError(`${name}: init failed; the next invocation tries again`, exit.cause).pipe(
      Effect.provide(JsonLoggerLive)
    )
    return yield* Effect.failCause(exit.cause)
  }).pipe(Effect.withSpan("Lambda.init", { attributes: { "faas.name": name } }))

  const get = () => {
    current ??= Effect.runPromise(attempt).catch((error: unknown) => {
      current = undefined
      throw error
    })
    return current.then(({ value }) => value)
  }

  const dispose = async () => {
    const built = current
    current = undefined
    if (built === undefined) return
    const settled = await built.then(
      (value) => value,
      () => undefined
    )
    if (settled !== undefined) await Effect.runPromise(Scope.close(settled.scope, Exit.void))
  }

  return { get, dispose }
}
