/**
 * The AWS SDK clients, loaded when first needed rather than when a module imports them: loading
 * the `@aws-sdk/client-*` packages statically cost a Lambda cold start 220–410 ms (bench/lambda.ts),
 * and a function configured with local layers, or one that never touches a service (the auth
 * function and Bedrock), should not pay for it. Layer modules keep their SDK imports type-only (`import type`) and reach classes
 * through these loaders; every loader imports the same module instance a static import would, so
 * aws-sdk-client-mock's patches and `instanceof` checks on commands keep working in tests.
 *
 * esbuild leaves `@aws-sdk/*` external (the Lambda runtime provides it), so these stay run-time
 * imports in the bundles.
 */
import { Effect, type Scope } from "effect"

/**
 * A dynamic import memoized for the process: the first run loads, later runs answer at once.
 * A failed load (the package missing) is a defect and is not kept: the next run tries again.
 */
export const lazyModule = <M>(load: () => Promise<M>): Effect.Effect<M> => {
  let loaded: M | undefined
  let pending: Promise<M> | undefined
  const start = () =>
    (pending ??= load().then(
      (module) => (loaded = module),
      (error: unknown) => {
        pending = undefined
        throw error
      }
    ))
  return Effect.suspend(() => (loaded !== undefined ? Effect.succeed(loaded) : Effect.promise(start)))
}

/** The SDK packages the layers use, each loaded on first use. */
export const AwsSdk = {
  s3: lazyModule(() => import("@aws-sdk/client-s3")),
  kms: lazyModule(() => import("@aws-sdk/client-kms")),
  dynamodb: lazyModule(() => import("@aws-sdk/client-dynamodb")),
  bedrockRuntime: lazyModule(() => import("@aws-sdk/client-bedrock-runtime")),
  sqs: lazyModule(() => import("@aws-sdk/client-sqs")),
  secretsManager: lazyModule(() => import("@aws-sdk/client-secrets-manager")),
  s3PresignedPost: lazyModule(() => import("@aws-sdk/s3-presigned-post"))
} as const

/**
 * A client created on first use (its SDK loaded then) and destroyed when the scope closes, if it
 * was ever created. Concurrent first callers share one creation.
 */
export const lazyClient = <C extends { destroy(): void }>(
  create: Effect.Effect<C>
): Effect.Effect<Effect.Effect<C>, never, Scope.Scope> =>
  Effect.gen(function* () {
    let created: C | undefined
    yield* Effect.addFinalizer(() => Effect.sync(() => created?.destroy()))
    return yield* Effect.cached(Effect.map(create, (client) => (created = client)))
  })

/** A client handed in (tests: a mocked one), or an effect that gives the live layer's lazily created one. */
export type ClientSource<C> = C | Effect.Effect<C>

export const clientFrom = <C>(source: ClientSource<C>): Effect.Effect<C> =>
  Effect.isEffect(source) ? (source as Effect.Effect<C>) : Effect.succeed(source as C)
