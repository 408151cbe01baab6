/**
 * Hostile input: fast-check throws malformed and hostile requests at every endpoint of
 * src/http/api.ts (ops aside, which take no input) on a real socket of the in-process server:
 * wrong types, missing and extra fields, huge strings, deeply nested JSON, invalid UTF-8, invalid
 * base64, wrong content types, oversized bodies, path traversal and SQL-looking ids, forged,
 * expired, `alg: none`, HS256 and unknown-account tokens. Every generated request is one that must
 * be refused, so: every answer is a 4xx with the uniform error body, no 5xx, no row written (row
 * counts of every table but audit_log are equal before and after), and the server still answers
 * /health and a valid request afterwards.
 *
 * HOSTILE_RUNS × HOSTILE_BATCH requests (default 500 × 10 = 5,000, ≈ 10 s on 2 cores); set
 * RELIABILITY_FULL=1 for 2,000 × 10.
 */
import { createHmac, randomUUID, sign } from "node:crypto"
import * as fs from "node:fs"
import { HttpApi } from "effect/http-api"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Api } from "../../src/http/api.js"
import { Authentication } from "../../src/http/security.js"
import { LLMOffline } from "../../src/layers/llm/offline.js"
import type { UserId } from "../../src/services/ids.js"
import { newUser } from "../support/users.js"
import { newSigningKey } from "../support/services.js"
import { type InProcess, rowCounts, startInProcess } from "./inProcess.js"
import { type Answer, isUniformError, send } from "./support.js"
import { fixturePath } from "../support/fixtures.js"

const FULL = process.env.RELIABILITY_FULL === "1"
const RUNS = Number(process.env.HOSTILE_RUNS ?? (FULL ? 2_000 : 500))
const BATCH = Number(process.env.HOSTILE_BATCH ?? 10)
const MAX_BODY_BYTES = 256 * 1024
const MAX_UPLOAD_BYTES = 64 * 1024

const pdf = fs.readFileSync(fixturePath("lab-report-cbc-cmp.pdf"))
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])

let app: InProcess
let valid = ""
const badTokens: Record<string, string> = {}

const b64url = (value: string | Buffer) => Buffer.from(value).toString("base64url")

