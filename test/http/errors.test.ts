/** The error → HTTP mapping for failures that are hard to provoke over a socket. */
import { HttpServerError, HttpServerRequest, Multipart } from "effect/http"
import { SqlError } from "effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Schema } from "effect"
import * as fc from "fast-check"
import { ApiError, classifyCause, errorResponse } from "../../src/http/errors.js"
import { clientRequestIdFrom } from "../../src/http/middleware.js"
import { NotFound, UpstreamFailed } from "../../src/services/errors.js"

const request = HttpServerRequest.fromWeb(new Request("http://localhost/x", { method: "POST" }))

/** 4.1.5: a multipart error carries a tagged reason (it was a string). */
const multipartError = (reason: Multipart.MultipartErrorReason["_tag"], cause: unknown) =>
  Multipart.MultipartError.fromReason(reason, cause)

/** 4.1.5: the server's request errors are one HttpServerError whose reason says which. */
const requestParseError = (options: { readonly reason?: "Parse" | "BodyTooLarge"; readonly cause: unknown }) =>
  new HttpServerError.HttpServerError({ reason: new HttpServerError.RequestParseError({ request, ...options }) })

describe("classifyCause", () => {
  it("multipart limits are 413, a broken multipart body is 400, never 500", () => {
    for (const reason of ["FileTooLarge", "FieldTooLarge", "BodyTooLarge", "TooManyParts"] as const) {
      const rendered = classifyCause(Cause.fail(multipartError(reason, new Error("limit"))))
      expect(rendered.info, reason).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE", category: "validation" })
    }
    const parse = classifyCause(Cause.fail(multipartError("Parse", new Error("x"))))
    expect(parse.info).toMatchObject({ status: 400, code: "MALFORMED_BODY" })
  })

  it("0.97.2's over-limit part (InternalError caused by ReachedLimit) is a 413, not a 500", () => {
    const overLimit = multipartError("InternalError", { _tag: "ReachedLimit" })
    expect(classifyCause(Cause.fail(overLimit)).info).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" })
    const other = multipartError("InternalError", new Error("disk"))
    expect(classifyCause(Cause.fail(other)).info.status).toBe(500)
  })

  it("a multipart error wrapped in a request error, or raised as a defect, is still a 413", () => {
    const inner = multipartError("FileTooLarge", new Error("limit"))
    expect(classifyCause(Cause.fail(requestParseError({ cause: inner }))).info.status).toBe(413)
    expect(classifyCause(Cause.die(inner)).info.status).toBe(413)
  })

  it("a body cut off at the server's limit is a 413; other undecodable bodies are 400", () => {
    // 4.1.5 reports a body over HttpIncomingMessage.MaxBodySize as BodyTooLarge.
    const limit = requestParseError({ reason: "BodyTooLarge", cause: new Error("body too large") })
    expect(classifyCause(Cause.fail(limit)).info).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" })
    const broken = requestParseError({ reason: "Parse", cause: new SyntaxError("Unexpected token") })
    expect(classifyCause(Cause.fail(broken)).info).toMatchObject({ status: 400, code: "MALFORMED_BODY" })
  })

  it("a typed error raised as a defect keeps its status; an unknown defect is a bare 500", () => {
    expect(classifyCause(Cause.die(new NotFound({ message: "gone" }))).info.status).toBe(404)
    const unknown = classifyCause(Cause.die(new TypeError("cannot read properties of undefined")))
    expect(unknown).toMatchObject({ unexpected: true, message: "An unexpected error occurred" })
    expect(unknown.info.status).toBe(500)
  })

  it("a connection lost mid-transaction (a SqlError defect from commit or rollback) is a 503 with Retry-After", () => {
    const lost = classifyCause(Cause.die(new SqlError.SqlError({
      reason: new SqlError.ConnectionError({ cause: new Error("Connection terminated unexpectedly"), message: "Failed to commit" })
    })))
    expect(lost.info).toMatchObject({ status: 503, code: "DATABASE_UNAVAILABLE", recovery: "retry" })
    expect(lost.retryAfter).toBeGreaterThan(0)
  })

  it("a body so deeply nested that decoding it overflows the stack is a 400, not a 500", () => {
    let overflow: unknown
    const deep = (n: number): number => (n === 0 ? 0 : 1 + deep(n - 1))
    try {
      deep(1e7)
    } catch (error) {
      overflow = error
    }
    expect(overflow).toBeInstanceOf(RangeError)
    expect(classifyCause(Cause.die(overflow)).info).toMatchObject({ status: 400, code: "MALFORMED_BODY" })
  })

  it("the first failure decides when several are combined", () => {
    const cause = Cause.combine(Cause.fail(new NotFound({ message: "a" })), Cause.die(new Error("b")))
    expect(classifyCause(cause).info.status).toBe(404)
  })

  it("an interruption is a 503 with Retry-After, not a 500", () => {
    const rendered = classifyCause(Cause.interrupt())
    expect(rendered.info.status).toBe(503)
    expect(rendered.retryAfter).toBe(1)
  })

  it("external errors are 502 and their recovery follows transience", () => {
    expect(classifyCause(Cause.fail(new UpstreamFailed({ message: "x", service: "s", transient: true }))).info)
      .toMatchObject({ status: 502, category: "external", recovery: "retry" })
    expect(classifyCause(Cause.fail(new UpstreamFailed({ message: "x", service: "s", transient: false }))).info)
      .toMatchObject({ status: 502, category: "external", recovery: "escalate" })
  })
})

describe("errorResponse (the schema a client decodes errors with)", () => {
  it("decodes the uniform body into an ApiError that keeps status and code", () => {
    const schema = errorResponse(404, "not found")
    const decoded = Schema.decodeUnknownSync(schema)({
      error: { code: "NOT_FOUND", category: "business", message: "No such document", correlationId: "req-12345678" }
    })
    expect(decoded).toBeInstanceOf(ApiError)
    expect(decoded).toMatchObject({ status: 404, code: "NOT_FOUND", message: "No such document" })
  })

  it("refuses a body that is not the uniform one", () => {
    expect(() => Schema.decodeUnknownSync(errorResponse(400, "x"))({ _tag: "HttpApiDecodeError" })).toThrow()
  })
})

describe("clientRequestIdFrom (property)", () => {
  it("keeps exactly the well-formed client ids and drops everything else", () => {
    const wellFormed = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (header) => {
        const id = clientRequestIdFrom(header)
        return wellFormed.test(header) ? id === header : id === undefined
      }),
      { numRuns: 300 }
    )
    expect(clientRequestIdFrom(undefined)).toBeUndefined()
    expect(clientRequestIdFrom("req-abc-12345")).toBe("req-abc-12345")
    expect(clientRequestIdFrom("line\nbreak-12345")).toBeUndefined()
  })
})
