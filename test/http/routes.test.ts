/**
 * Each operation's body limit is derived from its payload schema (`payloadBound`): the bound must
 * hold for every body the schema accepts — a limit below it would refuse a valid request with a
 * 413 — and must exist for every operation that takes no document.
 */
import { HttpMethod } from "effect/http"
import { Arbitrary, Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Api } from "../../src/http/api.js"
import { ChatMessageRequest } from "../../src/http/groups/chat.js"
import { BODY_SLACK_BYTES, payloadBound, routeTable, SMALL_BODY_BYTES } from "../../src/http/routes.js"
import { HttpApi } from "effect/http-api"

/** Every JSON payload schema of the API, by route. */
const payloads: Array<readonly [string, Schema.Codec<unknown, unknown>]> = []
HttpApi.reflect(Api, {
  onGroup: () => {},
  onEndpoint: ({ endpoint }) => {
    const byType = endpoint.payload
    const json = byType.get("application/json")
    if (json !== undefined && HttpMethod.hasBody(endpoint.method) && !byType.has("multipart/form-data")) {
      for (const schema of json.schemas) {
        payloads.push([`${endpoint.method} ${endpoint.path}`, schema as unknown as Schema.Codec<unknown, unknown>])
      }
    }
  }
})

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), "utf8")

describe("body limits from payload schemas", () => {
  it("every operation that takes no document has a bound of its own, below the small-body ceiling", () => {
    const table = routeTable(Api)
    expect(payloads.length).toBeGreaterThanOrEqual(5)
    for (const [route, schema] of payloads) {
      const bound = payloadBound(schema.ast)
      expect(bound, route).toBeDefined()
      const [method, template] = route.split(" ") as [string, string]
      expect(table.bodyLimit(method, template), route).toBe(Math.min(SMALL_BODY_BYTES, bound! + BODY_SLACK_BYTES))
    }
  })

  it("property: no body a payload schema accepts is larger than its bound", () => {
    for (const [route, schema] of payloads) {
      const bound = payloadBound(schema.ast)!
      const encode = Schema.encodeSync(schema)
      // Schema-derived values come from effect's own Arbitrary (4.1.5 no longer bundles fast-check).
      const result = Effect.runSync(
        Arbitrary.checkEffect(Arbitrary.schema(schema), (value) => bytes(encode(value)) <= bound, { runs: 200 })
      )
      expect(Arbitrary.formatCheckFailure(result), route).toBeUndefined()
    }
  })

  it("the bound holds at the extremes: the longest question in characters that escape to six bytes", () => {
    const bound = payloadBound(ChatMessageRequest.ast)!
    const body = { contentId: "0e71515d-0000-4000-8000-000000000000", message: `?${"\u0001".repeat(3_999)}` }
    expect(bytes(body)).toBeLessThanOrEqual(bound)
    expect(bytes({ ...body, message: "😀".repeat(4_000) })).toBeLessThanOrEqual(bound)
  })
})
