/**
 * Contract test: the server keeps the promises of its own OpenAPI document, and nothing else is
 * assumed. It starts the real server process (`node --import tsx src/main/server.ts`, its own
 * embedded PostgreSQL), fetches `GET /openapi.json`, and from that document alone generates
 * requests for every path × method with fast-check (test/contract/jsonSchemaArbitrary.ts turns
 * each JSON Schema into an arbitrary):
 *
 * - valid requests (every schema constraint kept; real ids and tokens of signed-in users in most
 *   of them) must not be refused with 400, and get only what a valid request can legitimately get
 *   and the operation documents (401 only for credentials that are not live, 404 only for ids that
 *   are not the caller's — another user's id must be 404 —, 402, 409, 413, 415, 429);
 * - invalid requests (mutations of valid ones: a required property dropped, a wrong JSON type, a
 *   string too long or short, an integer out of range, a broken enum or pattern, malformed JSON, a
 *   non-UUID path id, a missing or garbage bearer token, an `application/xml` body, an unknown
 *   property where the schema says `additionalProperties: false`) must get the documented 4xx:
 *   401 for a bearer token that is missing or not valid, 400 for malformed JSON and for anything
 *   that breaks a schema (the document's 400 is "did not match the expected schema"); an unknown property
 *   where the schema allows it must be answered like a valid request;
 * - every response, whatever the request: its status is documented for the operation, it is never
 *   a 5xx, its body parses and validates (ajv, JSON Schema 2020-12) against the documented schema
 *   of its content type (no content documented: an empty body), every documented `required`
 *   header is present and every documented header present validates against its schema.
 *
 * Every failure is collected (operation, request, status, body excerpt, ajv errors) and the test
 * fails once at the end with the distinct ones, so a run reports all problems. Two tests run first:
 * the generator against ajv (so that what the run blames on the server is the server's), and every
 * example of the document against its schema.
 *
 * Data, made with plain requests before the run: two users with two documents each (their own ids;
 * each other's ids must answer 404), an owner of throwaway documents that the DELETEs consume, a
 * fresh user for every DELETE /me, and fresh (also used, and made-up) refresh tokens for refresh and logout.
 *
 * What the document says only in prose, or what HTTP itself imposes (the whole list):
 * - a string described as "N to M characters … trimmed": the bounds hold for the trimmed text
 *   (valid values are padded with whitespace; invalid ones are blank or too long once trimmed);
 * - where a 401 is described as "already used" or "revoked" (POST /auth/refresh), a refresh token
 *   that was used before must not work; where it says only "unknown" (POST /auth/logout) it may;
 * - header values are visible ASCII without surrounding blanks (all an HTTP field carries);
 * - a non-UUID path id holds no "/", "\", "." or "..", nor names another documented route
 *   (GET /content/timeline is not a bad {contentId}): those are other URLs, not bad ids;
 * - a missing body, an `application/xml` body and a broken multipart body must get a request
 *   error the operation documents (400, 411, 413, 415 or 422): the document does not say which;
 * - an unknown property the schema allows is judged by the rules of valid requests (comparing
 *   with the same request without it means nothing once quotas and idempotency keys are spent).
 *
 * Default: ≥ 1,000 requests with a fixed seed (printed), well under a minute on 2 cores:
 *   npx vitest run test/contract/openapi.contract.test.ts
 * Longer: CONTRACT_RUNS multiplies the number of requests; CONTRACT_SEED replays another seed:
 *   CONTRACT_RUNS=10 CONTRACT_SEED=12345 npx vitest run test/contract/openapi.contract.test.ts
 * CONTRACT_LOG=/tmp/contract.jsonl writes every generated request and its answer, one JSON line each.
 */
import { randomBytes, randomUUID } from "node:crypto"
import * as fs from "node:fs"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readFixture } from "../support/fixtures.js"
import { startReady } from "../support/process.js"
import {
  arbitraryAt,
  BinaryValue,
  child,
  type Context,
  deref,
  filtered,
  invalidAt,
  keepsDescriptionRules,
  plain,
  propertiesOf,
  requiredOf,
  type Schema,
  Tagged,
  typesOf
} from "./jsonSchemaArbitrary.js"
import {
  coerce,
  documentedStatuses,
  duplicateIds,
  makeValidator,
  type Observed,
  type Operation,
  operationsOf,
  responseDescription,
  responseProblems,
  type Validator
} from "./openapi.js"

const RUNS = Math.max(1, Number(process.env.CONTRACT_RUNS ?? 1))
if (!Number.isFinite(RUNS)) throw new Error(`CONTRACT_RUNS must be a number, got ${process.env.CONTRACT_RUNS}`)
const SEED = process.env.CONTRACT_SEED !== undefined ? Number.parseInt(process.env.CONTRACT_SEED, 10) : 424242
if (!Number.isSafeInteger(SEED)) throw new Error(`CONTRACT_SEED must be an integer, got ${process.env.CONTRACT_SEED}`)
const MIN_REQUESTS = 1_000 * RUNS
const PLANNED_REQUESTS = Math.ceil(1_500 * RUNS)
const CONCURRENCY = 6
/** CONTRACT_LOG=<file>: every generated request and its answer as JSON lines. */
const LOG = process.env.CONTRACT_LOG
/** Contents of a throwaway user for the valid deletions (the free plan allows 10 uploads a month). */
const THROWAWAY_CONTENTS = Math.min(8, 4 + RUNS)

const PDF = readFixture("lab-report-cbc-cmp.pdf")
const TEXT = readFixture("lab-report-cbc-cmp.txt")

// ---------------------------------------------------------------------------------------------
// The server and its document

