/** Graceful shutdown of the HTTP layer: closing it lets in-flight requests finish and refuses new ones. */
import { HttpServer } from "effect/http"
import { expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { Database } from "../../src/services/database.js"
import { appWith } from "../support/probe.js"

const DatabaseUp = Layer.succeed(Database, { ping: Effect.void })

// A client of its own, outside the server's layers, so closing them cannot cut its sockets.
const fetchText = (url: string) =>
  Effect.tryPromise(async () => {
    const response = await fetch(url)
    return [response.status, await response.text()] as const
  })

it.live("a request in flight when shutdown starts still gets its answer", () =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(appWith(DatabaseUp), scope)
    const address = Context.get(context, HttpServer.HttpServer).address
    const base = address._tag !== "UnixPathAddress" ? `http://127.0.0.1:${address.port}` : "http://unreachable"

    const inflight = yield* Effect.forkChild(fetchText(`${base}/probe/slow`))
    yield* Effect.sleep("100 millis")
    const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
    yield* Effect.sleep("50 millis")

    expect(yield* Fiber.join(inflight)).toEqual([200, "\"done\""])
    yield* Fiber.join(closing)

    // Once closed, the server accepts nothing more.
    const after = yield* Effect.result(fetchText(`${base}/health`))
    expect(after._tag).toBe("Failure")
  })
)
