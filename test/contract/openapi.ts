/**
 * Reading an OpenAPI 3.1 document for the contract test: its operations, ajv over the whole
 * document (every schema addressed by JSON pointer, so `#/components/schemas/X` refs resolve), and
 * the check of one response against what the document says of its operation.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js"
import addFormatsModule from "ajv-formats"
import { at, child, deref, type Schema, typesOf } from "./jsonSchemaArbitrary.js"

// ajv-formats is CommonJS with a default export; under NodeNext its default is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => void

export interface Parameter {
  readonly name: string
  readonly in: "path" | "query" | "header" | "cookie"
  readonly required: boolean
  /** Pointer of the parameter's schema. */
  readonly schema: string
}

export interface Operation {
  readonly method: string
  readonly path: string
  readonly key: string
  readonly pointer: string
  readonly parameters: ReadonlyArray<Parameter>
  /** Media type → pointer of its schema. */
  readonly requestBody: { readonly required: boolean; readonly content: ReadonlyMap<string, string> } | undefined
  readonly secured: boolean
  /** Documented statuses (keys of `responses`: "200", "4XX", "default"). */
  readonly responses: ReadonlyArray<string>
}

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

type Obj = Readonly<Record<string, unknown>>
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null ? (v as Obj) : {})

/** Follows `$ref` of a parameter, request body, response or header object. */
const resolved = (doc: unknown, pointer: string): { readonly node: Obj; readonly pointer: string } => {
  let p = pointer
  for (let i = 0; i < 16; i++) {
    const node = obj(at(doc, p))
    if (typeof node.$ref !== "string") return { node, pointer: p }
    p = decodeURIComponent(node.$ref.slice(1))
  }
  throw new Error(`$ref cycle at ${pointer}`)
}

export const operationsOf = (doc: unknown): ReadonlyArray<Operation> => {
  const root = obj(doc)
  const globalSecurity = Array.isArray(root.security) ? root.security : []
  const out: Array<Operation> = []
  for (const [path, item] of Object.entries(obj(root.paths))) {
    const itemPointer = child("/paths", path)
    const shared = Array.isArray(obj(item).parameters) ? (obj(item).parameters as Array<unknown>) : []
    for (const method of METHODS) {
      if (!(method in obj(item))) continue
      const pointer = child(itemPointer, method)
      const op = obj(at(doc, pointer))
      const parameters = new Map<string, Parameter>()
      const collect = (list: ReadonlyArray<unknown>, base: string) =>
        list.forEach((_, i) => {
          const { node, pointer: pp } = resolved(doc, child(base, "parameters", i))
          const name = String(node.name)
          const location = String(node.in) as Parameter["in"]
          parameters.set(`${location}:${name.toLowerCase()}`, { name, in: location, required: node.required === true || location === "path", schema: child(pp, "schema") })
        })
      collect(shared, itemPointer)
      collect(Array.isArray(op.parameters) ? op.parameters : [], pointer)
      let requestBody: Operation["requestBody"]
      if (op.requestBody !== undefined) {
        const { node, pointer: bp } = resolved(doc, child(pointer, "requestBody"))
        const content = new Map<string, string>()
        for (const mediaType of Object.keys(obj(node.content))) content.set(mediaType, child(bp, "content", mediaType, "schema"))
        requestBody = { required: node.required === true, content }
      }
      const security = Array.isArray(op.security) ? op.security : globalSecurity
      out.push({
        method: method.toUpperCase(),
        path,
        key: `${method.toUpperCase()} ${path}`,
        pointer,
        parameters: [...parameters.values()],
        requestBody,
        // An empty requirement object `{}` in the list makes authentication optional.
        secured: security.length > 0 && !security.some((s) => Object.keys(obj(s)).length === 0),
        responses: Object.keys(obj(op.responses))
      })
    }
  }
  return out
}

/** The documented response key that covers `status` ("404", then "4XX", then "default"). */
export const responseKeyFor = (op: Operation, status: number): string | undefined => {
  const exact = String(status)
  if (op.responses.includes(exact)) return exact
  const range = `${String(status)[0]}XX`
  const ranged = op.responses.find((k) => k.toUpperCase() === range)
  if (ranged !== undefined) return ranged
  return op.responses.includes("default") ? "default" : undefined
}

/** The description of a documented response ("" when there is none). */
export const responseDescription = (doc: unknown, op: Operation, key: string): string =>
  op.responses.includes(key) ? String(resolved(doc, child(op.pointer, "responses", key)).node.description ?? "") : ""

export const isDocumented = (op: Operation, status: number): boolean => responseKeyFor(op, status) !== undefined