let server: Awaited<ReturnType<typeof startReady>> | undefined
let base = ""
/** The path of the document's first server ("/" here), put before every path. */
let prefix = ""
let doc: unknown
let validator: Validator
let operations: ReadonlyArray<Operation> = []

interface User {
  readonly email: string
  accessToken: string
  /** When to sign in again: half of the token's `expiresIn` (a long CONTRACT_RUNS outlives it). */
  renewAt: number
  readonly jobIds: Array<string>
  readonly contentIds: Array<string>
}

const users: Record<"A" | "B" | "owner", User | undefined> = { A: undefined, B: undefined, owner: undefined }
const throwawayContents: Array<string> = []
const deletedContents: Array<string> = []
const usedRefreshTokens: Array<string> = []
let freshCount = 0

// ---------------------------------------------------------------------------------------------
// Bookkeeping: every exchange is checked against the document; failures are collected.

interface Failure {
  readonly problem: string
  readonly op: string
  readonly kind: string
  readonly status: number
  readonly detail: string
  readonly request: string
  readonly body: string
}

const failures: Array<Failure> = []
const stats = new Map<string, { sent: number; statuses: Map<number, number> }>()
let fuzzRequests = 0
let setupRequests = 0

const excerpt = (s: string, n = 240) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s)

interface Wire {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
  readonly body?: string | FormData | Uint8Array
  /** How the request is shown in a failure report. */
  readonly shown: string
}

const exchange = async (wire: Wire): Promise<Observed> => {
  try {
    const response = await fetch(`${base}${prefix}${wire.url}`, {
      method: wire.method,
      headers: wire.headers,
      ...(wire.body !== undefined ? { body: wire.body } : {}),
      redirect: "manual",
      signal: AbortSignal.timeout(20_000)
    })
    const body = await response.text()
    return { status: response.status, headers: response.headers, body }
  } catch (error) {
    const cause = error instanceof Error && error.cause !== undefined ? ` (${String(error.cause)})` : ""
    return { status: -1, headers: new Headers(), body: `${String(error)}${cause}` }
  }
}

const templateRegex = (template: string) =>
  new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`)

const opFor = (method: string, url: string): Operation | undefined => {
  const path = url.split("?")[0]!
  const candidates = operations.filter((o) => o.method === method && templateRegex(o.path).test(path))
  // A static segment wins over a parameter (as routers do).
  return candidates.sort((a, b) => (b.path.match(/\{/g)?.length ?? 0) - (a.path.match(/\{/g)?.length ?? 0)).pop()
}

/** Checks any answer against what the document says of its operation; records problems. */
const checkAnswer = (op: Operation, kind: string, wire: Wire, answer: Observed, extra: ReadonlyArray<{ kind: string; detail: string }> = []) => {
  const problems = answer.status === -1 ? [{ kind: "no answer", detail: answer.body }] : [...responseProblems(doc, validator, op, answer), ...extra]
  for (const p of problems) {
    failures.push({ problem: p.kind, op: op.key, kind, status: answer.status, detail: p.detail, request: wire.shown, body: excerpt(answer.body) })
  }
}

/** A setup request (plain fetch), checked against the document like any other. */
const setupCall = async (method: string, url: string, headers: Record<string, string>, body?: string | FormData): Promise<Observed> => {
  setupRequests++
  const wire: Wire = { method, url, headers, ...(body !== undefined ? { body } : {}), shown: `${method} ${url} (setup)` }
  const answer = await exchange(wire)
  const op = opFor(method, url)
  if (op !== undefined) checkAnswer(op, "setup", wire, answer)
  return answer
}

const json = (value: unknown) => ({ "content-type": "application/json", body: JSON.stringify(value) })

const signIn = async (email: string): Promise<{ accessToken: string; refreshToken: string; renewAt: number }> => {
  const { body, ...headers } = json({ email })
  const answer = await setupCall("POST", "/auth/dev", headers, body)
  if (answer.status !== 200) throw new Error(`POST /auth/dev answered ${answer.status}: ${answer.body}`)
  const parsed = JSON.parse(answer.body) as { accessToken: string; refreshToken: string; expiresIn: number }
  return { accessToken: parsed.accessToken, refreshToken: parsed.refreshToken, renewAt: Date.now() + (parsed.expiresIn * 1000) / 2 }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

const upload = async (token: string, bytes: Uint8Array, fileName: string, mediaType: string): Promise<string> => {
  const form = new FormData()
  form.append("file", new Blob([bytes], { type: mediaType }), fileName)
  const answer = await setupCall("POST", "/documents/upload", bearer(token), form)
  if (answer.status !== 202) throw new Error(`upload answered ${answer.status}: ${answer.body}`)
  return (JSON.parse(answer.body) as { jobId: string }).jobId
}

const completed = async (token: string, jobId: string): Promise<string> => {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const answer = await setupCall("GET", `/jobs/${jobId}/status`, bearer(token))
    const status = JSON.parse(answer.body) as { status?: string; contentId?: string }
    if (status.status === "completed" && typeof status.contentId === "string") return status.contentId
    if (status.status === "failed") throw new Error(`job ${jobId} failed: ${answer.body}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`job ${jobId} did not complete within 30 s`)
}

const makeUser = async (email: string, documents: number): Promise<User> => {
  const { accessToken, renewAt } = await signIn(email)
  const jobIds = await Promise.all(
    Array.from({ length: documents }, (_, i) => (i % 2 === 0 ? upload(accessToken, PDF, "lab-report.pdf", "application/pdf") : upload(accessToken, TEXT, "lab-report.txt", "text/plain")))
  )
  const contentIds: Array<string> = []
  for (const jobId of jobIds) contentIds.push(await completed(accessToken, jobId))
  return { email, accessToken, renewAt, jobIds, contentIds }
}

