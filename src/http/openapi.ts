/**
 * The OpenAPI document says exactly what the server does. The platform derives most of it from
 * the HttpApi definition (api.ts); this transform adds what happens outside the handlers and so
 * outside that definition:
 * - every failure is the uniform ErrorBody (http/errors.ts renders the platform's failures too);
 * - statuses any operation can answer: 413 (a body over the operation's limit, http/routes.ts),
 *   415 (a body of a media type the operation does not take), 429 (rate limits, http/rateLimit.ts);
 * - headers: X-Request-Id on every answer, RateLimit-* on rate-limited operations, Retry-After on
 *   429 and 503, WWW-Authenticate on 401; on the conditional operations (http/conditional.ts), the
 *   If-None-Match parameter, Cache-Control and ETag on their answer and the 304 it may be instead;
 * - request bodies ignore fields they do not name (no `additionalProperties: false`);
 * - instants are `format: date-time`; Effect's internal check names (`maxLength(255)`) are not titles;
 * - an example for every request and response body (examples.ts; one event of an event stream) and
 *   links from an upload to its job, between a job's status and its events, and from a job to its content.
 */
import { ERROR_EXAMPLES, FHIR_EXAMPLE_MEDIA_TYPE, OPERATION_EXAMPLES } from "./examples.js"
import { LIMIT_JSON_SCHEMA, OFFSET_JSON_SCHEMA } from "./groups/content.js"
import { UPLOAD_FILE_DESCRIPTION } from "./groups/documents.js"
import { DEFAULT_EXEMPT_PATHS } from "./rateLimit.js"
import { SMALL_BODY_BYTES } from "./routes.js"

const SMALL_KIB = SMALL_BODY_BYTES / 1024

type Json = { [key: string]: unknown }

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const ERROR_BODY_REF = "#/components/schemas/ErrorBody"
const PLATFORM_ERROR_SCHEMAS = ["HttpApiDecodeError", "Issue", "PropertyKey"]

/** The document's description: the rules every operation follows. */
const API_DESCRIPTION = [
  "Backend of the Serenya mobile health agent.",
  "",
  "- **Errors**: every failure answers with the uniform error body (`ErrorBody`) and a stable `code`; 429 and 503 carry `Retry-After`.",
  "- **Authentication** (bearer access tokens) is checked before the request's parameters and body are validated: without a valid token an operation that needs one answers 401 and says nothing about the rest of the request. Refused even before authentication, on what the document itself says: a method the path does not have (405), a body of a media type the operation does not take (415), a body over the size limit (413).",
  "- **Ids** in paths are UUIDs: one that is not is a 400; another user's id answers 404 exactly like a missing one.",
  `- **Request bodies** are JSON (\`Content-Type: application/json\`; uploads may also be \`multipart/form-data\`); another media type is a 415, a body over the operation's limit a 413 (${SMALL_KIB} KiB; uploads \`MAX_BODY_BYTES\`, 8 MiB by default), on any operation. A body without a Content-Type is read as JSON.`,
  "- **Unknown fields** in a request body are ignored, so that an app newer than the server keeps working; every field the server reads is in the schema.",
  "- **Methods**: a method a path does not have answers 405 with `Allow`; HEAD is answered wherever GET is.",
  "- **Rate limits** per client IP and per access token on every operation but `/health` and `/ready`: 429 with `Retry-After`; answers carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.",
  "- Every answer carries `X-Request-Id`, an id of ours; a client's own well-formed `X-Request-Id` is logged beside it for correlation."
].join("\n")

/** One line per group, for the documentation's sections. */
const TAG_DESCRIPTIONS: Readonly<Record<string, string>> = {
  Operations: "Liveness and readiness for load balancers and orchestrators.",
  Authentication: "Sign-in with Google (or the development sign-in) and session tokens.",
  Documents: "Upload medical documents and follow their processing.",
  Content: "Interpreted documents: the timeline and each document's results.",
  Chat: "Questions about one interpreted document.",
  Subscriptions: "The plan and what has been used of its limits this period.",
  Account: "The profile, a full export and erasure of the account (GDPR)."
}

const header = (description: string, schema: Json, required: boolean): Json => ({ description, required, schema })

/**
 * Operations answered with `Cache-Control: private, no-cache` and an ETag, and with 304 to a
 * matching If-None-Match (their handlers do it: http/groups/subscriptionsLive.ts).
 */
const CONDITIONAL_OPERATIONS: ReadonlySet<string> = new Set(["subscriptions.status"])

