/**
 * The structure of an OpenAPI document that clients generated from it depend on (the mobile apps'
 * API code is generated from /openapi.json), with prose and constraint details left out:
 *
 * - per operation (`GET /path`): operationId, whether it is secured, its parameters (name, in,
 *   required, schema type/format), its request body (required, media types and their schemas),
 *   its responses (statuses, media types and their schemas);
 * - per component schema: its shape.
 *
 * A shape is a schema reduced to what generated types are made of: `type`, `format`, `enum`,
 * `const`, nullability, object properties and `required`, array items, unions, and `$ref`s to
 * object components (by name). A `$ref` to a component that is not an object (an Effect alias
 * such as `Int` or `UUID`, or `Date`) is replaced by that component's shape: generators make type
 * aliases of those, so the alias's name is not part of the contract, its type is.
 * (test/contract/openapi.structure.test.ts compares this against the checked-in snapshot.)
 */

type Json = { readonly [key: string]: unknown }
export type Shape = { readonly [key: string]: unknown }

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]
const COMPONENT = "#/components/schemas/"

/** Keys sorted, recursively: a canonical form to compare and snapshot. */
const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical)
  if (!isObject(value)) return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical(value[key])])
  )
}

const sortedStrings = (values: ReadonlyArray<unknown>): ReadonlyArray<string> => values.map(String).sort()

export interface Structure {
  readonly operations: Readonly<Record<string, Shape>>
  readonly components: Readonly<Record<string, Shape>>
}

export const structureOf = (doc: unknown): Structure => {
  const root = isObject(doc) ? doc : {}
  const schemas = isObject(root.components) && isObject(root.components.schemas) ? root.components.schemas : {}

  /** A component generated as a type of its own: an object (properties or a record). */
  const isObjectComponent = (name: string, seen = new Set<string>()): boolean => {
    const schema = schemas[name]
    if (!isObject(schema) || seen.has(name)) return false
    seen.add(name)
    if (typeof schema.$ref === "string") return isObjectComponent(schema.$ref.slice(COMPONENT.length), seen)
    return schema.type === "object" || isObject(schema.properties)
  }

  const shape = (schema: unknown, depth = 0): Shape => {
    if (depth > 64) throw new Error("schema nesting too deep (a $ref cycle through an alias?)")
    if (schema === true || schema === undefined) return { any: true }
    if (!isObject(schema)) return { invalid: String(schema) }
    if (typeof schema.$ref === "string") {
      const name = schema.$ref.startsWith(COMPONENT) ? schema.$ref.slice(COMPONENT.length) : schema.$ref
      // Keywords beside a $ref (v3 put bounds there) only refine it: the type is the target's.
      return isObjectComponent(name) ? { $ref: name } : shape(schemas[name], depth + 1)
    }
    const out: Record<string, unknown> = {}
    let nullable = false
    for (const union of ["anyOf", "oneOf"] as const) {
      const members = schema[union]
      if (!Array.isArray(members)) continue
      const kept: Array<Shape> = []
      for (const member of members) {
        const s = shape(member, depth + 1)
        if (s.type === "null" && Object.keys(s).length === 1) nullable = true
        else if (s.nullable === true) {
          nullable = true
          const { nullable: _n, ...rest } = s
          kept.push(rest)
        } else kept.push(s)
      }
      if (kept.length === 1) Object.assign(out, kept[0])
      else if (kept.length > 1) {
        const texts = kept.map((s) => JSON.stringify(canonical(s)))
        out[union === "oneOf" ? "anyOf" : union] = [...new Set(texts)].sort().map((text) => JSON.parse(text) as unknown)
      }
    }
    if (Array.isArray(schema.allOf)) for (const member of schema.allOf) Object.assign(out, shape(member, depth + 1))
    let type = schema.type
    if (Array.isArray(type)) {
      if (type.includes("null")) nullable = true
      const rest = type.filter((t) => t !== "null")
      type = rest.length === 1 ? rest[0] : rest.length === 0 ? "null" : [...rest].sort()
    }
    if (type !== undefined) out.type = type
    if (typeof schema.format === "string") out.format = schema.format
    if (Array.isArray(schema.enum)) {
      const values = schema.enum.filter((v) => v !== null)
      if (values.length < schema.enum.length) nullable = true
      out.enum = [...values].map((v) => JSON.stringify(v)).sort().map((text) => JSON.parse(text) as unknown)
    }
    if (schema.const !== undefined) out.const = schema.const
    if (isObject(schema.properties)) {
      out.type = "object"
      out.properties = Object.fromEntries(
        Object.entries(schema.properties).map(([name, property]) => [name, shape(property, depth + 1)])
      )
      out.required = sortedStrings(Array.isArray(schema.required) ? schema.required : [])
      // A record (no properties, only additionalProperties): the empty lists say nothing.
      if (Object.keys(schema.properties).length === 0 && isObject(schema.additionalProperties)) {
        delete out.properties
        delete out.required
      }
    }
    if (isObject(schema.additionalProperties)) out.additionalProperties = shape(schema.additionalProperties, depth + 1)
    if (isObject(schema.items)) out.items = shape(schema.items, depth + 1)
    if (Array.isArray(schema.prefixItems)) out.prefixItems = schema.prefixItems.map((item) => shape(item, depth + 1))
    if (nullable) out.nullable = true
    return out
  }

  /** Follows the `$ref` of a parameter, request body or response object. */
  const resolve = (node: unknown): Json => {
    let current = node
    for (let i = 0; i < 16 && isObject(current) && typeof current.$ref === "string"; i++) {
      let target: unknown = root
      for (const part of current.$ref.replace(/^#\//, "").split("/")) {
        target = isObject(target) ? target[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined
      }
      current = target
    }
    return isObject(current) ? current : {}
  }

  const content = (node: unknown): Shape =>
    Object.fromEntries(Object.entries(isObject(node) ? node : {}).map(([mediaType, media]) => [mediaType, shape(isObject(media) ? media.schema : undefined)]))

  const operations: Record<string, Shape> = {}
  const globalSecurity = Array.isArray(root.security) ? root.security : []
  for (const [path, item] of Object.entries(isObject(root.paths) ? root.paths : {})) {
    if (!isObject(item)) continue
    const shared = Array.isArray(item.parameters) ? item.parameters : []
    for (const method of METHODS) {
      const operation = item[method]
      if (!isObject(operation)) continue
      const parameters = [...shared, ...(Array.isArray(operation.parameters) ? operation.parameters : [])]
        .map(resolve)
        .map((parameter) => ({
          name: String(parameter.name),
          in: String(parameter.in),
          required: parameter.required === true || parameter.in === "path",
          schema: shape(parameter.schema)
        }))
        .sort((a, b) => `${a.in}:${a.name}`.localeCompare(`${b.in}:${b.name}`))
      const body = operation.requestBody === undefined ? undefined : resolve(operation.requestBody)
      const security = Array.isArray(operation.security) ? operation.security : globalSecurity
      operations[`${method.toUpperCase()} ${path}`] = {
        operationId: operation.operationId,
        secured: security.some((requirement) => isObject(requirement) && Object.keys(requirement).length > 0),
        parameters,
        ...(body === undefined ? {} : { requestBody: { required: body.required === true, content: content(body.content) } }),
        responses: Object.fromEntries(
          Object.entries(isObject(operation.responses) ? operation.responses : {}).map(([status, response]) => [
            status,
            content(resolve(response).content)
          ])
        )
      }
    }
  }

  const components = Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, shape(schema)]))
  return canonical({ operations, components }) as Structure
}
