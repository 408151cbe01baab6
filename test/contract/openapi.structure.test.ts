/**
 * The OpenAPI document keeps the structure clients were generated from (the mobile apps' API code
 * is generated from /openapi.json): its operations (operationIds, parameters, request bodies,
 * statuses and their schemas) and its component schemas (property names, types, formats, enums,
 * nullability, required lists), as openapiStructure.ts reduces them.
 *
 * The contract is openapi.v3.structure.json: that structure of the document served before the
 * port to Effect 4 (Effect 3.22). Any drift from it fails here, except the differences listed in
 * INTENDED below, each with its reason; each must still be a difference (a listed difference that
 * no longer holds fails too, so the list stays exact).
 *
 * Regenerating the snapshot is a contract change for every client: do it only with a new API version.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { Api } from "../../src/http/api.js"
import { openApiDocument } from "../../src/http/documentation.js"
import { structureOf } from "./openapiStructure.js"

type Json = { [key: string]: unknown }

const SNAPSHOT = path.join(import.meta.dirname, "openapi.v3.structure.json")

const ABSENT = Symbol("absent")
const CONTENT_GET_200 = ["operations", "GET /content/{contentId}", "responses", "200", "application/json"]

interface Difference {
  /** Keys from the structure's root (keys hold "/", so not a JSON pointer). */
  readonly at: ReadonlyArray<string>
  readonly v3: unknown
  /** What the document holds now; a function of the snapshot when it is a part of it moved. */
  readonly now: unknown | ((v3: Json) => unknown)
  readonly reason: string
}

const integerNow = (at: ReadonlyArray<string>): Difference => ({
  at,
  v3: { type: "number" },
  now: { type: "integer" },
  reason:
    "The export's document is InterpretedDocument's encoded side: v3's encodedSchema dropped the Int refinement of page and line, " +
    "4.x's toEncoded keeps it, as LabResult, VitalSign and UnreadLine themselves always said; the values were integers either way"
})
const EXPORTED = ["components", "AccountExport", "properties", "content", "items", "properties", "document", "properties"]

/** Push notifications (issue 21 §3): endpoints and schemas added; a client generated from v3 knows none of them and is unaffected. */
const errorBodies = (statuses: ReadonlyArray<number>) =>
  Object.fromEntries(statuses.map((status) => [String(status), { "application/json": { $ref: "ErrorBody" } }]))
const DEVICE_PROPERTIES = {
  createdAt: { format: "date-time", type: "string" },
  id: { format: "uuid", type: "string" },
  platform: { enum: ["android", "ios"], type: "string" }
}
/** POST /me/devices's body: a device of one platform or the other, each token of its platform's shape (patterns are not part of the structure). */
const DEVICE_REGISTRATION = {
  anyOf: ["android", "ios"].map((platform) => ({
    properties: { platform: { enum: [platform], type: "string" }, token: { type: "string" } },
    required: ["platform", "token"],
    type: "object"
  }))
}
const PUSH_DEVICES: ReadonlyArray<Difference> = [
  {
    at: ["operations", "POST /me/devices"],
    v3: ABSENT,
    now: {
      operationId: "account.registerDevice",
      parameters: [],
      requestBody: { content: { "application/json": DEVICE_REGISTRATION }, required: true },
      responses: { "201": { "application/json": { $ref: "Device" } }, ...errorBodies([400, 401, 404, 413, 415, 429, 500, 503]) },
      secured: true
    },
    reason: "New: registering a device for push notifications"
  },
  {
    at: ["operations", "GET /me/devices"],
    v3: ABSENT,
    now: {
      operationId: "account.devices",
      parameters: [],
      responses: { "200": { "application/json": { $ref: "Devices" } }, ...errorBodies([400, 401, 404, 413, 429, 500, 503]) },
      secured: true
    },
    reason: "New: the devices registered for push notifications"
  },
  {
    at: ["operations", "DELETE /me/devices/{deviceId}"],
    v3: ABSENT,
    now: {
      operationId: "account.removeDevice",
      parameters: [{ in: "path", name: "deviceId", required: true, schema: { format: "uuid", type: "string" } }],
      responses: { "204": {}, ...errorBodies([400, 401, 404, 413, 429, 500, 503]) },
      secured: true
    },
    reason: "New: stopping push notifications to a device"
  },
  {
    at: ["components", "DeviceRegistration"],
    v3: ABSENT,
    now: DEVICE_REGISTRATION,
    reason: "New: POST /me/devices's body"
  },
  {
    at: ["components", "Device"],
    v3: ABSENT,
    now: { properties: DEVICE_PROPERTIES, required: ["createdAt", "id", "platform"], type: "object" },
    reason: "New: a registered device (never its token)"
  },
  {
    at: ["components", "Devices"],
    v3: ABSENT,
    now: { properties: { devices: { items: { $ref: "Device" }, type: "array" } }, required: ["devices"], type: "object" },
    reason: "New: GET /me/devices's body"
  },
  {
    at: ["components", "AccountExport", "properties", "devices"],
    v3: ABSENT,
    now: {
      items: {
        properties: { createdAt: { format: "date-time", type: "string" }, deviceId: { type: "string" }, platform: { type: "string" } },
        required: ["createdAt", "deviceId", "platform"],
        type: "object"
      },
      type: "array"
    },
    reason: "The export lists the devices registered for pushes (GDPR access): a property added to a response, which v3 clients ignore"
  },
  {
    at: ["components", "AccountExport", "required"],
    v3: (v3: Json) => v3,
    now: (v3: Json) => [...(at(v3, ["components", "AccountExport", "required"]) as ReadonlyArray<string>), "devices"].sort(),
    reason: "See the export's devices: always present (an empty list when there are none)"
  }
]