/** A caller's live access token (the same account signed in again when the token nears expiry). */
const liveToken = async (user: User): Promise<string> => {
  if (Date.now() > user.renewAt) {
    const next = await signIn(user.email)
    user.accessToken = next.accessToken
    user.renewAt = next.renewAt
  }
  return user.accessToken
}

const freshUser = async (): Promise<string> => (await signIn(`throwaway-${++freshCount}-${randomUUID().slice(0, 8)}@example.com`)).accessToken
const freshRefreshToken = async (): Promise<string> => (await signIn(`tokens-${++freshCount}@example.com`)).refreshToken

// ---------------------------------------------------------------------------------------------
// Plans: what one generated request is, before fresh resources are drawn at send time.

type Caller = "A" | "B" | "owner" | "fresh"
type Auth = { readonly kind: "bearer" } | { readonly kind: "missing" } | { readonly kind: "raw"; readonly value: string }
/** structured: a value of the media type's schema, serialised by media type; raw: bytes as they are. */
type Body =
  | { readonly kind: "structured"; readonly mediaType: string; readonly value: unknown }
  | { readonly kind: "raw"; readonly contentType: string; readonly text: string }
/**
 * valid: the rules for valid requests; exact: one of these statuses; request-error: a documented
 * status that says the request itself is wrong (400, 411, 413, 415, 422).
 */
type Expect = { readonly kind: "valid" } | { readonly kind: "exact"; readonly statuses: ReadonlyArray<number> } | { readonly kind: "request-error" }

interface Plan {
  readonly op: Operation
  readonly kind: string
  readonly caller: Caller
  readonly auth: Auth
  readonly path: Readonly<Record<string, unknown>>
  readonly query: Readonly<Record<string, unknown>>
  readonly headers: Readonly<Record<string, unknown>>
  readonly body: Body | undefined
  readonly expect: Expect
}

const REQUEST_ERRORS = [400, 411, 413, 415, 422]

/** Visible ASCII: what an HTTP field value can carry (RFC 9110), without surrounding spaces. */
const headerSafe = (s: string) => /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$|^$/.test(s)
const HEADER_CHARS = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c))

const isUuidSchema = (schema: Schema) => schema.format === "uuid"
const isJsonMedia = (m: string) => m === "application/json" || /\+json$/.test(m)
/** Media types whose bodies are named text fields (and files): only strings survive them. */
const isFormMedia = (m: string) => m === "multipart/form-data" || m === "application/x-www-form-urlencoded"

/** Pools of ids per parameter / property name ("jobId" → job ids, "contentId" → content ids; others: none). */
const poolOf = (user: User, name: string): ReadonlyArray<string> => (/^job/i.test(name) ? user.jobIds : /^content/i.test(name) ? user.contentIds : [])

const FRESH_TOKEN_STANDIN = "x".repeat(43)

/** Real ids and tokens where the document names them; undefined: generate from the schema. */
const hintFor = (op: Operation, caller: Caller, generated: (pointer: string) => fc.Arbitrary<unknown>) =>
  (name: string, pointer: string, schema: Schema): fc.Arbitrary<unknown> | undefined => {
    if (/^refreshToken$/i.test(name)) {
      return fc.oneof(
        { weight: 4, arbitrary: fc.constant(new Tagged(FRESH_TOKEN_STANDIN, "fresh-token")) },
        { weight: 1, arbitrary: fc.constant(new Tagged(FRESH_TOKEN_STANDIN, "used-token")) },
        { weight: 2, arbitrary: generated(pointer).map((v) => new Tagged(v, "random-token")) }
      )
    }
    if (!isUuidSchema(schema)) return undefined
    const others = (["A", "B"] as const).filter((u) => u !== caller).map((u) => users[u]!)
    const foreign = others.flatMap((u) => poolOf(u, name))
    const random = generated(pointer).map((v) => new Tagged(v, "random-id"))
    if (!/^(job|content)/i.test(name)) return random // ids of a kind the setup did not make: unknown ones only
    if (caller === "owner" && op.method === "DELETE") {
      return fc.oneof(
        { weight: 5, arbitrary: fc.constant(new Tagged("00000000-0000-4000-8000-000000000000", "throwaway-id")) },
        { weight: 2, arbitrary: fc.constantFrom(...foreign).map((v) => new Tagged(v, "foreign-id")) },
        { weight: 2, arbitrary: random }
      )
    }
    const self = caller === "A" || caller === "B" ? users[caller]! : undefined
    const own = self === undefined ? [] : poolOf(self, name)
    return fc.oneof(
      ...(own.length > 0 ? [{ weight: 6, arbitrary: fc.constantFrom(...own).map((v) => new Tagged(v, "own-id")) }] : []),
      ...(foreign.length > 0 ? [{ weight: 2, arbitrary: fc.constantFrom(...foreign).map((v) => new Tagged(v, "foreign-id")) }] : []),
      { weight: 2, arbitrary: random }
    )
  }

const contextFor = (op: Operation, caller: Caller): Context => {
  const bytes = fc.oneof(
    { weight: 2, arbitrary: fc.constant(PDF) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 512 }) },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 200 }).map((s) => new Uint8Array(Buffer.from(s, "utf8"))) }
  )
  const plainCtx: Context = { root: doc, validate: validator.validate, bytes }
  return { ...plainCtx, hint: hintFor(op, caller, (pointer) => arbitraryAt(plainCtx, pointer)) }
}