export const documentedStatuses = (op: Operation): ReadonlyArray<number> =>
  op.responses.filter((k) => /^\d{3}$/.test(k)).map(Number)

// ---------------------------------------------------------------------------------------------
// ajv

export interface Validator {
  readonly validate: (pointer: string, value: unknown) => boolean
  readonly errors: (pointer: string, value: unknown) => string
}

const DOC_ID = "openapi.json"

const fragment = (pointer: string) =>
  pointer
    .split("/")
    .map((t) => encodeURIComponent(t))
    .join("/")

/**
 * `$id`s used more than once in the document: JSON Schema forbids that (one URI, one schema) and
 * ajv refuses the document. They are left out of the copy ajv gets, and reported.
 */
export const duplicateIds = (doc: unknown): ReadonlyArray<string> => {
  const seen = new Map<string, number>()
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk)
    else if (typeof node === "object" && node !== null) {
      const id = (node as Obj).$id
      if (typeof id === "string") seen.set(id, (seen.get(id) ?? 0) + 1)
      Object.values(node).forEach(walk)
    }
  }
  walk(doc)
  return [...seen].filter(([, n]) => n > 1).map(([id, n]) => `${id} (${n}×)`)
}

const withoutIds = (node: unknown, ids: ReadonlySet<string>): unknown => {
  if (Array.isArray(node)) return node.map((n) => withoutIds(n, ids))
  if (typeof node !== "object" || node === null) return node
  return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === "$id" && typeof v === "string" && ids.has(v))).map(([k, v]) => [k, withoutIds(v, ids)]))
}

