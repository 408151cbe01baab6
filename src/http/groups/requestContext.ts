/**
 * What every handler of the user-facing groups needs besides its input: who is calling
 * (CurrentUser, from the Authentication middleware) and, for the audit trail, which request this is.
 */
import { HttpServerRequest } from "effect/http"
import { Effect, Option } from "effect"
import { UserId } from "../../services/ids.js"
import { CurrentUser } from "../../services/auth.js"
import { type Classified, type DatabaseUnavailable, isClassified } from "../../services/errors.js"
import { HttpConfig } from "../../config/http.js"
import { clientAddress } from "../clientAddress.js"
import { currentRequestId } from "../errors.js"
import { orDatabaseUnavailable } from "../../services/database.js"
import { currentSpanOption } from "../../services/telemetry.js"

/** The signed-in user's id (the verified token's `sub`, a UUID). */
export const currentUserId = Effect.map(CurrentUser, (user) => UserId.make(user.userId))

/** Request id, trace id, client address and user agent of the request being served. */
export const auditContext = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const requestId = yield* currentRequestId
  const traceId = Option.map(yield* currentSpanOption, (span) => span.traceId)
  const { trustedProxyHops } = yield* HttpConfig
  const clientIp = clientAddress(request, trustedProxyHops)
  const userAgent = request.headers["user-agent"]
  return {
    requestId,
    ...(Option.isSome(traceId) ? { traceId: traceId.value } : {}),
    ...(Option.isSome(clientIp) ? { clientIp: clientIp.value } : {}),
    ...(userAgent !== undefined ? { userAgent } : {})
  }
})

/**
 * What a handler may fail with: the programs' classified errors pass through; a database failure
 * is a 503 to retry; anything else unclassified (a row or sealed field that does not decode) is a
 * defect, rendered as a 500 that says nothing about it.
 */
export const classifiedOnly = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, Extract<E, Classified> | DatabaseUnavailable, R> =>
  Effect.catch(
    orDatabaseUnavailable("The database is not answering; retry", "request")(effect),
    (error): Effect.Effect<never, Extract<E, Classified> | DatabaseUnavailable> =>
      isClassified(error) ? Effect.fail(error as Extract<E, Classified> | DatabaseUnavailable) : Effect.die(error)
  )