/** Values for one location's parameters: required always, optional sometimes. */
const paramsArbitrary = (ctx: Context, op: Operation, location: "path" | "query" | "header"): fc.Arbitrary<Record<string, unknown>> => {
  const entries: Record<string, fc.Arbitrary<unknown>> = {}
  const required: Array<string> = []
  for (const p of op.parameters.filter((x) => x.in === location)) {
    const { schema } = deref(doc, p.schema)
    let arb = ctx.hint?.(p.name, p.schema, schema) ?? arbitraryAt(ctx, p.schema)
    if (location === "header") {
      const plainString = typesOf(schema)?.join() === "string" && !("pattern" in schema) && !("format" in schema) && !("enum" in schema)
      arb = plainString
        ? fc.string({ unit: HEADER_CHARS, minLength: Number(schema.minLength ?? 0), maxLength: Math.min(Number(schema.maxLength ?? 64), 64) })
        : arb.filter((v) => headerSafe(String(plain(v))))
    }
    // Header values come back now and then (an Idempotency-Key reused, with another request or the same).
    if (location === "header") arb = fc.oneof({ weight: 3, arbitrary: arb }, { weight: 1, arbitrary: fc.constantFrom(...fc.sample(arb, { seed: SEED, numRuns: 2 })) })
    entries[p.name] = arb
    if (p.required) required.push(p.name)
  }
  return fc.record(entries, { requiredKeys: required })
}

const bodyArbitraries = (ctx: Context, op: Operation): ReadonlyArray<fc.Arbitrary<Body>> => {
  const out: Array<fc.Arbitrary<Body>> = []
  for (const [mediaType, pointer] of op.requestBody?.content ?? []) {
    const valid = filtered(arbitraryAt(ctx, pointer), (v) => validator.validate(pointer, plain(v)) && keepsDescriptionRules(doc, pointer, plain(v)), `the ${mediaType} body of ${op.key}`)
    out.push(valid.map((value) => ({ kind: "structured" as const, mediaType, value })))
  }
  return out
}

const validPlan = (op: Operation, caller: Caller): fc.Arbitrary<Plan> => {
  const ctx = contextFor(op, caller)
  const bodies = bodyArbitraries(ctx, op)
  const body: fc.Arbitrary<Body | undefined> =
    bodies.length === 0 ? fc.constant(undefined) : op.requestBody?.required ? fc.oneof(...bodies) : fc.option(fc.oneof(...bodies), { nil: undefined })
  return fc
    .record({ path: paramsArbitrary(ctx, op, "path"), query: paramsArbitrary(ctx, op, "query"), headers: paramsArbitrary(ctx, op, "header"), body })
    .map(({ path, query, headers, body }) => ({ op, kind: "valid", caller, auth: { kind: "bearer" as const }, path, query, headers, body, expect: { kind: "valid" as const } }))
}

const withBody = (plan: Plan, body: Body | undefined, kind: string, expect: Expect): Plan => ({ ...plan, body, kind, expect })

const bodySchemaPointer = (plan: Plan): string | undefined => {
  if (plan.body === undefined || plan.body.kind === "raw") return undefined
  return plan.op.requestBody?.content.get(plan.body.mediaType)
}

const otherRoute = (op: Operation, path: string) =>
  operations.some((o) => o.method === op.method && o.path !== op.path && templateRegex(o.path).test(path))

