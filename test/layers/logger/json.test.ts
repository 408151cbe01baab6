import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Logger, Option, Redacted, References } from "effect"
import * as fc from "fast-check"
import { formatLogRecord, isSensitiveKey, redact, scrubText } from "../../../src/layers/logger/json.js"
import { NotFound, UpstreamFailed } from "../../../src/services/errors.js"

type Line = Record<string, unknown>

/**
 * Runs `effect` with the default logger replaced by one that keeps every JSON line it would
 * print (the exact string, so tests can look at the serialised form too).
 */
const capture = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const raw: Array<string> = []
    const collector = Logger.make((options) => {
      raw.push(JSON.stringify(formatLogRecord(options)))
    })
    const exit = yield* Effect.exit(effect.pipe(Effect.provide(Logger.layer([collector]))))
    const lines = raw.map((l) => JSON.parse(l) as Line)
    return { exit, raw, lines }
  })

/** The single line an effect logs. */
const oneLine = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const { exit, raw, lines } = yield* capture(effect)
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(lines).toHaveLength(1)
    return { raw: raw[0]!, line: lines[0]! }
  })

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

const JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUgRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
const JWT_PAYLOAD = JWT.split(".")[1]!

describe("JSON log line format", () => {
  it.effect("has level, ISO time and message; annotations are fields; requestId is kept verbatim", () =>
    Effect.gen(function* () {
      const requestId = "3f2b8c1e-5d7a-4e0b-9c61-0a1b2c3d4e5f"
      const { line } = yield* oneLine(
        Effect.logWarning("upload accepted").pipe(
          Effect.annotateLogs({ requestId, jobId: "job-17", fileSizeBytes: 2048, retried: false })
        )
      )
      expect(line.level).toBe("WARN")
      expect(line.message).toBe("upload accepted")
      expect(typeof line.time).toBe("string")
      expect(line.time).toMatch(ISO_8601)
      expect(new Date(line.time as string).toISOString()).toBe(line.time)
      expect(line.requestId).toBe(requestId)
      expect(line.jobId).toBe("job-17")
      expect(line.fileSizeBytes).toBe(2048)
      expect(line.retried).toBe(false)
    }))

  it.effect("each level is labelled", () =>
    Effect.gen(function* () {
      const { lines } = yield* capture(
        Effect.all([Effect.logInfo("i"), Effect.logError("e"), Effect.logFatal("f")], { discard: true })
      )
      expect(lines.map((l) => [l.level, l.message])).toEqual([["INFO", "i"], ["ERROR", "e"], ["FATAL", "f"]])
    }))

  it.effect("inside a span: trace_id and span_id of the current span", () =>
    Effect.gen(function* () {
      const { exit, lines } = yield* capture(
        Effect.gen(function* () {
          yield* Effect.log("in span")
          return yield* Effect.currentSpan
        }).pipe(Effect.withSpan("x"))
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      const span = Exit.isSuccess(exit) ? exit.value : undefined
      expect(span?.name).toBe("x")
      expect(lines).toHaveLength(1)
      expect(lines[0]!.trace_id).toBe(span?.traceId)
      expect(lines[0]!.span_id).toBe(span?.spanId)
      expect(typeof lines[0]!.trace_id).toBe("string")
      expect((lines[0]!.trace_id as string).length).toBeGreaterThan(0)
    }))

  it.effect("with tracing off (no-op spans), a line carries no trace or span id", () =>
    Effect.gen(function* () {
      const { lines } = yield* capture(
        Effect.log("untraced").pipe(Effect.withSpan("x"), Effect.provideService(References.TracerEnabled, false))
      )
      expect(lines).toHaveLength(1)
      expect(lines[0]).not.toHaveProperty("trace_id")
      expect(lines[0]).not.toHaveProperty("span_id")
    }))

  it.effect("nested span: the innermost span's id, the same trace", () =>
    Effect.gen(function* () {
      const { exit, lines } = yield* capture(
        Effect.gen(function* () {
          const outer = yield* Effect.currentSpan
          const inner = yield* Effect.log("inner").pipe(Effect.andThen(Effect.currentSpan), Effect.withSpan("inner"))
          return { outer, inner }
        }).pipe(Effect.withSpan("outer"))
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      if (!Exit.isSuccess(exit)) return
      const { inner, outer } = exit.value
      expect(inner.spanId).not.toBe(outer.spanId)
      expect(lines[0]).toMatchObject({ trace_id: outer.traceId, span_id: inner.spanId })
    }))

  it.effect("annotations cannot overwrite level, time, message or the span ids", () =>
    Effect.gen(function* () {
      const { line } = yield* oneLine(
        Effect.logInfo("real message").pipe(
          Effect.annotateLogs({ level: "DEBUG", time: "x", trace_id: "forged", span_id: "forged" }),
          Effect.withSpan("span")
        )
      )
      expect(line.level).toBe("INFO")
      expect(line.message).toBe("real message")
      expect(line.time).toMatch(ISO_8601)
      expect(line.trace_id).not.toBe("forged")
      expect(line.span_id).not.toBe("forged")
      expect(line.annotation_level).toBe("DEBUG")
    }))

  it.effect("outside a span: no trace_id or span_id", () =>
    Effect.gen(function* () {
      expect(Option.isNone(yield* Effect.option(Effect.currentSpan))).toBe(true)
      const { line } = yield* oneLine(Effect.log("no span"))
      expect(line).not.toHaveProperty("trace_id")
      expect(line).not.toHaveProperty("span_id")
    }))
})

describe("redaction by key", () => {
  const sensitive = {
    authorization: "Basic dXNlcjpwYXNz",
    password: "correct horse battery staple",
    accessToken: "ya29.a0AfH6SMBx",
    refreshToken: "1//0gLkq-refresh",
    idToken: "opaque-id-token-value",
    email: "someone at example dot com",
    patientName: "Jane Doe",
    labResults: "HbA1c 9.1%",
    summary: "elevated glucose, follow up",
    userMessage: "I have been feeling dizzy",
    errorMessage: "glucose 250 mg/dL for Jane",
    apiKey: "k-123456",
    cookie: "sid=abcdef"
  } as const
  const safe = {
    userId: "user-42",
    jobId: "job-7",
    contentType: "application/pdf",
    status: 201,
    durationMs: 12.5
  } as const

  it.effect("sensitive annotation keys become [REDACTED]; safe keys are kept", () =>
    Effect.gen(function* () {
      const { line, raw } = yield* oneLine(Effect.log("annotated").pipe(Effect.annotateLogs({ ...sensitive, ...safe })))
      for (const key of Object.keys(sensitive)) expect(line[key], key).toBe("[REDACTED]")
      for (const [key, value] of Object.entries(safe)) expect(line[key], key).toBe(value)
      for (const value of Object.values(sensitive)) expect(raw).not.toContain(value)
    }))

  it.effect("sensitive keys nested inside objects and arrays are redacted; their safe siblings are kept", () =>
    Effect.gen(function* () {
      const { line, raw } = yield* oneLine(
        Effect.log("nested").pipe(
          Effect.annotateLogs("request", {
            userId: "user-42",
            headers: { authorization: "Basic dXNlcjpwYXNz", contentType: "application/json" },
            items: [
              { jobId: "job-1", labResults: "HbA1c 9.1%", status: "done" },
              [{ password: "hunter2!!" }, { refreshToken: "1//0gLkq-refresh" }]
            ],
            owner: { patientName: "Jane Doe", summary: "elevated glucose" }
          })
        )
      )
      expect(line.request).toEqual({
        userId: "user-42",
        headers: { authorization: "[REDACTED]", contentType: "application/json" },
        items: [
          { jobId: "job-1", labResults: "[REDACTED]", status: "done" },
          [{ password: "[REDACTED]" }, { refreshToken: "[REDACTED]" }]
        ],
        owner: { patientName: "[REDACTED]", summary: "[REDACTED]" }
      })
      for (const secret of ["dXNlcjpwYXNz", "HbA1c", "hunter2", "1//0gLkq", "Jane Doe", "glucose"]) {
        expect(raw).not.toContain(secret)
      }
    }))

  it.effect("objects passed as the message are redacted by key too", () =>
    Effect.gen(function* () {
      const { line } = yield* oneLine(Effect.log("login", { userId: "user-42", password: "p4ssw0rd!" }))
      expect(line.message).toContain("login")
      expect(line.message).toContain("user-42")
      expect(line.message).not.toContain("p4ssw0rd")
    }))

  it("isSensitiveKey: case-insensitive names of secrets and health data; ids and technical fields are allowed", () => {
    for (const key of [
      "Authorization",
      "PASSWORD",
      "x-api-key",
      "accessToken",
      "refreshToken",
      "idToken",
      "email",
      "patientName",
      "labResults",
      "summary",
      "message",
      "chatMessage",
      "dateOfBirth",
      "diagnosis"
    ]) {
      expect(isSensitiveKey(key), key).toBe(true)
    }
    for (const key of ["userId", "jobId", "contentType", "status", "durationMs", "requestId", "inputTokens", "method"]) {
      expect(isSensitiveKey(key), key).toBe(false)
    }
  })
})

describe("redaction by value", () => {
  it.effect("bearer tokens, JWTs, e-mail addresses and URL passwords are scrubbed from the message", () =>
    Effect.gen(function* () {
      const { line } = yield* oneLine(
        Effect.log(
          `auth Bearer abc.def.ghi then ${JWT} for jane.doe@example.com via postgres://user:s3cret@host/db`
        )
      )
      const message = line.message as string
      expect(message).toContain("Bearer [REDACTED]")
      expect(message).not.toContain("abc.def.ghi")
      expect(message).not.toContain("eyJ")
      expect(message).not.toContain(JWT_PAYLOAD)
      expect(message).not.toContain("jane.doe@example.com")
      expect(message).not.toContain("jane.doe")
      expect(message).not.toContain("s3cret")
      expect(message).toContain("postgres://user:[REDACTED]@host/db")
    }))

  it.effect("values are scrubbed inside non-sensitive keys, nested in objects and arrays", () =>
    Effect.gen(function* () {
      const { line, raw } = yield* oneLine(
        Effect.log("upstream said no").pipe(
          Effect.annotateLogs({
            upstream: { detail: "rejected Bearer abc.def.ghi", attempts: [`token ${JWT}`, "cc jane.doe@example.com"] },
            dsn: "postgres://user:s3cret@host/db",
            reason: "bearer abc.def.ghi"
          })
        )
      )
      expect(line.upstream).toEqual({
        detail: "rejected Bearer [REDACTED]",
        attempts: ["token [REDACTED]", "cc [REDACTED_EMAIL]"]
      })
      expect(line.dsn).toBe("postgres://user:[REDACTED]@host/db")
      for (const leaked of ["abc.def.ghi", JWT_PAYLOAD, "jane.doe@example.com", "s3cret"]) {
        expect(raw).not.toContain(leaked)
      }
    }))

  it.effect("Redacted values print as [REDACTED], as annotations, nested, and in the message", () =>
    Effect.gen(function* () {
      const { line, raw } = yield* oneLine(
        Effect.log("connecting", Redacted.make("in-the-message-xyz")).pipe(
          Effect.annotateLogs({ dsn: Redacted.make("plain-dsn-xyz"), pool: { url: Redacted.make("nested-xyz") } })
        )
      )
      expect(line.dsn).toBe("[REDACTED]")
      expect(line.pool).toEqual({ url: "[REDACTED]" })
      expect(line.message).toContain("[REDACTED]")
      expect(raw).not.toContain("xyz")
    }))

  it("scrubText keeps ordinary text and scrubs each pattern", () => {
    expect(scrubText("GET /health 200 in 3 ms")).toBe("GET /health 200 in 3 ms")
    expect(scrubText("Authorization: Bearer abc.def.ghi")).toBe("Authorization: Bearer [REDACTED]")
    expect(scrubText(JWT)).toBe("[REDACTED]")
    expect(scrubText("from jane.doe@example.com.")).toBe("from [REDACTED_EMAIL].")
    expect(scrubText("postgres://user:s3cret@host/db")).toBe("postgres://user:[REDACTED]@host/db")
  })

  it("scrubText: e-mail addresses with any RFC 5322 local-part characters", () => {
    for (const email of ["o'brien@example.ie", "a!b#c@example.org", "x{y}z@mail.example.com", "!!@q.io"]) {
      expect(scrubText(`to ${email} now`), email).not.toContain(email.split("@")[0])
    }
  })

  it("scrubText: URL passwords with an empty user name", () => {
    expect(scrubText("redis://:s3cret@cache:6379/0")).not.toContain("s3cret")
  })
})

describe("errors in log lines", () => {
  const noStack = (raw: string) => {
    expect(raw).not.toContain("    at ")
    expect(raw).not.toMatch(/\.[cm]?[jt]s:\d+/)
    expect(raw).not.toContain(".ts:")
    expect(raw).not.toContain("stack")
  }

  it.effect("a typed failure logged with its cause: code, category, recovery, type and message", () =>
    Effect.gen(function* () {
      const { line, raw } = yield* oneLine(
        Effect.fail(new NotFound({ message: "No such document" })).pipe(
          Effect.catchCause((cause) => Effect.logError("lookup failed", cause))
        )
      )
      expect(line.level).toBe("ERROR")
      expect(line.message).toBe("lookup failed")
      expect(line.errors).toEqual([
        { code: "NOT_FOUND", category: "business", recovery: "ignore", type: "NotFound", message: "No such document" }
      ])
      noStack(raw)
    }))

  it.effect("a cause passed directly to logError", () =>
    Effect.gen(function* () {
      const { line, raw } = yield* oneLine(
        Effect.logError("boom", Cause.fail(new UpstreamFailed({ message: "llm 503", service: "llm", transient: true })))
      )
      expect(line.message).toBe("boom")
      expect(line.errors).toEqual([
        { code: "UPSTREAM_FAILED", category: "external", recovery: "retry", type: "UpstreamFailed", message: "llm 503" }
      ])
      noStack(raw)
    }))

  it.effect("a thrown defect: type and message, marked as a defect, no stack trace", () =>
    Effect.gen(function* () {
      const { line, raw } = yield* oneLine(
        Effect.sync((): number => {
          throw new Error("kaput")
        }).pipe(Effect.catchCause((cause) => Effect.logError(cause)))
      )
      expect(line.errors).toEqual([{ type: "Error", message: "kaput", defect: true }])
      noStack(raw)
    }))

  it.effect("an error message is scrubbed too", () =>
    Effect.gen(function* () {
      const { line, raw } = yield* oneLine(
        Effect.die(new TypeError(`cannot reach jane.doe@example.com with Bearer ${JWT}`)).pipe(
          Effect.catchCause((cause) => Effect.logError("send failed", cause))
        )
      )
      expect(line.errors).toEqual([
        { type: "TypeError", message: "cannot reach [REDACTED_EMAIL] with Bearer [REDACTED]", defect: true }
      ])
      expect(raw).not.toContain("jane.doe")
      noStack(raw)
    }))

  it.effect("an Error as the message or as an annotation has no stack either", () =>
    Effect.gen(function* () {
      const { line, raw } = yield* oneLine(
        Effect.logError(new RangeError("out of range")).pipe(Effect.annotateLogs("failure", new Error("nested failure")))
      )
      expect(line.message).toContain("out of range")
      expect(line.failure).toEqual({ type: "Error", message: "nested failure" })
      noStack(raw)
    }))

  it.effect("an interruption is logged as Interrupted", () =>
    Effect.gen(function* () {
      const { line } = yield* oneLine(Effect.logWarning("stopped", Cause.interrupt(undefined as never)))
      expect(line.errors).toEqual([{ type: "Interrupted" }])
    }))

  it.effect("no cause: no errors field", () =>
    Effect.gen(function* () {
      const { line } = yield* oneLine(Effect.logError("plain"))
      expect(line).not.toHaveProperty("errors")
    }))
})

describe("redact: awkward values", () => {
  it.effect("an Invalid Date annotation does not break logging", () =>
    Effect.gen(function* () {
      const { line } = yield* oneLine(Effect.log("when").pipe(Effect.annotateLogs("at", new Date(Number.NaN))))
      expect(line.at).toBe("Invalid Date")
    }))

  it("cycles, bigints, bytes, dates and deep nesting come out JSON-serialisable", () => {
    const cyclic: Record<string, unknown> = { id: "root" }
    cyclic.self = cyclic
    const deep = Array.from({ length: 20 }).reduce<unknown>((acc) => ({ inner: acc }), "bottom")
    const out = redact({
      cyclic,
      deep,
      big: 12345678901234567890n,
      bytes: new Uint8Array(16),
      at: new Date("2024-05-01T10:00:00.000Z"),
      many: Array.from({ length: 500 }, (_, i) => i)
    }) as Record<string, unknown>
    expect(() => JSON.stringify(out)).not.toThrow()
    expect(out.big).toBe("12345678901234567890")
    expect(out.bytes).toBe("[16 bytes]")
    expect(out.at).toBe("2024-05-01T10:00:00.000Z")
    expect((out.many as Array<number>).length).toBeLessThanOrEqual(50)
  })
})

// ---------------------------------------------------------------------------------------------
// properties

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
const base64url = (minLength: number, maxLength = 200) =>
  fc.string({ unit: fc.constantFrom(...BASE64URL), minLength, maxLength })

const SENSITIVE_KEYS = [
  "authorization",
  "Authorization",
  "password",
  "PASSWORD",
  "passwd",
  "secret",
  "clientSecret",
  "accessToken",
  "refreshToken",
  "idToken",
  "apiKey",
  "api_key",
  "cookie",
  "sessionId",
  "email",
  "phoneNumber",
  "patientName",
  "firstName",
  "address",
  "dateOfBirth",
  "ssn",
  "diagnosis",
  "medication",
  "labResults",
  "vitals",
  "summary",
  "document",
  "content",
  "message",
  "userMessage",
  "body",
  "payload",
  "text",
  "notes",
  "question",
  "answer",
  "fileName",
  "dataBase64"
] as const

/** Strings that cannot hide inside "[REDACTED]": at least 6 characters, none of them from it. */
const secretValue = fc.string({
  unit: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }).filter((c) => !"[REDACTED]".includes(c)),
  minLength: 6,
  maxLength: 40
})