const IF_NONE_MATCH_PARAMETER: Json = {
  name: "if-none-match",
  in: "header",
  required: false,
  description:
    "The ETag of the answer the client holds (or a list of them, or `*`): a 304 without a body while it is still the current one. HTTP clients with a cache send it themselves.",
  schema: { type: "string" }
}

const NOT_MODIFIED =
  "Not modified: the answer whose ETag was sent in If-None-Match is still the current one; use it (its Cache-Control and ETag are repeated)"

const integer = { type: "integer", minimum: 0 }

/** Response headers, in components.headers. */
export const RESPONSE_HEADERS: Readonly<Record<string, Json>> = {
  "X-Request-Id": header(
    "The request's id, always ours (a UUID): the one in our audit trail and logs, and the error body's correlationId. A well-formed X-Request-Id sent by the client (8 to 128 of A-Z a-z 0-9 . _ : -) is logged beside it, never used as it.",
    { type: "string", minLength: 8, maxLength: 128 },
    true
  ),
  "RateLimit-Limit": header("Requests the binding bucket holds (per client IP, or per access token when that is tighter).", integer, false),
  "RateLimit-Remaining": header("Requests left in that bucket now.", integer, false),
  "RateLimit-Reset": header("Seconds until that bucket is full again.", integer, false),
  "Retry-After": header("Seconds to wait before trying again.", { type: "integer", minimum: 1 }, true),
  "Cache-Control": header(
    "`private, no-cache` on the answers of conditional operations: only the client may keep one, and it revalidates it (If-None-Match) before each use, so it never shows a stale answer (a plan just changed). Every other answer is `no-store`.",
    { type: "string", enum: ["private, no-cache"] },
    true
  ),
  ETag: header(
    "The answer's strong entity tag, which changes with anything the answer shows and differs between users: send it back in If-None-Match.",
    { type: "string", pattern: '^"[A-Za-z0-9_-]{22}"$' },
    true
  ),
  "WWW-Authenticate": header(
    'The bearer challenge (RFC 6750): `Bearer realm="serenya"`, with `error="invalid_token"` when the request carried a token.',
    { type: "string", pattern: "^Bearer realm=\"serenya\"" },
    true
  )
}

const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` })

const DESCRIPTIONS: Readonly<Record<number, string>> = {
  413: `The request body is larger than this operation takes: ${SMALL_KIB} KiB, or MAX_BODY_BYTES (8 MiB by default) for uploads; refused before it is read when Content-Length says so`,
  415: "The body's Content-Type is not one this operation takes (see its request body)",
  429: "Too many requests from this client IP or with this access token; wait Retry-After seconds"
}

const errorContent = (status: number): Json => ({
  "application/json": {
    schema: { $ref: ERROR_BODY_REF },
    ...(ERROR_EXAMPLES[status] !== undefined
      ? { example: { error: { ...ERROR_EXAMPLES[status], correlationId: "4f1c9a52-8d3e-4b7a-9c61-2e5f0a7b3d18" } } }
      : {})
  }
})

/** Links between operations (by operation id, status and link name). */
const LINKS: Readonly<Record<string, Readonly<Record<number, Json>>>> = {
  "documents.upload": {
    202: {
      jobStatus: {
        operationId: "documents.jobStatus",
        parameters: { jobId: "$response.body#/jobId" },
        description: "Follow the upload's processing until its status is `completed` or `failed`."
      },
      jobEvents: {
        operationId: "documents.jobEvents",
        parameters: { jobId: "$response.body#/jobId" },
        description: "Or follow it without polling: each change as a Server-Sent Event, until `completed` or `failed`."
      }
    }
  },
  "documents.beginUpload": {
    201: {
      completeUpload: {
        operationId: "documents.completeUpload",
        parameters: { uploadId: "$response.body#/uploadId" },
        description: "Once the document is posted to the target (`url`, `fields`, then `file`): queue it."
      }
    }
  },
  "documents.completeUpload": {
    202: {
      jobStatus: {
        operationId: "documents.jobStatus",
        parameters: { jobId: "$response.body#/jobId" },
        description: "Follow the upload's processing until its status is `completed` or `failed`."
      },
      jobEvents: {
        operationId: "documents.jobEvents",
        parameters: { jobId: "$response.body#/jobId" },
        description: "Or follow it without polling: each change as a Server-Sent Event, until `completed` or `failed`."
      }
    }
  },
  "documents.jobStatus": {
    200: {
      events: {
        operationId: "documents.jobEvents",
        parameters: { jobId: "$request.path.jobId" },
        description: "Follow the same job without polling: each change as a Server-Sent Event."
      },
      content: {
        operationId: "content.get",
        parameters: { contentId: "$response.body#/contentId" },
        description: "When the status is `completed`: the interpreted document."
      },
      conversation: {
        operationId: "chat.conversation",
        parameters: { contentId: "$response.body#/contentId" },
        description: "When the status is `completed`: the conversation about the document."
      }
    }
  },
  "documents.jobEvents": {
    200: {
      status: {
        operationId: "documents.jobStatus",
        parameters: { jobId: "$request.path.jobId" },
        description: "The same job's status on request (polling), which the events follow."
      }
    }
  }
}

/**
 * Event streams whose handler writes the SSE itself (groups/documentsLive.ts `jobEventsBody`): the
 * platform's `x-effect-stream` note (typed failures as an `effect/http-api/stream/failure` event,
 * for Effect's own client) does not hold for them — they never send one.
 */
const OWN_EVENT_STREAMS: ReadonlySet<string> = new Set(["documents.jobEvents", "chat.send"])

/**
 * A component that is only JSON carried as text (`contentMediaType: application/json`, as an SSE
 * event's `data`), which 4.1.5 names `<Name>Encoded_<n>`, is written where it is used instead.
 */
const inlineJsonTextComponents = (spec: Json, schemas: Json): void => {
  const inlined = new Map<string, Json>()
  for (const [name, schema] of Object.entries(schemas)) {
    if (/Encoded_\d+$/.test(name) && isObject(schema) && schema.type === "string" && schema.contentMediaType === "application/json") {
      inlined.set(`#/components/schemas/${name}`, schema)
      delete schemas[name]
    }
  }
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) for (const item of node) visit(item)
    else if (isObject(node)) {
      for (const [key, value] of Object.entries(node)) {
        const target = isObject(value) && typeof value.$ref === "string" ? inlined.get(value.$ref) : undefined
        if (target !== undefined && isObject(value)) {
          const { $ref: _ref, ...rest } = value
          node[key] = { ...target, ...rest }
        } else visit(value)
      }
    }
  }
  if (inlined.size > 0) visit(spec)
}

