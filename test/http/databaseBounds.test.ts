/**
 * A request whose statement waits on a lock another session holds: with `lock_timeout` on every
 * session of the app's pool it answers 503 DATABASE_UNAVAILABLE with Retry-After and the uniform
 * body within the lock timeout (2 s by default), instead of waiting for as long as the lock is held.
 */
import { randomUUID } from "node:crypto"
import { HttpClient, HttpClientRequest } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { SqlClient } from "effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { serveApi } from "../../src/http/app.js"
import { ApiLive } from "../../src/http/serve.js"
import { AccessTokens } from "../../src/services/auth.js"
import { appTestServices } from "../support/services.js"
import { testSettings } from "../support/settings.js"
import { newUser } from "../support/users.js"

const settings = testSettings({ RATE_LIMIT_IP_CAPACITY: "100000", RATE_LIMIT_USER_CAPACITY: "100000" })
const App = serveApi(ApiLive).pipe(Layer.provideMerge(NodeHttpServer.layerTest), Layer.provideMerge(appTestServices({ settings })))

/** How long the other session holds the lock: far longer than the answer may take. */
const HELD_MS = 15_000

layer(App, { timeout: 60_000, excludeTestServices: true })("a statement blocked on a lock", (it) => {
  it.effect("answers 503 with Retry-After and the uniform body within the lock timeout, not when the lock is released", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const userId = yield* newUser("Lock Waiter")
      const { token } = yield* Effect.flatMap(AccessTokens, (tokens) => tokens.issue(userId, randomUUID()))

      // Another session takes the timeline's table and keeps it until released (or HELD_MS).
      const locked = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* sql
        .withTransaction(
          sql`LOCK TABLE content IN ACCESS EXCLUSIVE MODE`.pipe(
            Effect.andThen(Deferred.succeed(locked, undefined)),
            Effect.andThen(Effect.race(Deferred.await(release), Effect.sleep(HELD_MS)))
          )
        )
        .pipe(Effect.forkScoped)
      yield* Effect.addFinalizer(() => Deferred.succeed(release, undefined).pipe(Effect.andThen(Fiber.await(holder))))
      yield* Deferred.await(locked)

      const started = Date.now()
      const response = yield* HttpClient.execute(
        HttpClientRequest.get("/content/timeline").pipe(HttpClientRequest.bearerToken(token))
      )
      const elapsed = Date.now() - started
      const body = (yield* response.json) as { error?: Record<string, unknown> }
      expect(response.status).toBe(503)
      expect(response.headers["retry-after"]).toMatch(/^\d+$/)
      expect(Object.keys(body)).toEqual(["error"])
      expect(body.error).toMatchObject({ code: "DATABASE_UNAVAILABLE", category: "technical" })
      expect(typeof body.error?.correlationId).toBe("string")
      // lock_timeout is 2 s; generous slack for a shared machine, still far below HELD_MS.
      expect(elapsed).toBeLessThan(HELD_MS / 2)

      // The lock gone, the same request succeeds on the same pool.
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.await(holder)
      const after = yield* HttpClient.execute(HttpClientRequest.get("/content/timeline").pipe(HttpClientRequest.bearerToken(token)))
      expect(after.status).toBe(200)
    }).pipe(Effect.scoped), 40_000)
})