/** The mutations that apply to an operation; each turns a valid plan into an invalid one. */
const mutations = (op: Operation, caller: Caller): ReadonlyArray<fc.Arbitrary<Plan>> => {
  const ctx = contextFor(op, caller)
  const valid = validPlan(op, caller)
  const out: Array<fc.Arbitrary<Plan>> = []

  if (op.secured) {
    out.push(valid.map((p) => ({ ...p, kind: "auth: no bearer token", auth: { kind: "missing" as const }, expect: { kind: "exact" as const, statuses: [401] } })))
    const tampered = (() => {
      const token = users.A!.accessToken
      const i = token.length - 20
      return `${token.slice(0, i)}${token[i] === "A" ? "B" : "A"}${token.slice(i + 1)}`
    })()
    const garbage = fc.oneof(
      fc.string({ unit: HEADER_CHARS, minLength: 1, maxLength: 60 }).map((s) => `Bearer ${s}`),
      fc.constantFrom(`Bearer ${tampered}`, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", `Token ${users.A!.accessToken}`, "Bearer a.b.c")
    )
    out.push(fc.tuple(valid, garbage).map(([p, value]) => ({ ...p, kind: "auth: garbage bearer token", auth: { kind: "raw" as const, value }, expect: { kind: "exact" as const, statuses: [401] } })))
  }

  for (const location of ["path", "query", "header"] as const) {
    const field = location === "header" ? "headers" : location
    for (const param of op.parameters.filter((x) => x.in === location)) {
      const invalid = invalidAt(ctx, param.schema, { onlyStrings: location !== "query" })
      if (invalid !== undefined) {
        const serialized = invalid
          .map(({ value, why }) => ({ text: Array.isArray(value) ? value.map(String).join(",") : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value), why }))
          .filter(({ text }) => !validator.validate(param.schema, coerce(doc, param.schema, text)))
          .filter(({ text }) =>
            location === "path"
              ? text.length > 0 && text !== "." && text !== ".." && !/[/\\]/.test(text) && !otherRoute(op, op.path.replace(`{${param.name}}`, encodeURIComponent(text)))
              : location === "header"
                ? headerSafe(text)
                : true
          )
        out.push(
          fc.tuple(valid, serialized).map(([p, { text, why }]) => ({
            ...p,
            kind: `${location} ${param.name}: ${why}`,
            [field]: { ...p[field], [param.name]: text },
            expect: { kind: "exact" as const, statuses: [400] }
          }))
        )
      }
      if (param.required && location !== "path") {
        out.push(
          valid.map((p) => {
            const rest = { ...p[field] }
            delete rest[param.name]
            return { ...p, kind: `${location} ${param.name}: missing`, [field]: rest, expect: { kind: "exact" as const, statuses: [400] } }
          })
        )
      }
    }
  }

  if (op.requestBody !== undefined) {
    const withAnyBody = valid.filter((p) => p.body !== undefined && p.body.kind !== "raw")
    if (op.requestBody.required) out.push(valid.map((p) => withBody(p, undefined, "body: missing", { kind: "request-error" })))
    if (!op.requestBody.content.has("application/xml")) {
      const xml = `<?xml version="1.0"?><request><email>ada@example.com</email></request>`
      out.push(valid.map((p) => withBody(p, { kind: "raw", contentType: "application/xml", text: xml }, "body: application/xml", { kind: "request-error" })))
    }
    for (const [mediaType, pointer] of op.requestBody.content) {
      const ofType = withAnyBody.filter((p) => bodySchemaPointer(p) === pointer)
      const { schema } = deref(doc, pointer)
      const isObject = typesOf(schema)?.includes("object") ?? false
      const props = isObject ? Object.keys(propertiesOf(schema)) : []
      const required = isObject ? requiredOf(schema) : []
      const closed = schema.additionalProperties === false
      const fields = isFormMedia(mediaType)
      const rebuild = (_p: Plan, value: unknown): Body => ({ kind: "structured", mediaType, value })
      const current = (p: Plan) => (p.body !== undefined && p.body.kind !== "raw" ? p.body.value : undefined) as Record<string, unknown>

      if (isJsonMedia(mediaType)) {
        out.push(
          fc
            .tuple(ofType, fc.constantFrom("truncated", "trailing comma", "single quotes", "bare word", "unclosed string"))
            .map(([p, how]) => {
              const text = JSON.stringify(plain(current(p)))
              const broken =
                how === "truncated" ? text.slice(0, -1) : how === "trailing comma" ? `${text.slice(0, -1)},}` : how === "single quotes" ? text.replace(/"/g, "'") : how === "bare word" ? `{email: ${text}}` : `{"${text}`
              return withBody(p, { kind: "raw", contentType: mediaType, text: broken }, `body: malformed JSON (${how})`, { kind: "exact", statuses: [400] })
            })
        )
        const wrongTypes = invalidAt(ctx, pointer)
        if (wrongTypes !== undefined) {
          out.push(
            fc.tuple(ofType, wrongTypes.filter((i) => i.why === "type")).map(([p, i]) => withBody(p, rebuild(p, i.value), "body: wrong JSON type", { kind: "exact", statuses: [400] }))
          )
        }
      }
      if (required.length > 0) {
        out.push(
          fc.tuple(ofType, fc.constantFrom(...required)).map(([p, name]) => {
            const value = { ...current(p) }
            delete value[name]
            return withBody(p, rebuild(p, value), `body ${name}: missing`, { kind: "exact", statuses: [400] })
          })
        )
      }
      for (const name of props) {
        const invalid = invalidAt(ctx, child(deref(doc, pointer).pointer, "properties", name), { onlyStrings: fields })
        if (invalid === undefined) continue
        out.push(
          fc.tuple(ofType, invalid).map(([p, i]) =>
            withBody(p, rebuild(p, { ...current(p), [name]: i.value }), `body ${name}: ${i.why}`, { kind: "exact", statuses: [400] })
          )
        )
      }
      const extraName = fc.stringMatching(/^[a-z][A-Za-z0-9_]{0,11}$/).filter((n) => !props.includes(n) && n !== "__proto__" && n !== "constructor")
      const extraValue = fields ? fc.string({ maxLength: 20 }) : fc.jsonValue({ maxDepth: 2 })
      if (isObject) out.push(
        fc.tuple(ofType, extraName, extraValue).map(([p, name, v]) =>
          withBody(p, rebuild(p, { ...current(p), [name]: v }), closed ? "body: unknown property (additionalProperties: false)" : "body: unknown property (allowed)", closed ? { kind: "exact", statuses: [400] } : { kind: "valid" })
        )
      )
      if (mediaType === "multipart/form-data") {
        out.push(
          ofType.map((p) =>
            withBody(p, { kind: "raw", contentType: "multipart/form-data; boundary=contract", text: "--contract\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nno closing boundary" }, "body: malformed multipart", { kind: "request-error" })
          )
        )
      }
    }
  }
  return out
}

/** Who signs an operation's requests: DELETE destroys, so throwaway users and contents do it. */
const callersFor = (op: Operation): fc.Arbitrary<Caller> => {
  if (op.method === "DELETE") return fc.constant(op.parameters.some((p) => p.in === "path") ? "owner" : "fresh")
  return fc.constantFrom<Caller>("A", "B")
}

const planArbitrary = (op: Operation): fc.Arbitrary<Plan> =>
  callersFor(op).chain((caller) => {
    const invalid = mutations(op, caller)
    // About half valid; among the invalid, the two bearer-token mutations weigh 3 each.
    const weights = invalid.map((_, i) => (op.secured && i < 2 ? 3 : 1))
    const total = weights.reduce((a, b) => a + b, 0)
    return fc.oneof({ weight: Math.max(1, total), arbitrary: validPlan(op, caller) }, ...invalid.map((arbitrary, i) => ({ weight: weights[i]!, arbitrary })))
  })

// ---------------------------------------------------------------------------------------------
// Sending a plan

const drawTagged = async (value: unknown, tags: Set<string>, presented: Array<string>): Promise<unknown> => {
  if (value instanceof Tagged) {
    tags.add(value.tag)
    switch (value.tag) {
      case "fresh-token": {
        const token = await freshRefreshToken()
        presented.push(token)
        return token
      }
      case "used-token": {
        const token = usedRefreshTokens.shift()
        if (token !== undefined) return token
        tags.delete("used-token")
        tags.add("random-token")
        return randomBytes(32).toString("base64url")
      }
      case "throwaway-id": {
        const id = throwawayContents.shift()
        if (id !== undefined) return id
        tags.delete("throwaway-id")
        const gone = deletedContents[0]
        tags.add(gone !== undefined ? "deleted-id" : "random-id")
        return gone ?? randomUUID()
      }
      default:
        return drawTagged(value.value, tags, presented)
    }
  }
  if (Array.isArray(value)) {
    const out: Array<unknown> = []
    for (const v of value) out.push(await drawTagged(v, tags, presented))
    return out
  }
  if (typeof value === "object" && value !== null && !(value instanceof BinaryValue)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = await drawTagged(v, tags, presented)
    return out
  }
  return value
}

const asText = (v: unknown) => (typeof v === "string" ? v : typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))