beforeAll(async () => {
  app = await startInProcess({
    llm: LLMOffline,
    workers: false,
    env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES), MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) }
  })
  const userId = (await app.runtime.runPromise(newUser("Valid Caller"))) as UserId
  valid = await app.tokenFor(userId)
  const [header, payload] = valid.split(".") as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>
  const signWith = (key: { privateKey: Parameters<typeof sign>[2] }, h: string, p: string) =>
    `${h}.${p}.${b64url(sign("sha256", Buffer.from(`${h}.${p}`), { key: key.privateKey as never, dsaEncoding: "ieee-p1363" }))}`
  const now = Math.floor(Date.now() / 1000)
  const other = newSigningKey()
  badTokens.forged = signWith(other, b64url(JSON.stringify({ alg: "ES256", typ: "JWT", kid: other.kid })), payload)
  badTokens.forgedOurKid = signWith(other, header, payload)
  badTokens.expired = signWith(app.key, header, b64url(JSON.stringify({ ...claims, iat: now - 7200, exp: now - 3600 })))
  badTokens.future = signWith(app.key, header, b64url(JSON.stringify({ ...claims, iat: now + 3600, exp: now + 7200 })))
  badTokens.otherIssuer = signWith(app.key, header, b64url(JSON.stringify({ ...claims, iss: "evil" })))
  badTokens.unknownAccount = signWith(app.key, header, b64url(JSON.stringify({ ...claims, sub: randomUUID() })))
  badTokens.algNone = `${b64url(JSON.stringify({ alg: "none", typ: "JWT", kid: app.key.kid }))}.${payload}.`
  badTokens.algNoneSigned = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.${valid.split(".")[2]}`
  const hsHeader = b64url(JSON.stringify({ alg: "HS256", typ: "JWT", kid: app.key.kid }))
  badTokens.hs256 = `${hsHeader}.${payload}.${createHmac("sha256", app.key.kid).update(`${hsHeader}.${payload}`).digest("base64url")}`
  badTokens.tamperedPayload = `${header}.${b64url(JSON.stringify({ ...claims, sub: randomUUID() }))}.${valid.split(".")[2]}`
  badTokens.truncated = valid.slice(0, -5)
  badTokens.garbage = "not.a.token"
  badTokens.huge = "a".repeat(9000)
  badTokens.sqlish = "' OR 1=1 --"
}, 60_000)

afterAll(async () => {
  await app?.runtime.dispose()
}, 30_000)

// ---------------------------------------------------------------------------------------------
// Generators: every request they make must be refused.

interface Hostile {
  readonly label: string
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body?: string | Uint8Array
}

const SQLISH = ["' OR '1'='1", "1; DROP TABLE users; --", "00000000-0000-0000-0000-000000000000' OR 1=1 --", "\" OR \"\"=\"", "1 UNION SELECT * FROM content", "$1", "';SELECT pg_sleep(10)--"]
const TRAVERSAL = ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fme", "....//....//etc", "..\\..\\windows\\win.ini", "%252e%252e%252f", "/etc/passwd", ".", ".."]
const ODD = ["not-a-uuid", "0", "-1", "null", "undefined", "{}", "[]", "%zz", "%", "%E0%A4%A", "%00", "%C0%AF", "a".repeat(3000), "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "a0eebc99x9c0bx4ef8xbb6dx6bb9bd380a11"]

function decodeURIComponentSafe(s: string) {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** Built when the test runs: the tokens they use exist only after beforeAll. */
const hostileRequests = (): fc.Arbitrary<Hostile> => {
  /** Ids for paths: hostile strings (spaces escaped so the request line stays valid), arbitrary text encoded, or unknown UUIDs. */
  const pathId = fc.oneof(
    fc.constantFrom(...SQLISH, ...TRAVERSAL, ...ODD).map((s) => s.replace(/ /g, "%20").replace(/"/g, "%22").replace(/\\/g, "%5C")),
    fc.string({ unit: "grapheme", maxLength: 40 }).map(encodeURIComponent),
    fc.uuid()
  )

  /** Any JSON value but a valid one: wrong types, for any field. */
  const wrongType = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 })
  )

  const hugeString = fc.constantFrom(300, 5_000, 100_000).map((n) => "x".repeat(n))

  const extraFields = fc.dictionary(
    fc.constantFrom("userId", "user_id", "jobId", "status", "admin", "__proto__", "constructor", "plan", "role", "id"),
    fc.oneof(fc.uuid(), fc.constantFrom("completed", "premium", "admin", true), wrongType),
    { maxKeys: 3 }
  )

  /** Adds or removes fields around a body that is invalid already. */
  const withNoise = (body: fc.Arbitrary<Record<string, unknown>>) =>
    fc.tuple(body, extraFields, fc.boolean()).map(([b, extra, addExtra]) => (addExtra ? { ...extra, ...b } : b))

  const invalidBase64 = fc.constantFrom("%%% not base64 %%%", "@@@@", "====", "a===", "\u0000\u0001", "ÿÿÿÿ", "<script>", "....")

  const notAPdf = fc
    .uint8Array({ minLength: 1, maxLength: 2048 })
    .filter((bytes) => bytes[0] !== 0x25)
    .map((bytes) => Buffer.from(bytes).toString("base64"))

  /** An upload body with at least one defect (never a text/plain declaration of decodable bytes). */
  const badUpload = fc.oneof(
    fc.record({ fileName: fc.constant("cbc.pdf"), contentType: fc.constant("application/pdf"), dataBase64: invalidBase64 }),
    fc.record({ fileName: fc.constant("cbc.pdf"), contentType: fc.constantFrom("application/pdf", "image/png", "image/jpeg"), dataBase64: notAPdf }),
    fc.record({ fileName: fc.constant("scan.pdf"), contentType: fc.constant("application/pdf"), dataBase64: fc.constant(PNG.toString("base64")) }),
    fc.record({ fileName: fc.oneof(fc.constant(""), fc.constant("a".repeat(256)), wrongType), contentType: fc.constant("application/pdf"), dataBase64: fc.constant(pdf.toString("base64")) }),
    fc.record({ fileName: fc.constant("cbc.pdf"), contentType: fc.oneof(fc.constant(""), fc.constant("x".repeat(256)), wrongType), dataBase64: fc.constant(pdf.toString("base64")) }),
    fc.record({ fileName: fc.constant("cbc.pdf"), contentType: fc.constant("application/pdf"), dataBase64: fc.constant(pdf.toString("base64")), documentType: fc.oneof(fc.constantFrom("xray", "LAB_RESULTS", ""), wrongType) }),
    fc.record({ fileName: fc.constant("cbc.pdf"), contentType: fc.constant("application/pdf"), dataBase64: wrongType }),
    fc.record({ fileName: fc.constant("big.pdf"), contentType: fc.constant("application/pdf"), dataBase64: fc.constant(Buffer.concat([pdf, Buffer.alloc(MAX_UPLOAD_BYTES)]).toString("base64").slice(0, 150_000)) }),
    fc.record({ fileName: fc.constant("cbc.pdf"), contentType: fc.constant("application/pdf") }),
    fc.record({ dataBase64: fc.constant(pdf.toString("base64")) })
  )

  /** Emails that can never pass the Email schema (so /auth/dev never signs anyone in). */
  const badEmail = fc.oneof(
    fc.string({ maxLength: 40 }).filter((s) => !s.includes("@")),
    fc.constantFrom("a@b", "@example.com", "a@@b.c", "a b@c.de", "a@b .c", " ", "", "a@b.c d", "a@b.c\u0000", "a\u0007@b.c"),
    fc.constant(`${"a".repeat(250)}@example.com`),
    wrongType
  )

  const refreshToken = fc.oneof(fc.string({ minLength: 1, maxLength: 512 }), fc.constant(""), fc.constant("r".repeat(513)), wrongType)

  const question = fc.oneof(fc.string({ maxLength: 200 }), fc.constant(" \n\t "), fc.constant("q".repeat(4001)), hugeString, wrongType)

  /** A contentId nobody has given this user: hostile text, wrong types or an unknown UUID. */
  const foreignContentId = fc.oneof(pathId.map(decodeURIComponentSafe), fc.uuid(), wrongType)


  // Number("0x10"), Number(" 5") and Number("1e3") are numbers: only these are out of range or not integers.
const INVALID_LIMITS = ["0", "101", "-1", "abc", "1e3", "10.5", "NaN", "Infinity", "' OR 1=1", "99999999999999999999"]
const INVALID_OFFSETS = ["-1", "abc", "10.5", "NaN", "Infinity", "-Infinity", "' OR 1=1", "1;DROP TABLE content", "-0.5"]

const timelineQuery = fc.oneof(
  fc.tuple(fc.constantFrom(...INVALID_LIMITS), fc.constantFrom("0", "5", ...INVALID_OFFSETS)).map(([limit, offset]) => `limit=${encodeURIComponent(limit)}&offset=${encodeURIComponent(offset)}`),
  fc.constantFrom(...INVALID_OFFSETS).map((offset) => `limit=20&offset=${encodeURIComponent(offset)}`)
)

const jsonBody = (value: unknown) => JSON.stringify(value)

  type Auth = "valid" | "hostile"
  const authHeader = (auth: Auth) =>
    auth === "valid"
      ? fc.constant({ authorization: `Bearer ${valid}` })
      : fc.oneof(
          fc.constantFrom(...Object.keys(badTokens)).map((name) => ({ authorization: `Bearer ${badTokens[name]}` })),
          fc.constantFrom({}, { authorization: "" }, { authorization: "Bearer" }, { authorization: "Bearer  " }, { authorization: "Basic dXNlcjpwYXNz" }, { authorization: `bearer${valid}` }, { authorization: `Token ${valid}` })
        )

  const JSON_TYPE = { "content-type": "application/json" }

  /** Requests with a valid token whose input the endpoint must refuse. */
  const withValidToken: fc.Arbitrary<Hostile> = fc.oneof(
    fc.tuple(withNoise(badUpload), fc.option(fc.constantFrom("k".repeat(300), "", " "), { nil: undefined })).map(([body, key]) => ({
      label: "upload: invalid body",
      method: "POST",
      path: "/documents/upload",
      headers: { ...JSON_TYPE, ...(key === undefined ? {} : { "idempotency-key": key }) },
      body: jsonBody(body)
    })),
    pathId.map((id) => ({ label: "job status: hostile id", method: "GET", path: `/jobs/${id}/status`, headers: {} })),
    pathId.map((id) => ({ label: "content: hostile id", method: "GET", path: `/content/${id}`, headers: {} })),
    pathId.map((id) => ({ label: "delete content: hostile id", method: "DELETE", path: `/content/${id}`, headers: {} })),
    pathId.map((id) => ({ label: "conversation: hostile id", method: "GET", path: `/chat/conversations/${id}`, headers: {} })),
    timelineQuery.map((q) => ({ label: "timeline: invalid window", method: "GET", path: `/content/timeline?${q}`, headers: {} })),
    withNoise(fc.record({ contentId: foreignContentId, message: question })).map((body) => ({
      label: "chat: foreign or invalid content",
      method: "POST",
      path: "/chat/messages",
      headers: JSON_TYPE,
      body: jsonBody(body)
    }))
  ).chain((request) => authHeader("valid").map((auth) => ({ ...request, headers: { ...request.headers, ...auth } })))

  /** The sign-in endpoints, which take no token: bodies that must not sign anyone in. */
  const signIn: fc.Arbitrary<Hostile> = fc.oneof(
    withNoise(fc.record({ email: badEmail, name: fc.oneof(fc.string({ maxLength: 30 }), fc.constant(""), hugeString, wrongType) }, { requiredKeys: ["email"] })).map(
      (body) => ({ label: "auth/dev: invalid email", method: "POST", path: "/auth/dev", headers: JSON_TYPE, body: jsonBody(body) })
    ),
    withNoise(fc.record({ idToken: fc.oneof(fc.string({ maxLength: 200 }), hugeString, wrongType, fc.constant(badTokens.algNone ?? "x")) })).map((body) => ({
      label: "auth/google: invalid id token",
      method: "POST",
      path: "/auth/google",
      headers: JSON_TYPE,
      body: jsonBody(body)
    })),
    fc.tuple(fc.constantFrom("/auth/refresh", "/auth/logout"), withNoise(fc.record({ refreshToken }, { requiredKeys: [] }))).map(([route, body]) => ({
      label: `${route}: unknown token`,
      method: "POST",
      path: route,
      headers: JSON_TYPE,
      body: jsonBody(body)
    }))
  )

  /** Every endpoint behind bearer authentication, read from the API definition; path ids filled in. */
  const ROUTES: ReadonlyArray<readonly [string, string]> = (() => {
    const routes: Array<readonly [string, string]> = []
    HttpApi.reflect(Api, {
      onGroup: () => {},
      onEndpoint: ({ endpoint, middleware }) => {
        if ([...middleware].some((tag) => tag.key === Authentication.key)) {
          routes.push([endpoint.method, endpoint.path.replace(/:\w+/g, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")])
        }
      }
    })
    return routes
  })()

  /** Every authenticated endpoint, with a body it would accept, but a token it must refuse. */
  const withHostileToken: fc.Arbitrary<Hostile> = fc
    .tuple(fc.constantFrom(...ROUTES), authHeader("hostile"))
    .map(([[method, route], auth]) => ({
      label: `${method} ${route.split("/")[1]}: hostile token`,
      method,
      path: route,
      headers: { ...auth, ...(method === "POST" ? JSON_TYPE : {}) },
      ...(route === "/documents/upload"
        ? { body: jsonBody({ fileName: "cbc.pdf", contentType: "application/pdf", dataBase64: pdf.toString("base64") }) }
        : route === "/chat/messages"
          ? { body: jsonBody({ contentId: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", message: "hello" }) }
          : {})
    }))

  const POSTS = ["/documents/upload", "/chat/messages", "/auth/dev", "/auth/google", "/auth/refresh", "/auth/logout"]

  /** Bodies no endpoint can read: not JSON, invalid UTF-8, deep nesting, wrong content types, too large. */
  const unreadableBody: fc.Arbitrary<Hostile> = fc
    .tuple(
      fc.constantFrom(...POSTS),
      fc.oneof(
        fc.constantFrom("{not json", "", "null", "[]", "\"a string\"", "123", "{\"a\":", "\u0000", "{\"email\":\"a@b.c\"}}").map((body) => ({ kind: "not JSON", body, type: "application/json" })),
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({
          kind: "invalid UTF-8",
          body: Buffer.concat([Buffer.from("{\"email\":\""), Buffer.from([0xff, 0xfe, 0xc0, 0x80]), Buffer.from(bytes), Buffer.from("\"}")]),
          type: "application/json"
        })),
        fc.constantFrom(100, 1_000, 10_000, 100_000).chain((depth) =>
          fc.constantFrom("[".repeat(depth) + "]".repeat(depth), "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)).map((body) => ({ kind: `nested ${depth}`, body, type: "application/json" }))
        ),
        fc.constantFrom("text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data", "multipart/form-data; boundary=x", "application/octet-stream", "application/json; charset=utf-16", "").map((type) => ({
          kind: `content-type ${type || "(none)"}`,
          body: type.startsWith("multipart") ? "--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nnot-an-email\r\n--x--\r\n" : "email=not-an-email&message=hi",
          type
        })),
        fc.constantFrom(MAX_BODY_BYTES + 1, MAX_BODY_BYTES * 2).map((size) => ({
          kind: "oversized",
          body: `{"email":"${"a".repeat(size)}"}`,
          type: "application/json"
        }))
      ),
      fc.boolean()
    )
    .map(([route, { kind, body, type }, withToken]) => ({
      label: `${route}: ${kind}`,
      method: "POST",
      path: route,
      headers: { ...(type === "" ? {} : { "content-type": type }), ...(withToken ? { authorization: `Bearer ${valid}` } : {}) },
      body
    }))

  /** Paths and methods that name nothing: traversal around real routes, wrong methods. */
  const strayRoutes: fc.Arbitrary<Hostile> = fc.oneof(
    fc.tuple(fc.constantFrom("PUT", "PATCH", "POST", "DELETE"), fc.constantFrom("/me/export", "/content/timeline", "/subscriptions/status", "/jobs/a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11/status")).map(([method, route]) => ({
      label: `${method} ${route}: wrong method`,
      method,
      path: route,
      headers: { authorization: `Bearer ${valid}` }
    })),
    fc.tuple(fc.constantFrom("/content/", "/jobs/", "/chat/conversations/", "/me/", "/health/", "/"), fc.constantFrom(...TRAVERSAL)).map(([prefix, trail]) => ({
      label: "traversal path",
      method: "GET",
      path: `${prefix}${trail}`,
      headers: { authorization: `Bearer ${valid}` }
    }))
  )

  return fc.oneof(
    { weight: 4, arbitrary: withValidToken },
    { weight: 2, arbitrary: signIn },
    { weight: 3, arbitrary: withHostileToken },
    { weight: 2, arbitrary: unreadableBody },
    { weight: 1, arbitrary: strayRoutes }
  )
}

// ---------------------------------------------------------------------------------------------

const refusedProperly = (answer: Answer) =>
  answer.status >= 400 && answer.status < 500 && isUniformError(answer.body) && String(answer.headers["content-type"]).includes("application/json")

describe("hostile input", () => {
  it(`${RUNS * BATCH} hostile requests across every endpoint: all 4xx with the uniform body, no row written, still healthy`, async () => {
    const before = await rowCounts(app, ["audit_log"])
    const statuses = new Map<number, number>()
    const labels = new Map<string, number>()
    // Every violation is counted (not thrown at the first), so one run shows every kind of failure.
    const violations = new Map<string, { count: number; example: string }>()
    let total = 0
    const started = Date.now()

    await fc.assert(
      fc.asyncProperty(fc.array(hostileRequests(), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const answers = await Promise.all(
          batch.map((request) =>
            send(app.port, {
              method: request.method,
              path: request.path,
              headers: request.headers,
              ...(request.body === undefined ? {} : { body: request.body }),
              timeoutMs: 10_000
            })
          )
        )
        answers.forEach((answer, i) => {
          total++
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
          const label = batch[i]!.label
          labels.set(label, (labels.get(label) ?? 0) + 1)
          if (!refusedProperly(answer)) {
            const request = batch[i]!
            const body = request.body === undefined ? "" : typeof request.body === "string" ? request.body : Buffer.from(request.body).toString("latin1")
            const seen = violations.get(`${label} → ${answer.status}`)
            violations.set(`${label} → ${answer.status}`, {
              count: (seen?.count ?? 0) + 1,
              example: seen?.example ?? `${request.method} ${request.path.slice(0, 120)} ${body.slice(0, 160)} ⇒ ${answer.body.slice(0, 160)}`
            })
          }
        })
      }),
      { numRuns: RUNS, endOnFailure: false }
    )
    const elapsed = Date.now() - started

    const health = await send(app.port, { method: "GET", path: "/health" })
    const me = await send(app.port, { method: "GET", path: "/me", headers: { authorization: `Bearer ${valid}` } })
    const after = await rowCounts(app, ["audit_log"])
    console.log(
      "hostile input:",
      JSON.stringify({
        requests: total,
        elapsedMs: elapsed,
        statuses: Object.fromEntries(statuses),
        families: labels.size,
        rowsUnchanged: JSON.stringify(after) === JSON.stringify(before),
        healthAfter: health.status,
        validRequestAfter: me.status
      })
    )

    if (violations.size > 0) console.log("hostile input violations:", JSON.stringify(Object.fromEntries(violations), null, 1))
    expect(total).toBeGreaterThanOrEqual(RUNS * BATCH)
    expect(health.status).toBe(200)
    expect(me.status).toBe(200)
    expect(after, "no row was written by a refused request").toEqual(before)
    expect([...violations.keys()], "every hostile request is a 4xx with the uniform body").toEqual([])
  }, 240_000)
})