/** Job progress as events (issue 21 §2): one endpoint and the schema of its events' data, added; v3 clients are unaffected. */
const JOB_EVENTS: ReadonlyArray<Difference> = [
  {
    at: ["operations", "GET /jobs/{jobId}/events"],
    v3: ABSENT,
    now: {
      operationId: "documents.jobEvents",
      parameters: [
        { in: "header", name: "last-event-id", required: false, schema: { type: "string" } },
        { in: "path", name: "jobId", required: true, schema: { format: "uuid", type: "string" } }
      ],
      responses: {
        "200": {
          "text/event-stream": {
            properties: {
              data: { type: "string" },
              event: { enum: ["completed", "failed", "processing", "queued"], type: "string" },
              id: { type: "string" }
            },
            required: ["data", "event", "id"],
            type: "object"
          }
        },
        "204": {},
        ...Object.fromEntries([400, 401, 404, 413, 429, 500, 503].map((status) => [String(status), { "application/json": { $ref: "ErrorBody" } }]))
      },
      secured: true
    },
    reason: "New: a job's progress as Server-Sent Events, beside GET /jobs/{jobId}/status (unchanged)"
  },
  {
    at: ["components", "JobEventData"],
    v3: ABSENT,
    now: {
      properties: {
        attempts: { type: "integer" },
        contentId: { format: "uuid", type: "string" },
        error: { properties: { code: { type: "string" }, message: { type: "string" } }, required: ["code", "message"], type: "object" },
        jobId: { format: "uuid", type: "string" },
        stage: { enum: ["interpreting", "reading", "saving"], type: "string" },
        status: { enum: ["completed", "failed", "processing", "queued"], type: "string" }
      },
      required: ["attempts", "jobId", "status"],
      type: "object"
    },
    reason: "New: what a job event's data (JSON) says"
  }
]

/**
 * Streamed chat answers (issue 21 §1): `POST /chat/messages` also answers `text/event-stream` when
 * asked with `Accept`, and its message gains the id it is stored under and the result rows it cites
 * (properties added to a response, which v3 clients ignore).
 */
const CHAT_STREAM: ReadonlyArray<Difference> = [
  {
    at: ["operations", "POST /chat/messages", "parameters"],
    v3: (v3: Json) => v3,
    now: (v3: Json) => [
      { in: "header", name: "accept", required: false, schema: { type: "string" } },
      ...(at(v3, ["operations", "POST /chat/messages", "parameters"]) as ReadonlyArray<unknown>)
    ],
    reason: "New optional header: `Accept: text/event-stream` asks for the streamed answer; without it the answer is JSON as before"
  },
  {
    at: ["operations", "POST /chat/messages", "responses", "200", "text/event-stream"],
    v3: ABSENT,
    now: { $ref: "ChatEvent" },
    reason: "The streamed answer's media type, beside application/json (unchanged)"
  },
  {
    at: ["components", "ChatEvent"],
    v3: ABSENT,
    now: {
      properties: { data: { type: "string" }, event: { enum: ["delta", "done", "error"], type: "string" }, id: { type: "string" } },
      required: ["data", "event"],
      type: "object"
    },
    reason: "New: one event of the streamed answer"
  },
  {
    at: ["components", "Citation"],
    v3: ABSENT,
    now: {
      properties: { line: { type: "integer" }, name: { type: "string" }, page: { type: "integer" }, result: { type: "integer" } },
      required: ["name", "result"],
      type: "object"
    },
    reason: "New: a result row an answer cites"
  },
  ...(["id", "citations"] as const).map(
    (field): Difference => ({
      at: ["components", "ChatReply", "properties", "message", "properties", field],
      v3: ABSENT,
      now: field === "id" ? { format: "uuid", type: "string" } : { items: { $ref: "Citation" }, type: "array" },
      reason: "The answer's message id (the `done` event's id) and the result rows it cites: properties added to a response"
    })
  ),
  {
    at: ["components", "ChatReply", "properties", "message", "required"],
    v3: (v3: Json) => v3,
    now: (v3: Json) =>
      [...(at(v3, ["components", "ChatReply", "properties", "message", "required"]) as ReadonlyArray<string>), "citations", "id"].sort(),
    reason: "Both always present"
  }
]