/** How a string appears inside JSON.stringify output. */
const asInJson = (s: string) => JSON.stringify(s).slice(1, -1)

describe("properties", () => {
  it("(a) an e-mail address embedded in any text is scrubbed", () => {
    fc.assert(
      fc.property(fc.string(), fc.emailAddress(), fc.string(), (before, email, after) => {
        expect(scrubText(`${before}${email}${after}`)).not.toContain(email)
        expect(scrubText(`${before} ${email} ${after}`)).not.toContain(email)
      }),
      { numRuns: 200 }
    )
  })

  it("(b) a JWT loses its payload segment, alone or in text", () => {
    const context = fc.constantFrom("", "token=", "Authorization: Bearer ", "{\"id_token\":\"", "jwt ", "(", "\n")
    fc.assert(
      fc.property(
        base64url(4),
        base64url(10),
        base64url(0),
        context,
        fc.string(),
        (header, payload, signature, prefix, suffix) => {
          const jwt = `eyJ${header}.${payload}.${signature}`
          fc.pre(!prefix.includes(payload) && !suffix.includes(payload))
          expect(scrubText(jwt)).not.toContain(payload)
          expect(scrubText(`${prefix}${jwt} ${suffix}`)).not.toContain(payload)
        }
      ),
      { numRuns: 200 }
    )
  })

  it("(c) values under sensitive keys never survive redact, at any depth", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...SENSITIVE_KEYS), secretValue, { minKeys: 1, maxKeys: 8 }),
        (secrets) => {
          const input = { userId: "u-1", ...secrets, nested: { jobId: "j-1", ...secrets }, list: [secrets, [secrets]] }
          const json = JSON.stringify(redact(input))
          for (const value of Object.values(secrets)) {
            expect(json).not.toContain(asInJson(value))
          }
          expect(json).toContain("\"userId\":\"u-1\"")
        }
      ),
      { numRuns: 200 }
    )
  })

  it("(d) redact never throws and its output is JSON-serialisable", () => {
    const check = (value: unknown) => {
      const out = redact(value)
      const json = JSON.stringify(out)
      if (json !== undefined) expect(() => JSON.parse(json)).not.toThrow()
    }
    fc.assert(fc.property(fc.anything(), check), { numRuns: 200 })
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withBoxedValues: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withObjectString: true,
          withSparseArray: true,
          withTypedArray: true,
          withUnicodeString: true
        }),
        check
      ),
      { numRuns: 200 }
    )
  })
})