const toWire = async (plan: Plan, tags: Set<string>, presented: Array<string>): Promise<{ wire: Wire; token: string | undefined }> => {
  let url = plan.op.path
  for (const [name, v] of Object.entries(plan.path)) url = url.replace(`{${name}}`, encodeURIComponent(asText(await drawTagged(v, tags, presented))))
  const search = new URLSearchParams()
  for (const [name, v] of Object.entries(plan.query)) {
    const drawn = await drawTagged(v, tags, presented)
    if (Array.isArray(drawn)) for (const item of drawn) search.append(name, asText(item))
    else search.append(name, asText(drawn))
  }
  if (search.size > 0) url += `?${search.toString()}`
  const headers: Record<string, string> = {}
  for (const [name, v] of Object.entries(plan.headers)) headers[name] = asText(await drawTagged(v, tags, presented))

  let token: string | undefined
  if (plan.op.secured) {
    if (plan.auth.kind === "raw") headers.authorization = plan.auth.value
    else if (plan.auth.kind === "bearer") {
      token = plan.caller === "fresh" ? await freshUser() : await liveToken(users[plan.caller]!)
      headers.authorization = `Bearer ${token}`
    }
  }

  let body: Wire["body"]
  let shownBody = ""
  if (plan.body?.kind === "raw") {
    headers["content-type"] = plan.body.contentType
    body = plan.body.text
    shownBody = plan.body.text
  } else if (plan.body?.kind === "structured") {
    const { mediaType } = plan.body
    const value = await drawTagged(plan.body.value, tags, presented)
    if (isJsonMedia(mediaType)) {
      headers["content-type"] = mediaType
      body = JSON.stringify(value)
      shownBody = body
    } else if (mediaType === "multipart/form-data") {
      // fetch writes the content type with its boundary
      const form = new FormData()
      const parts: Array<string> = []
      for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
        for (const item of Array.isArray(v) ? v : [v]) {
          if (item instanceof BinaryValue) {
            form.append(name, new Blob([item.bytes], { type: item.mediaType }), item.fileName)
            parts.push(`${name}=<${item.bytes.byteLength} bytes ${item.mediaType} ${item.fileName}>`)
          } else {
            form.append(name, asText(item))
            parts.push(`${name}=${JSON.stringify(asText(item))}`)
          }
        }
      }
      body = form
      shownBody = `multipart {${parts.join(", ")}}`
    } else if (mediaType === "application/x-www-form-urlencoded") {
      const form = new URLSearchParams()
      for (const [name, v] of Object.entries(value as Record<string, unknown>)) for (const item of Array.isArray(v) ? v : [v]) form.append(name, asText(item))
      headers["content-type"] = mediaType
      body = form.toString()
      shownBody = body
    } else {
      headers["content-type"] = mediaType
      body = value instanceof BinaryValue ? value.bytes : asText(value)
      shownBody = value instanceof BinaryValue ? `<${value.bytes.byteLength} bytes>` : body as string
    }
  }
  const shownHeaders = Object.entries(headers)
    .filter(([k]) => k !== "content-type")
    .map(([k, v]) => `${k}: ${k === "authorization" && v === `Bearer ${token}` ? "Bearer <live token>" : excerpt(v, 60)}`)
  const shown = `${plan.op.method} ${excerpt(url, 200)}${shownHeaders.length > 0 ? ` [${shownHeaders.join("; ")}]` : ""}${shownBody !== "" ? ` ${excerpt(shownBody, 300)}` : ""}`
  return { wire: { method: plan.op.method, url, headers, ...(body !== undefined ? { body } : {}), shown }, token }
}

const UNKNOWN_IDS = ["foreign-id", "random-id", "deleted-id"]