/** Issue 22: results and readings read from an image by OCR say so (confidence, corrected, to review). */
const OCR_READING_NOW = {
  properties: {
    confidence: { type: "number" },
    corrected: { type: "boolean" },
    needsReview: { type: "boolean" }
  },
  required: ["confidence", "corrected", "needsReview"],
  type: "object"
}
const OCR_READINGS: ReadonlyArray<Difference> = [
  {
    at: ["components", "OcrReading"],
    v3: ABSENT,
    now: OCR_READING_NOW,
    reason: "New: how a value read from an image by OCR was read"
  },
  ...(["LabResult", "VitalSign"] as const).map(
    (component): Difference => ({
      at: ["components", component, "properties", "ocr"],
      v3: ABSENT,
      now: { $ref: "OcrReading" },
      reason: "An optional property added to a response: present only for values read from an image"
    })
  ),
  ...(["results", "vitals"] as const).map(
    (list): Difference => ({
      at: [...EXPORTED, list, "items", "properties", "ocr"],
      v3: ABSENT,
      now: OCR_READING_NOW,
      reason: "The export's documents carry the same optional property"
    })
  )
]

/**
 * FHIR R4 exports (issue 23 §1): one endpoint added, and the export's optional `format` query
 * parameter, whose `fhir` answers the record as a Bundle in FHIR's media type; without it the
 * export is the JSON it was.
 */
const FHIR_BUNDLE_REF = { "application/fhir+json": { $ref: "FhirBundle" } }
const FHIR: ReadonlyArray<Difference> = [
  {
    at: ["operations", "GET /content/{contentId}/fhir"],
    v3: ABSENT,
    now: {
      operationId: "content.fhir",
      parameters: [
        { in: "path", name: "contentId", required: true, schema: { format: "uuid", type: "string" } },
        { in: "query", name: "include", required: false, schema: { enum: ["original"], type: "string" } }
      ],
      responses: { "200": FHIR_BUNDLE_REF, ...errorBodies([400, 401, 404, 413, 429, 500, 503]) },
      secured: true
    },
    reason: "New: one document as a FHIR R4 Bundle (include=original adds the upload as the report's presentedForm)"
  },
  {
    at: ["operations", "GET /me/export", "parameters"],
    v3: [],
    now: [{ in: "query", name: "format", required: false, schema: { enum: ["fhir", "json"], type: "string" } }],
    reason: "New optional query parameter: format=fhir asks for the record as a FHIR R4 Bundle; without it the export is unchanged"
  },
  {
    at: ["operations", "GET /me/export", "responses", "200", "application/fhir+json"],
    v3: ABSENT,
    now: { $ref: "FhirBundle" },
    reason: "The answer to format=fhir, in FHIR's media type; the JSON answer is unchanged"
  },
  {
    at: ["components", "FhirBundle"],
    v3: ABSENT,
    now: {
      properties: {
        entry: {
          items: { properties: { fullUrl: { type: "string" }, resource: { type: "object" } }, required: ["fullUrl", "resource"], type: "object" },
          type: "array"
        },
        id: { type: "string" },
        resourceType: { enum: ["Bundle"], type: "string" },
        timestamp: { format: "date-time", type: "string" },
        type: { enum: ["collection"], type: "string" }
      },
      required: ["entry", "id", "resourceType", "timestamp", "type"],
      type: "object"
    },
    reason: "New: the FHIR exports' Bundle (its resources are FHIR's own, validated against the R4 definitions in test/programs/fhir.test.ts)"
  }
]