/** Deletes `key` from every object below `node` (not following $refs). */
const deleteDeep = (node: unknown, key: string, when: (value: unknown) => boolean): void => {
  if (Array.isArray(node)) {
    for (const item of node) deleteDeep(item, key, when)
  } else if (isObject(node)) {
    if (key in node && when(node[key])) delete node[key]
    for (const value of Object.values(node)) deleteDeep(value, key, when)
  }
}

const refsIn = (node: unknown, found = new Set<string>()): Set<string> => {
  if (Array.isArray(node)) for (const item of node) refsIn(item, found)
  else if (isObject(node)) {
    if (typeof node.$ref === "string") found.add(node.$ref)
    for (const value of Object.values(node)) refsIn(value, found)
  }
  return found
}

const componentName = (ref: string) => ref.replace("#/components/schemas/", "")

/** Query parameters documented as what they decode to (see groups/content.ts), by operation id. */
const QUERY_PARAMETERS: Readonly<Record<string, Readonly<Record<string, Json>>>> = {
  "content.timeline": { limit: LIMIT_JSON_SCHEMA, offset: OFFSET_JSON_SCHEMA }
}

/** The uniform error body: 4.1.5 names it after the type errorResponse decodes to (`Classified`). */
const COMPONENT_NAMES: Readonly<Record<string, string>> = { ClassifiedEncoded: "ErrorBody" }
const ERROR_BODY_DESCRIPTION = "The uniform error body of every failed request"

/** Rewrites every `$ref` below `node` by `renamed`. */
const rewriteRefs = (node: unknown, renamed: ReadonlyMap<string, string>): void => {
  if (Array.isArray(node)) {
    for (const item of node) rewriteRefs(item, renamed)
  } else if (isObject(node)) {
    if (typeof node.$ref === "string") {
      const target = renamed.get(node.$ref)
      if (target !== undefined) node.$ref = target
    }
    for (const value of Object.values(node)) rewriteRefs(value, renamed)
  }
}

/**
 * Components keep the names of the schemas they document (`TokenPair`, `ErrorBody`), as clients
 * generated from the document know them: 4.1.5 names the encoded side of a schema `<name>Encoded`.
 */
const renameComponents = (spec: Json, schemas: Json): void => {
  const renamed = new Map<string, string>()
  for (const name of Object.keys(schemas)) {
    const target = COMPONENT_NAMES[name] ?? (name.endsWith("Encoded") ? name.slice(0, -"Encoded".length) : undefined)
    if (target === undefined || target in schemas) continue
    schemas[target] = schemas[name]
    delete schemas[name]
    renamed.set(`#/components/schemas/${name}`, `#/components/schemas/${target}`)
  }
  rewriteRefs(spec, renamed)
  if (isObject(schemas.ErrorBody)) schemas.ErrorBody.description = ERROR_BODY_DESCRIPTION
}

