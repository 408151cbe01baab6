/**
 * Every status a use case can fail with is documented on the endpoint that calls it.
 *
 * The API declares its errors by status (`errorResponse(404, …)`: the uniform body under that
 * status), not by class, so the compiler does not tie a handler's errors to the declarations the
 * way `.addError(NotFound)` would. This test recovers that check in two halves:
 * - at compile time (`npm test` type-checks the tests), each row lists exactly the statuses of its
 *   program's error union, read from the errors' literal `status` types (`StatusOf`): a program that
 *   gains an error answering with a new status fails to type-check here until the row names it;
 * - at run time, every status a row names is a documented response of its operation in the OpenAPI
 *   document the server serves.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Effect } from "effect"
import { Api } from "../../src/http/api.js"
import { openApiDocument } from "../../src/http/documentation.js"
import { deleteAccount, exportUserData, getProfile } from "../../src/programs/account.js"
import { readDevices, registerDevice, removeDevice } from "../../src/programs/devices.js"
import { logout, refreshTokens, signInWithDev, signInWithGoogle } from "../../src/programs/auth.js"
import { getConversation, sendChatMessage } from "../../src/programs/chat.js"
import { readContent, readTimeline, removeContent } from "../../src/programs/content.js"
import { watchJobEvents } from "../../src/programs/jobEvents.js"
import { contentAsFhir, type recordAsFhir } from "../../src/programs/fhirExport.js"
import { getJobStatus } from "../../src/programs/jobStatus.js"
import { type listTrends, readTrend } from "../../src/programs/trends.js"
import { beginUpload, completeUpload } from "../../src/programs/presignedUpload.js"
import { getSubscriptionStatus } from "../../src/programs/subscription.js"
import { uploadDocument } from "../../src/programs/uploadDocument.js"
import { NotFound, type StatusOf } from "../../src/services/errors.js"
import type { DatabaseUnavailable } from "../../src/services/errors.js"

type AnyFunction = (...args: never) => unknown
type ErrorOf<P extends AnyFunction> = ReturnType<P> extends Effect.Effect<infer _A, infer E, infer _R> ? E : never
type Undeclared<P extends AnyFunction, S extends ReadonlyArray<number>, U> = Exclude<StatusOf<ErrorOf<P>>, S[number] | keyof U>

/**
 * One endpoint: its operation id, the program its handler runs, and the statuses that program can
 * fail with — all of them (else `undeclared` names the missing ones in the type error) and only
 * them (each must be one of the program's). `unreachable`: a status the program's type allows but
 * this call can never produce, with the reason.
 */
const row = <
  P extends AnyFunction,
  const S extends ReadonlyArray<StatusOf<ErrorOf<P>>>,
  const U extends Partial<Record<StatusOf<ErrorOf<P>>, string>> = Record<never, string>
>(
  operationId: string,
  _program: P,
  statuses: S & ([Undeclared<P, S, U>] extends [never] ? unknown : { readonly undeclared: Undeclared<P, S, U> }),
  _unreachable?: U
) => ({ operationId, statuses: statuses as ReadonlyArray<number> })

const rows = [
  row("auth.google", signInWithGoogle, [401, 502, 503]),
  row("auth.dev", signInWithDev, [503], {
    401: "AccountBoundElsewhere refuses a Google subject; the dev sign-in presents none (programs/users.ts, claim)"
  }),
  row("auth.refresh", refreshTokens, [401, 503]),
  row("auth.logout", logout, [401, 503]),
  row("documents.upload", uploadDocument, [400, 401, 402, 409, 413, 415, 503]),
  row("documents.beginUpload", beginUpload, [400, 401, 402, 413, 415, 429, 501, 503]),
  row("documents.completeUpload", completeUpload, [400, 401, 402, 404, 409, 410, 413, 415, 500, 501, 503]),
  row("documents.jobStatus", getJobStatus, [503]),
  row("documents.jobEvents", watchJobEvents, [503]),
  row("content.timeline", readTimeline, [500, 503]),
  row("content.get", readContent, [500, 503]),
  row("content.fhir", contentAsFhir, [500, 503]),
  // a trend or the list: the statuses of either
  row("content.trends", readTrend as typeof readTrend | typeof listTrends, [500, 503]),
  row("content.delete", removeContent, [503]),
  row("chat.send", sendChatMessage, [400, 402, 404, 409, 500, 502, 503]),
  row("chat.conversation", getConversation, [500, 503]),
  row("subscriptions.status", getSubscriptionStatus, [503]),
  row("account.profile", getProfile, [404, 500, 503]),
  // the JSON export, or with format=fhir the FHIR one: the statuses of either
  row("account.export", exportUserData as typeof exportUserData | typeof recordAsFhir, [404, 500, 503]),
  row("account.delete", deleteAccount, [404, 503]),
  row("account.registerDevice", registerDevice, [400, 401, 503]),
  row("account.devices", readDevices, [503]),
  row("account.removeDevice", removeDevice, [404, 503])
]

/** Operations that run no program: liveness touches nothing; readiness is Database.ping (503, declared). */
const WITHOUT_PROGRAM = ["ops.health", "ops.ready"]

interface Operation {
  readonly operationId: string
  readonly responses: Record<string, unknown>
}

const operations = (): ReadonlyArray<Operation> => {
  const spec = openApiDocument(Api) as unknown as { paths: Record<string, Record<string, Operation>> }
  return Object.values(spec.paths).flatMap((methods) => Object.values(methods))
}

describe("the API's error declarations", () => {
  it("document every status each endpoint's program can fail with", () => {
    const documented = new Map(operations().map((op) => [op.operationId, Object.keys(op.responses).map(Number)]))
    const undocumented = rows.flatMap(({ operationId, statuses }) =>
      statuses.filter((status) => !(documented.get(operationId) ?? []).includes(status)).map((status) => `${operationId} ${status}`)
    )
    expect(undocumented).toEqual([])
  })

  it("cover every operation of the API (a new endpoint needs its row)", () => {
    const covered = [...rows.map((r) => r.operationId), ...WITHOUT_PROGRAM].sort()
    expect(operations().map((op) => op.operationId).sort()).toEqual(covered)
  })

  it("are checked by the compiler: a status missing from a row, or one its program cannot produce, does not type-check", () => {
    const fails = (_: string): Effect.Effect<void, NotFound | DatabaseUnavailable> => null as never
    // @ts-expect-error 404 is missing (NotFound)
    row("x", fails, [503])
    // @ts-expect-error 409 is not a status `fails` can answer with
    row("x", fails, [404, 409, 503])
    expect(row("x", fails, [404, 503]).statuses).toEqual([404, 503])
    expect(new NotFound({ message: "gone" })).toBeInstanceOf(NotFound)
  })
})