/** What the plan's expectation says of the status (the document's own rules are checked apart). */
const judge = (plan: Plan, tags: ReadonlySet<string>, status: number): { kind: string; detail: string } | undefined => {
  if (status === -1 || status >= 500) return undefined // reported as such already
  const expect = plan.expect
  if (expect.kind === "exact") {
    return expect.statuses.includes(status) ? undefined : { kind: "invalid request not refused as documented", detail: `expected ${expect.statuses.join(" or ")}, got ${status}` }
  }
  if (expect.kind === "request-error") {
    return REQUEST_ERRORS.includes(status) ? undefined : { kind: "invalid request not refused as documented", detail: `expected a request error (${REQUEST_ERRORS.join("/")}), got ${status}` }
  }
  if (status === 400) return { kind: "valid request refused with 400", detail: "every constraint of the document is kept" }
  const unknownId = UNKNOWN_IDS.some((t) => tags.has(t))
  // Live: the caller's own access token, or a refresh token nobody has used yet.
  const live = plan.op.secured ? plan.auth.kind === "bearer" : tags.has("fresh-token")
  if (status === 401 && live) return { kind: "valid request refused with 401", detail: "the credentials are live" }
  if (unknownId) {
    if (status >= 200 && status < 300) return { kind: "another user's or an unknown id was served", detail: `tags ${[...tags].join(",")}` }
    if (![404, 402, 409, 429].includes(status)) return { kind: "unknown id not answered 404", detail: `got ${status}` }
    return undefined
  }
  // Prose rule: where the 401 says "already used" (or revoked), a used refresh token must not work.
  if (tags.has("used-token") && status >= 200 && status < 300 && /already used|revoked/i.test(responseDescription(doc, plan.op, "401"))) {
    return { kind: "a used refresh token was accepted", detail: `got ${status}` }
  }
  if (status === 404) return { kind: "valid request answered 404", detail: `ids used: ${[...tags].join(",") || "none"}` }
  return undefined
}

const send = async (plan: Plan): Promise<void> => {
  const tags = new Set<string>()
  const presented: Array<string> = []
  const { wire } = await toWire(plan, tags, presented)
  fuzzRequests++
  const answer = await exchange(wire)
  const entry = stats.get(plan.op.key) ?? { sent: 0, statuses: new Map<number, number>() }
  entry.sent++
  entry.statuses.set(answer.status, (entry.statuses.get(answer.status) ?? 0) + 1)
  stats.set(plan.op.key, entry)
  if (LOG !== undefined) fs.appendFileSync(LOG, `${JSON.stringify({ op: plan.op.key, kind: plan.kind, tags: [...tags], request: wire.shown, status: answer.status, body: excerpt(answer.body, 400) })}\n`)
  const verdict = judge(plan, tags, answer.status)
  checkAnswer(plan.op, plan.kind, wire, answer, verdict === undefined ? [] : [verdict])
  usedRefreshTokens.push(...presented.filter(() => answer.status >= 200 && answer.status < 300))
  // A throwaway content is gone once deleted; any other answer leaves it for the next request.
  const id = wire.url.split("?")[0]!.split("/").pop()
  if (tags.has("throwaway-id") && id !== undefined) {
    if (answer.status >= 200 && answer.status < 300) deletedContents.push(id)
    else throwawayContents.push(id)
  }
}

// ---------------------------------------------------------------------------------------------