/** Trends (issue 23 §2): one endpoint and its schemas, added; v3 clients are unaffected. */
const TREND_POINT = {
  properties: {
    at: { type: "string" },
    contentId: { format: "uuid", type: "string" },
    dated: { enum: ["collected", "stored"], type: "string" },
    flag: { enum: ["abnormal", "critical_high", "critical_low", "high", "low", "normal", "unknown"], type: "string" },
    name: { type: "string" },
    printed: { properties: { unit: { type: "string" }, value: { type: "number" } }, required: ["unit", "value"], type: "object" },
    unit: { type: "string" },
    value: { anyOf: [{ type: "number" }, { type: "string" }] }
  },
  required: ["at", "contentId", "dated", "flag", "name", "unit", "value"],
  type: "object"
}
const TRENDS: ReadonlyArray<Difference> = [
  {
    at: ["operations", "GET /results/trends"],
    v3: ABSENT,
    now: {
      operationId: "content.trends",
      parameters: [
        { in: "query", name: "code", required: false, schema: { type: "string" } },
        { in: "query", name: "name", required: false, schema: { type: "string" } }
      ],
      responses: { "200": { "application/json": { anyOf: [{ $ref: "Trend" }, { $ref: "Trends" }] } }, ...errorBodies([400, 401, 404, 413, 429, 500, 503]) },
      secured: true
    },
    reason: "New: a test's values across the user's documents, or the tests the user has"
  },
  { at: ["components", "TrendPoint"], v3: ABSENT, now: TREND_POINT, reason: "New: one value of a trend" },
  {
    at: ["components", "Trend"],
    v3: ABSENT,
    now: {
      properties: { code: { type: "string" }, name: { type: "string" }, points: { items: { $ref: "TrendPoint" }, type: "array" }, unit: { type: "string" } },
      required: ["name", "points"],
      type: "object"
    },
    reason: "New: one test's trend"
  },
  {
    at: ["components", "Trends"],
    v3: ABSENT,
    now: {
      properties: {
        tests: {
          items: {
            properties: { code: { type: "string" }, count: { type: "integer" }, latest: { $ref: "TrendPoint" }, name: { type: "string" } },
            required: ["count", "latest", "name"],
            type: "object"
          },
          type: "array"
        }
      },
      required: ["tests"],
      type: "object"
    },
    reason: "New: the tests the user has"
  }
]

/**
 * Issue 23: an upload may say `allowImageToModel` (optional, default true: what was done before),
 * and the export says it for each job and upload. Properties added to requests, which v3 clients
 * never send, and to a response, which they ignore.
 */
const EXPORT_ITEMS = ["components", "AccountExport", "properties"]
const ALLOW_IMAGE_TO_MODEL: ReadonlyArray<Difference> = [
  ...(["UploadJson", "BeginUpload"] as const).map(
    (component): Difference => ({
      at: ["components", component, "properties", "allowImageToModel"],
      v3: ABSENT,
      now: { type: "boolean" },
      reason: "New optional request property: false makes a document the model could read only as an image fail (IMAGE_WITHHELD)"
    })
  ),
  {
    at: ["operations", "POST /documents/upload", "requestBody", "content", "multipart/form-data", "properties", "allowImageToModel"],
    v3: ABSENT,
    now: { enum: ["false", "true"], type: "string" },
    reason: "The same, as an optional form field (`true` or `false`)"
  },
  ...(["jobs", "uploads"] as const).flatMap((list): ReadonlyArray<Difference> => [
    {
      at: [...EXPORT_ITEMS, list, "items", "properties", "allowImageToModel"],
      v3: ABSENT,
      now: { type: "boolean" },
      reason: "The export says what each upload allowed: a property added to a response"
    },
    {
      at: [...EXPORT_ITEMS, list, "items", "required"],
      v3: (v3: Json) => v3,
      now: (v3: Json) => [...(at(v3, [...EXPORT_ITEMS, list, "items", "required"]) as ReadonlyArray<string>), "allowImageToModel"].sort(),
      reason: "Always present"
    }
  ])
]