/**
 * A form field is text or a file, never null: 4.1.5 documents an optional field as "or null";
 * the file part says what it is.
 */
const multipartFields = (schema: unknown): void => {
  if (!isObject(schema) || !isObject(schema.properties)) return
  for (const [name, property] of Object.entries(schema.properties)) {
    if (!isObject(property)) continue
    if (Array.isArray(property.anyOf)) {
      const kept = property.anyOf.filter((member) => !(isObject(member) && member.type === "null"))
      if (kept.length === 1 && isObject(kept[0])) {
        const { anyOf: _anyOf, ...rest } = property
        schema.properties[name] = { ...kept[0], ...rest }
      }
    }
    if (name === "file") (schema.properties[name] as Json).description = UPLOAD_FILE_DESCRIPTION
  }
}

/**
 * One description per response. 4.1.5 joins the descriptions of every error schema under a status
 * with " | "; the API-wide renderer's (the last) is the one that holds for every failure there.
 * A 204 is a success like any other.
 */
const responseDescription = (description: unknown): unknown => {
  if (description === "<No Content>") return "Success"
  if (typeof description !== "string" || !description.includes(" | ")) return description
  return description.split(" | ").at(-1)
}

/**
 * Folds a lone `allOf` member into its schema when no keyword collides: 4.1.5 puts a check's
 * keywords it does not inline (`contentEncoding`) there; the folded form is what tools expect.
 */
const foldAllOf = (node: unknown): void => {
  if (Array.isArray(node)) {
    for (const item of node) foldAllOf(item)
  } else if (isObject(node)) {
    for (const value of Object.values(node)) foldAllOf(value)
    const only = Array.isArray(node.allOf) && node.allOf.length === 1 ? node.allOf[0] : undefined
    if (isObject(only) && Object.keys(only).every((key) => !(key in node))) {
      delete node.allOf
      Object.assign(node, only)
    }
  }
}