export const makeValidator = (doc: unknown): Validator => {
  const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false, validateFormats: true })
  addFormats(ajv)
  const duplicated = new Set(duplicateIds(doc).map((d) => d.replace(/ \(\d+×\)$/, "")))
  ajv.addSchema(withoutIds(doc, duplicated) as object, DOC_ID)
  const cache = new Map<string, ValidateFunction>()
  const compiled = (pointer: string): ValidateFunction => {
    let fn = cache.get(pointer)
    if (fn === undefined) {
      fn = ajv.compile({ $ref: `${DOC_ID}#${fragment(pointer)}` })
      cache.set(pointer, fn)
    }
    return fn
  }
  return {
    validate: (pointer, value) => compiled(pointer)(value) === true,
    errors: (pointer, value) => {
      const fn = compiled(pointer)
      if (fn(value) === true) return ""
      return (fn.errors ?? [])
        .slice(0, 6)
        .map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}${e.keyword === "additionalProperties" ? ` (${JSON.stringify(e.params)})` : ""}`)
        .join("; ")
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Responses

export interface Observed {
  readonly status: number
  readonly headers: Headers
  readonly body: string
}

const mediaTypeOf = (contentType: string | null) => (contentType ?? "").split(";")[0]!.trim().toLowerCase()

const mediaMatches = (documented: string, actual: string) => {
  const [dt, ds] = documented.toLowerCase().split("/")
  const [at_, as] = actual.split("/")
  return (dt === "*" || dt === at_) && (ds === "*" || ds === as)
}

/** A header's text as the value its schema describes (integers, numbers, booleans, arrays). */
export const coerce = (doc: unknown, schemaPointer: string, text: string): unknown => {
  const { schema } = deref(doc, schemaPointer)
  const types = typesOf(schema as Schema) ?? []
  if ((types.includes("integer") || types.includes("number")) && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text.trim())) return Number(text)
  if (types.includes("boolean") && (text === "true" || text === "false")) return text === "true"
  if (types.includes("array")) return text.split(",").map((s) => s.trim())
  return text
}

/** The events of a `text/event-stream` body as their fields (`id` when sent, `event` "message" when not), per the SSE spec. */
export const sseEvents = (body: string): ReadonlyArray<{ readonly id?: string; readonly event: string; readonly data: string }> => {
  const events: Array<{ id?: string; event: string; data: string }> = []
  for (const block of body.split(/\r\n\r\n|\n\n|\r\r/)) {
    let id: string | undefined
    let event = "message"
    const data: Array<string> = []
    for (const line of block.split(/\r\n|\n|\r/)) {
      if (line === "" || line.startsWith(":")) continue
      const colon = line.indexOf(":")
      const name = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "")
      if (name === "data") data.push(value)
      else if (name === "event") event = value
      else if (name === "id") id = value
    }
    // a block without data (a `retry:`, comments) dispatches no event
    if (data.length > 0) events.push({ ...(id !== undefined ? { id } : {}), event, data: data.join("\n") })
  }
  return events
}

/**
 * An event stream's body: each event against the documented event schema, and a `data` documented
 * as JSON text (`contentMediaType: application/json`) parsed and checked against its `contentSchema`.
 */
const eventStreamProblems = (doc: unknown, validator: Validator, schemaPointer: string, body: string) => {
  const problems: Array<{ kind: string; detail: string }> = []
  const { schema, pointer } = deref(doc, schemaPointer)
  const properties = obj(obj(schema).properties)
  const dataSchema = "data" in properties ? deref(doc, child(pointer, "properties", "data")) : undefined
  const contentPointer =
    dataSchema !== undefined && obj(dataSchema.schema).contentMediaType === "application/json" && "contentSchema" in obj(dataSchema.schema)
      ? child(dataSchema.pointer, "contentSchema")
      : undefined
  sseEvents(body).forEach((event, i) => {
    const errors = validator.errors(schemaPointer, event)
    if (errors !== "") problems.push({ kind: "event does not match its schema", detail: `event ${i + 1}: ${errors}` })
    if (contentPointer === undefined) return
    let data: unknown
    try {
      data = JSON.parse(event.data)
    } catch {
      problems.push({ kind: "event data is not JSON", detail: `event ${i + 1}` })
      return
    }
    const dataErrors = validator.errors(contentPointer, data)
    if (dataErrors !== "") problems.push({ kind: "event data does not match its schema", detail: `event ${i + 1}: ${dataErrors}` })
  })
  return problems
}

/**
 * Problems of one response against the document: status documented, never 5xx, body per the
 * documented content (or empty), required headers present, present headers valid.
 */
export const responseProblems = (doc: unknown, validator: Validator, op: Operation, answer: Observed): ReadonlyArray<{ readonly kind: string; readonly detail: string }> => {
  const problems: Array<{ kind: string; detail: string }> = []
  if (answer.status >= 500) problems.push({ kind: "5xx", detail: `a ${answer.status}` })
  const key = responseKeyFor(op, answer.status)
  if (key === undefined) {
    problems.push({ kind: "undocumented status", detail: `${answer.status} is not among ${op.responses.join(", ")}` })
    return problems
  }
  const { node: response, pointer } = resolved(doc, child(op.pointer, "responses", key))
  const content = obj(response.content)
  const mediaTypes = Object.keys(content)
  const actual = mediaTypeOf(answer.headers.get("content-type"))
  if (mediaTypes.length === 0) {
    if (answer.body.length > 0) problems.push({ kind: "body where none is documented", detail: `${answer.body.length} bytes of ${actual || "no content type"}` })
  } else if (answer.body.length === 0) {
    problems.push({ kind: "empty body where content is documented", detail: `documented: ${mediaTypes.join(", ")}` })
  } else {
    const match = mediaTypes.find((m) => mediaMatches(m, actual))
    if (match === undefined) {
      problems.push({ kind: "undocumented content type", detail: `${actual || "none"}; documented: ${mediaTypes.join(", ")}` })
    } else if ("schema" in obj(content[match])) {
      const schemaPointer = child(pointer, "content", match, "schema")
      if (match === "text/event-stream") {
        problems.push(...eventStreamProblems(doc, validator, schemaPointer, answer.body))
      } else if (/[/+]json$/.test(match) || match === "application/json") {
        let parsed: unknown
        try {
          parsed = JSON.parse(answer.body)
        } catch {
          problems.push({ kind: "body is not JSON", detail: `declared ${actual}` })
        }
        if (parsed !== undefined) {
          const errors = validator.errors(schemaPointer, parsed)
          if (errors !== "") problems.push({ kind: "body does not match its schema", detail: errors })
        }
      } else {
        const errors = validator.errors(schemaPointer, answer.body)
        if (errors !== "") problems.push({ kind: "body does not match its schema", detail: errors })
      }
    }
  }
  for (const [name, h] of Object.entries(obj(response.headers))) {
    if (name.toLowerCase() === "content-type") continue // OpenAPI ignores a documented Content-Type header
    const headerPointer = resolved(doc, child(pointer, "headers", name))
    const value = answer.headers.get(name)
    if (value === null) {
      if (headerPointer.node.required === true) problems.push({ kind: "required header missing", detail: name })
      continue
    }
    void h
    if ("schema" in headerPointer.node) {
      const schemaPointer = child(headerPointer.pointer, "schema")
      const errors = validator.errors(schemaPointer, coerce(doc, schemaPointer, value))
      if (errors !== "") problems.push({ kind: "header does not match its schema", detail: `${name}: ${JSON.stringify(value)}: ${errors}` })
    }
  }
  return problems
}