const INTENDED: ReadonlyArray<Difference> = [
  ...["Int", "UUID", "NonEmptyTrimmedString", "DateFromString"].map((name): Difference => ({
    at: ["components", name],
    v3: (v3: Json) => v3,
    now: ABSENT,
    reason:
      "Effect 3 made components of its own aliases of primitives; 4.x writes the primitive where it is used. Every use has the same " +
      "type and format as before (structureOf inlines aliases), only the alias's name is gone"
  })),
  {
    at: CONTENT_GET_200,
    v3: (v3: Json) => v3,
    now: { $ref: "Content" },
    reason:
      "GET /content/{contentId}'s body is the class named Content (groups/content.ts); v3 wrote it inline, 4.x as the component " +
      "it names. Same properties, types and required list (the component below is v3's inline schema)"
  },
  {
    at: ["components", "Content"],
    v3: ABSENT,
    now: (v3: Json) => at(v3, CONTENT_GET_200),
    reason: "See GET /content/{contentId}: the inline schema of v3, now a component"
  },
  {
    at: ["components", "UploadTarget", "properties", "expiresAt", "format"],
    v3: ABSENT,
    now: "date-time",
    reason: "v3 lost the date-time format of an annotated Schema.Date; the value is the same RFC 3339 instant as every other"
  },
  ...["results", "vitals", "unreadLines"].flatMap((list) =>
    ["page", "line"].map((field) => integerNow([...EXPORTED, list, "items", "properties", field]))
  ),
  {
    at: ["operations", "GET /subscriptions/status", "parameters"],
    v3: [],
    now: [{ in: "header", name: "if-none-match", required: false, schema: { type: "string" } }],
    reason:
      "The status is a conditional GET (ETag, Cache-Control: private, no-cache; http/conditional.ts): an optional header, which " +
      "HTTP clients with a cache send on their own; a client that never sends it gets what it always got"
  },
  {
    at: ["operations", "GET /subscriptions/status", "responses", "304"],
    v3: ABSENT,
    now: {},
    reason: "Answered only to a matching If-None-Match (above), which no client generated from v3 sends unless its HTTP cache does it for it"
  },
  ...PUSH_DEVICES,
  ...JOB_EVENTS,
  ...CHAT_STREAM,
  ...OCR_READINGS,
  ...FHIR,
  ...TRENDS,
  ...ALLOW_IMAGE_TO_MODEL
]

const at = (root: unknown, keys: ReadonlyArray<string>): unknown => {
  let node: unknown = root
  for (const key of keys) {
    if (typeof node !== "object" || node === null || !(key in node)) return ABSENT
    node = (node as Json)[key]
  }
  return node
}

const put = (root: Json, keys: ReadonlyArray<string>, value: unknown): void => {
  let node = root
  for (const key of keys.slice(0, -1)) node = node[key] as Json
  const last = keys.at(-1)!
  if (value === ABSENT) delete node[last]
  else node[last] = value
}

const resolve = (value: unknown, v3: Json): unknown => (typeof value === "function" ? (value as (v3: Json) => unknown)(v3) : value)

describe("OpenAPI document structure (test/contract/openapi.v3.structure.json)", () => {
  const v3 = JSON.parse(fs.readFileSync(SNAPSHOT, "utf8")) as Json
  const now = JSON.parse(JSON.stringify(structureOf(openApiDocument(Api)))) as Json

  it("lists only differences that are real: each holds in the snapshot and not in the document", () => {
    for (const difference of INTENDED) {
      const where = difference.at.join(" › ")
      const before = at(v3, difference.at)
      expect(before === ABSENT ? "absent" : before, where).toEqual(
        difference.v3 === ABSENT ? "absent" : resolve(difference.v3, before as Json)
      )
      const after = resolve(difference.now, v3)
      expect(at(now, difference.at), where).toEqual(after)
      expect(after, where).not.toEqual(before)
    }
  })

  it("is the v3 structure but for the listed differences", () => {
    const expected = JSON.parse(JSON.stringify(v3)) as Json
    for (const difference of INTENDED) put(expected, difference.at, resolve(difference.now, v3))
    // Operations first (a narrower message when an operation drifts), then components.
    expect(Object.keys(now.operations as Json).sort()).toEqual(Object.keys(expected.operations as Json).sort())
    for (const key of Object.keys(expected.operations as Json)) {
      expect((now.operations as Json)[key], key).toEqual((expected.operations as Json)[key])
    }
    expect(Object.keys(now.components as Json).sort()).toEqual(Object.keys(expected.components as Json).sort())
    for (const name of Object.keys(expected.components as Json)) {
      expect((now.components as Json)[name], `components.schemas.${name}`).toEqual((expected.components as Json)[name])
    }
    expect(now).toEqual(expected)
  })

  it("the comparison can fail: a drift of one property type is caught", () => {
    const drifted = JSON.parse(JSON.stringify(openApiDocument(Api))) as { components: { schemas: Record<string, Json> } }
    const profile = drifted.components.schemas.Profile as { properties: Record<string, Json> }
    profile.properties.email = { type: "integer" }
    expect(structureOf(drifted)).not.toEqual(structureOf(openApiDocument(Api)))
  })
})