/** The transform: the platform's document in, the exact one out (mutated in place and returned). */
export const refineDocument = (spec: Json, descriptions: ReadonlyMap<string, string> = new Map()): Json => {
  const paths = isObject(spec.paths) ? spec.paths : {}
  if (isObject(spec.info)) spec.info.description = API_DESCRIPTION
  spec.components = isObject(spec.components) ? spec.components : {}
  const components = spec.components as Json
  const schemas = (components.schemas = isObject(components.schemas) ? components.schemas : {}) as Json
  components.headers = { ...(isObject(components.headers) ? components.headers : {}), ...RESPONSE_HEADERS }
  renameComponents(spec, schemas)
  inlineJsonTextComponents(spec, schemas)
  foldAllOf(schemas)
  foldAllOf(paths)
  for (const [name, description] of descriptions) {
    const schema = schemas[name]
    if (isObject(schema) && schema.description === undefined) schema.description = description
  }
  // RFC 7235 scheme names are case-insensitive; the document keeps the lower case it always had.
  if (isObject(components.securitySchemes)) {
    for (const scheme of Object.values(components.securitySchemes)) {
      if (isObject(scheme) && typeof scheme.scheme === "string") scheme.scheme = scheme.scheme.toLowerCase()
    }
  }

  // Effect names its checks in `title` (`maxLength(255)`, `int`): noise in generated code. (Before
  // any example is added: examples have fields named title.)
  deleteDeep(schemas, "title", (value) => typeof value === "string")
  deleteDeep(paths, "title", (value) => typeof value === "string")

  const requestSchemas = new Set<string>()
  const responseSchemas = new Set<string>()
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue
    for (const operation of Object.values(item)) {
      if (!isObject(operation) || !isObject(operation.responses)) continue
      const id = String(operation.operationId)
      const examples = OPERATION_EXAMPLES[id]
      const responses = operation.responses
      const body = isObject(operation.requestBody) && isObject(operation.requestBody.content) ? operation.requestBody.content : undefined
      const rateLimited = !DEFAULT_EXEMPT_PATHS.includes(path)
      const conditional = CONDITIONAL_OPERATIONS.has(id)
      if (conditional) {
        operation.parameters = [...(Array.isArray(operation.parameters) ? operation.parameters : []), IF_NONE_MATCH_PARAMETER]
        responses[304] ??= { description: NOT_MODIFIED }
      }

      // Parameters: described where clients look (the parameter), and query integers as integers.
      for (const parameter of Array.isArray(operation.parameters) ? operation.parameters : []) {
        if (!isObject(parameter) || typeof parameter.name !== "string") continue
        const documented = parameter.in === "query" ? QUERY_PARAMETERS[id]?.[parameter.name] : undefined
        if (documented !== undefined) parameter.schema = { ...documented }
        const schema = isObject(parameter.schema) ? parameter.schema : undefined
        if (parameter.description === undefined && typeof schema?.description === "string") parameter.description = schema.description
      }

      // Request bodies: unknown fields are ignored, and each media type has its example.
      for (const [mediaType, media] of Object.entries(body ?? {})) {
        if (!isObject(media)) continue
        for (const ref of refsIn(media.schema)) requestSchemas.add(ref)
        deleteDeep(media.schema, "additionalProperties", (value) => value === false)
        const example = examples?.request?.[mediaType]
        if (example !== undefined) media.example = example
        if (mediaType === "multipart/form-data") {
          media.encoding = { file: { contentType: "application/pdf, image/jpeg, image/png, text/plain" } }
          multipartFields(media.schema)
        }
      }

      const added: Array<[number, boolean]> = [
        [413, true],
        [415, body !== undefined],
        [429, rateLimited]
      ]
      for (const [status, applies] of added) {
        if (applies && responses[status] === undefined) {
          responses[status] = { description: DESCRIPTIONS[status], content: errorContent(status) }
        }
      }

      for (const [statusText, response] of Object.entries(responses)) {
        if (!isObject(response)) continue
        const status = Number(statusText)
        response.description = responseDescription(response.description)
        const content = isObject(response.content) ? response.content : undefined
        if (status >= 400 && content !== undefined) {
          // The platform documents its decode error under 400; errors.ts answers it, like every failure, as ErrorBody.
          const json = content["application/json"]
          if (isObject(json) && JSON.stringify(json.schema ?? null).includes(ERROR_BODY_REF)) {
            response.content = errorContent(status)
          }
        } else if (content !== undefined) {
          for (const [mediaType, media] of Object.entries(content)) {
            if (!isObject(media)) continue
            for (const ref of refsIn(media.schema)) responseSchemas.add(ref)
            const example =
              mediaType === "application/json"
                ? examples?.responses[status]
                : mediaType === "text/event-stream"
                  ? examples?.events?.[status]
                  : mediaType === FHIR_EXAMPLE_MEDIA_TYPE
                    ? examples?.fhir?.[status]
                    : undefined
            if (example !== undefined) media.example = example
            if (OWN_EVENT_STREAMS.has(id)) delete media["x-effect-stream"]
          }
        }
        const headers: Json = { "X-Request-Id": headerRef("X-Request-Id") }
        if (rateLimited) {
          for (const name of ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]) headers[name] = headerRef(name)
        }
        if (status === 429 || status === 503) headers["Retry-After"] = headerRef("Retry-After")
        if (status === 401) headers["WWW-Authenticate"] = headerRef("WWW-Authenticate")
        if (conditional && (status === 200 || status === 304)) {
          headers["Cache-Control"] = headerRef("Cache-Control")
          headers.ETag = headerRef("ETag")
        }
        response.headers = headers
        const links = LINKS[id]?.[status]
        if (links !== undefined) response.links = links
      }
      // Stable order for readers: statuses ascending.
      operation.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)))
    }
  }

  // Request-only components ignore unknown fields too. One shared with responses would have to say
  // both, so it is left strict.
  for (const ref of requestSchemas) {
    // (test/http/openapi.test.ts checks that the API has none such.)
    if (!responseSchemas.has(ref)) deleteDeep(schemas[componentName(ref)], "additionalProperties", (value) => value === false)
  }

  // Instants: what Schema.Date encodes (Date.prototype.toISOString).
  if (isObject(schemas.Date)) {
    schemas.Date = { type: "string", format: "date-time", description: "An instant, RFC 3339 in UTC (2026-12-06T03:07:04.592Z)" }
  }

  if (Array.isArray(spec.tags)) {
    spec.tags = spec.tags.map((tag) =>
      isObject(tag) && typeof tag.name === "string" && TAG_DESCRIPTIONS[tag.name] !== undefined
        ? { ...tag, description: tag.description ?? TAG_DESCRIPTIONS[tag.name] }
        : tag
    )
  }
  for (const name of PLATFORM_ERROR_SCHEMAS) {
    if (!JSON.stringify(paths).includes(`#/components/schemas/${name}`)) delete schemas[name]
  }
  return spec
}