describe("the server keeps its OpenAPI document", () => {
  beforeAll(async () => {
    server = await startReady("server", {
      env: {
        LOG_LEVEL: "warning",
        WORKER_POLL_MS: "50",
        // a fresh DATA_DIR otherwise races the local keyring against the lookup key file
        LOCAL_MASTER_KEY: randomBytes(32).toString("hex"),
        RATE_LIMIT_IP_CAPACITY: "1000000",
        RATE_LIMIT_IP_REFILL_PER_SECOND: "100000",
        RATE_LIMIT_USER_CAPACITY: "1000000",
        RATE_LIMIT_USER_REFILL_PER_SECOND: "100000"
      }
    })
    base = `http://127.0.0.1:${server.port}`
    const answer = await fetch(`${base}/openapi.json`)
    expect(answer.status).toBe(200)
    doc = await answer.json()
    validator = makeValidator(doc)
    for (const id of duplicateIds(doc)) {
      failures.push({ problem: "document: $id used by more than one schema", op: "(document)", kind: "-", status: 0, detail: id, request: "GET /openapi.json", body: "" })
    }
    operations = operationsOf(doc)
    const servers = (doc as { servers?: ReadonlyArray<{ url?: string }> }).servers ?? []
    prefix = (servers[0]?.url ?? "/").startsWith("/") ? (servers[0]?.url ?? "/").replace(/\/+$/, "") : ""
    // Requests carry `Authorization: Bearer`: that is the only scheme this test knows how to use.
    const schemes = (doc as { components?: { securitySchemes?: Record<string, { type?: string; scheme?: string }> } }).components?.securitySchemes ?? {}
    for (const [name, scheme] of Object.entries(schemes)) {
      if (scheme.type !== "http" || scheme.scheme?.toLowerCase() !== "bearer") throw new Error(`security scheme ${name} is not HTTP bearer; teach the test to use it`)
    }
    const [a, b, owner] = await Promise.all([
      makeUser("contract-a@example.com", 2),
      makeUser("contract-b@example.com", 2),
      makeUser("contract-owner@example.com", THROWAWAY_CONTENTS)
    ])
    users.A = a
    users.B = b
    users.owner = owner
    throwawayContents.push(...owner.contentIds)
  }, 120_000)

  afterAll(async () => {
    if (server === undefined) return
    server.child.kill("SIGTERM")
    const exited = await server.exited
    if (exited.code !== 0) console.log(server.output().slice(-4000))
  }, 30_000)

  it("generates values that keep, and values that break, every schema of the document", () => {
    // The generator is checked against ajv first, so that what the run blames on the server is the server's.
    const ctx = contextFor(operations[0]!, "A")
    const pointers = new Set<string>(Object.keys((doc as { components?: { schemas?: object } }).components?.schemas ?? {}).map((name) => child("/components/schemas", name)))
    for (const op of operations) {
      for (const p of op.parameters) pointers.add(p.schema)
      for (const pointer of op.requestBody?.content.values() ?? []) pointers.add(pointer)
    }
    const wrong: Array<string> = []
    for (const pointer of pointers) {
      for (const value of fc.sample(arbitraryAt(ctx, pointer), { seed: SEED, numRuns: 30 })) {
        if (!validator.validate(pointer, plain(value))) wrong.push(`${pointer}: generated ${excerpt(JSON.stringify(plain(value)), 120)}: ${validator.errors(pointer, plain(value))}`)
      }
      const invalid = invalidAt(ctx, pointer)
      for (const { value, why } of invalid === undefined ? [] : fc.sample(invalid, { seed: SEED, numRuns: 30 })) {
        if (why !== "prose-rule" && validator.validate(pointer, plain(value))) wrong.push(`${pointer}: ${why} value ${excerpt(JSON.stringify(plain(value)), 120)} is valid`)
      }
    }
    expect(wrong).toEqual([])
  })

  it("has examples that validate against their schemas", () => {
    // Media types (request and response), parameters, headers and schemas' own `examples`.
    const wrong: Array<string> = []
    const check = (schemaPointer: string, value: unknown, where: string) => {
      const errors = validator.errors(schemaPointer, value)
      if (errors !== "") wrong.push(`${where}: ${errors}`)
    }
    const walk = (node: unknown, pointer: string): void => {
      if (typeof node !== "object" || node === null) return
      const o = node as Record<string, unknown>
      const isSchemaHolder = "schema" in o && typeof o.schema === "object" && !pointer.endsWith("/properties")
      if (isSchemaHolder && "example" in o) check(child(pointer, "schema"), o.example, child(pointer, "example"))
      if (isSchemaHolder && typeof o.examples === "object" && o.examples !== null && !Array.isArray(o.examples)) {
        for (const [name, ex] of Object.entries(o.examples)) {
          if (typeof ex === "object" && ex !== null && "value" in ex) check(child(pointer, "schema"), (ex as { value: unknown }).value, child(pointer, "examples", name))
        }
      }
      if (pointer.includes("/schema") || pointer.startsWith("/components/schemas")) {
        if (Array.isArray(o.examples) && !pointer.endsWith("/properties")) o.examples.forEach((ex, i) => check(pointer, ex, child(pointer, "examples", i)))
      }
      for (const [k, v] of Object.entries(o)) if (k !== "example" && k !== "examples") walk(v, child(pointer, k))
    }
    walk(doc, "")
    expect(wrong).toEqual([])
  })

  it(
    `answers ≥ ${MIN_REQUESTS} generated requests as documented`,
    async () => {
      const started = Date.now()
      console.log(`contract: seed ${SEED} (CONTRACT_SEED to replay), ${RUNS}× (CONTRACT_RUNS), ${operations.length} operations`)
      const perOperation = Math.ceil(PLANNED_REQUESTS / operations.length)
      const planned = operations.map((op, i) => fc.sample(planArbitrary(op), { seed: SEED + i, numRuns: perOperation }))
      // Round robin over operations, so that quotas and deletions spread over the run.
      const queue: Array<Plan> = []
      for (let i = 0; i < perOperation; i++) for (const plans of planned) if (plans[i] !== undefined) queue.push(plans[i]!)
      // Generation blocked the event loop for a while: let the client see the keep-alive sockets the
      // server closed meanwhile, before reusing them.
      await new Promise((r) => setTimeout(r, 200))
      let next = 0
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < queue.length) await send(queue[next++]!)
        })
      )

      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      const rows = operations.map((op) => {
        const s = stats.get(op.key)
        const statuses = [...(s?.statuses ?? new Map<number, number>())].sort(([x], [y]) => x - y).map(([code, n]) => `${code}×${n}`).join(" ")
        return `${op.key.padEnd(38)} ${String(s?.sent ?? 0).padStart(5)}  ${statuses}`
      })
      console.log(
        [`${"operation".padEnd(38)} ${"sent".padStart(5)}  statuses`, ...rows, `${"total".padEnd(38)} ${String(fuzzRequests).padStart(5)}  (+${setupRequests} setup requests, ${seconds} s)`].join("\n")
      )

      // One line per distinct problem (operation, what, status), with a count and one example.
      const groups = new Map<string, { n: number; example: Failure }>()
      for (const f of failures) {
        const key = `${f.op} | ${f.problem} | ${f.status} | ${f.kind}`
        const g = groups.get(key)
        if (g) g.n++
        else groups.set(key, { n: 1, example: f })
      }
      const report = [...groups].map(
        ([key, { n, example }]) => `${key} ×${n}\n    ${example.detail}\n    request: ${example.request}\n    answer: ${example.body}`
      )
      if (report.length > 0) console.log(`contract: ${failures.length} failures, ${report.length} distinct:\n${report.join("\n")}`)

      // Documented statuses below 500 that no request of the run reached: worth knowing, not a failure.
      const unseen = operations
        .map((op) => [op.key, documentedStatuses(op).filter((s) => s < 500 && !stats.get(op.key)?.statuses.has(s))] as const)
        .filter(([, list]) => list.length > 0)
        .map(([key, list]) => `${key} ${list.join(",")}`)
      console.log(`contract: documented statuses < 500 not reached: ${unseen.join("; ") || "none"}`)

      expect(fuzzRequests).toBeGreaterThanOrEqual(MIN_REQUESTS)
      expect(operations.every((op) => (stats.get(op.key)?.sent ?? 0) > 0)).toBe(true)
      expect(report).toEqual([])
    },
    240_000 * RUNS
  )
})
