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
import { Effect, Option, type Scope } from "effect"
import { AsyncLocalStorage } from "node:async_hooks"
import { currentTraceparent } from "../../services/telemetry.js"
import { xrayHeaderOf } from "../../services/xray.js"

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
  comprehendMedical: lazyModule(() => import("@aws-sdk/client-comprehendmedical")),
  sqs: lazyModule(() => import("@aws-sdk/client-sqs")),
  sns: lazyModule(() => import("@aws-sdk/client-sns")),
  secretsManager: lazyModule(() => import("@aws-sdk/client-secrets-manager")),
  s3PresignedPost: lazyModule(() => import("@aws-sdk/s3-presigned-post"))
} as const

// ---------------------------------------------------------------------------------------------
// Trace context on every AWS call: the calling span's W3C traceparent, and the same trace and
// parent as X-Amzn-Trace-Id (what AWS services read: SQS keeps it as the message's AWSTraceHeader,
// X-Ray joins the service's own segments to it). The span is known in the Effect that makes the
// call, the request is built later inside the SDK: `tryAws` hands the traceparent across in an
// AsyncLocalStorage, which the SDK's promise chain inherits, and the middleware `lazyClient`
// installs on every client reads it when the request is built (before it is signed).

const callTrace = new AsyncLocalStorage<string>()

/** One SDK call, `Effect.tryPromise` with the current span's trace context made available to the client's middleware. */
export const tryAws = <A, E>(send: (signal: AbortSignal) => Promise<A>, onError: (cause: unknown) => E): Effect.Effect<A, E> =>
  Effect.flatMap(currentTraceparent, (traceparent) =>
    Effect.tryPromise({
      try: (signal) => (Option.isNone(traceparent) ? send(signal) : callTrace.run(traceparent.value, () => send(signal))),
      catch: onError
    })
  )

type BuildArgs = { readonly request?: unknown }
type BuildHandler = (args: BuildArgs) => Promise<unknown>

/** What the middleware needs of a client: SDK v3 clients all have it. */
export interface WithMiddlewareStack {
  readonly middlewareStack: {
    add(middleware: (next: BuildHandler) => BuildHandler, options: { step: "build"; name: string; override: boolean }): void
  }
}

const TRACE_MIDDLEWARE = "serenyaTraceContext"

/** Installs the trace-context headers on a client's requests made through `tryAws` (see above). */
export const propagateTraceContext = <C>(client: C): C => {
  ;(client as unknown as WithMiddlewareStack).middlewareStack.add(
    (next) => (args) => {
      const traceparent = callTrace.getStore()
      const request = args.request as { headers?: Record<string, string> } | undefined
      if (traceparent !== undefined && request !== undefined && typeof request.headers === "object") {
        request.headers.traceparent = traceparent
        const xray = xrayHeaderOf(traceparent)
        if (xray !== undefined) request.headers["x-amzn-trace-id"] = xray
      }
      return next(args)
    },
    { step: "build", name: TRACE_MIDDLEWARE, override: true }
  )
  return client
}

/**
 * A client created on first use (its SDK loaded then) and destroyed when the scope closes, if it
 * was ever created. Concurrent first callers share one creation. Its requests carry the calling
 * span's trace context (propagateTraceContext).
 */
export const lazyClient = <C extends { destroy(): void }>(
  create: Effect.Effect<C>
): Effect.Effect<Effect.Effect<C>, never, Scope.Scope> =>
  Effect.gen(function* () {
    let created: C | undefined
    yield* Effect.addFinalizer(() => Effect.sync(() => created?.destroy()))
    return yield* Effect.cached(Effect.map(create, (client) => (created = propagateTraceContext(client))))
  })

/** A client handed in (tests: a mocked one), or an effect that gives the live layer's lazily created one. */
export type ClientSource<C> = C | Effect.Effect<C>

export const clientFrom = <C>(source: ClientSource<C>): Effect.Effect<C> =>
  Effect.isEffect(source) ? (source as Effect.Effect<C>) : Effect.succeed(source as C)
