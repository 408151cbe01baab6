/**
 * JSON Schema (2020-12, as OpenAPI 3.1 uses it) → fast-check arbitraries, for the contract test.
 *
 * Schemas are addressed by their JSON pointer inside one root document (the OpenAPI document), so
 * that `$ref: "#/components/schemas/X"` resolves and so that any generated value can be checked
 * by ajv against the very schema it was generated from (`Context.validate(pointer, value)`).
 *
 * `arbitraryAt` produces values that satisfy the schema; where the translation is approximate
 * (allOf, oneOf, not, pattern together with length bounds, `$ref` with sibling constraints) the
 * arbitrary is filtered through ajv. `invalidAt` produces values that violate it (each candidate
 * is confirmed invalid by ajv), labelled with what was broken.
 *
 * Supported: `$ref` (local), `type` (one or several of string, integer, number, boolean, object,
 * array, null), `enum`, `const`, `default`, `minLength`/`maxLength`, `pattern` (fc.stringMatching),
 * `format` (uuid, email, date-time, date, binary), `contentEncoding: base64`, `minimum`/`maximum`
 * and their exclusive forms, `multipleOf` (integers), object `properties`/`required`/
 * `additionalProperties`, `anyOf`/`oneOf`/`allOf`, arrays with `items` and `minItems`/`maxItems`.
 */
import fc from "fast-check"

export type Schema = Readonly<Record<string, unknown>>

/** What a value generated for `format: binary` is (a file part of a multipart body). */
export class BinaryValue {
  constructor(
    readonly bytes: Uint8Array,
    readonly fileName: string,
    readonly mediaType: string
  ) {}
}

/** A value chosen by a hint (a real id, a fresh token), with why it was chosen. */
export class Tagged {
  constructor(
    readonly value: unknown,
    readonly tag: string
  ) {}
}

export interface Context {
  readonly root: unknown
  /** ajv: does `value` satisfy the schema at `pointer` of the root? */
  readonly validate: (pointer: string, value: unknown) => boolean
  /** Bytes for `contentEncoding: base64` strings and `format: binary` values. */
  readonly bytes: fc.Arbitrary<Uint8Array>
  /** Overrides generation of one named property or parameter (real ids, tokens); undefined: none. */
  readonly hint?: (name: string, pointer: string, schema: Schema) => fc.Arbitrary<unknown> | undefined
}

/**
 * `arb.filter(keep)` that fails loudly instead of spinning when a schema defeats the generator
 * (thousands of rejections in a row): the message names the schema.
 */
export const filtered = <A>(arb: fc.Arbitrary<A>, keep: (a: A) => boolean, what: string): fc.Arbitrary<A> => {
  let rejected = 0
  return arb.filter((a) => {
    if (keep(a)) {
      rejected = 0
      return true
    }
    if (++rejected > 20_000) throw new Error(`the generator cannot satisfy ${what}: 20,000 candidates in a row rejected`)
    return false
  })
}

// ---------------------------------------------------------------------------------------------
// Pointers

const escapeToken = (token: string) => token.replace(/~/g, "~0").replace(/\//g, "~1")
const unescapeToken = (token: string) => token.replace(/~1/g, "/").replace(/~0/g, "~")

export const child = (pointer: string, ...tokens: ReadonlyArray<string | number>): string =>
  pointer + tokens.map((t) => `/${escapeToken(String(t))}`).join("")

export const lastToken = (pointer: string): string => unescapeToken(pointer.slice(pointer.lastIndexOf("/") + 1))

export const at = (root: unknown, pointer: string): unknown => {
  let node = root
  if (pointer === "") return node
  for (const raw of pointer.slice(1).split("/")) {
    if (typeof node !== "object" || node === null) throw new Error(`JSON pointer ${pointer} leads nowhere`)
    node = (node as Record<string, unknown>)[unescapeToken(raw)]
  }
  if (node === undefined) throw new Error(`JSON pointer ${pointer} leads nowhere`)
  return node
}

/** The pointer a local `$ref` names. */
export const refPointer = (ref: string): string => {
  if (!ref.startsWith("#")) throw new Error(`only local $ref is supported, got ${ref}`)
  return decodeURIComponent(ref.slice(1))
}

/** Follows `$ref` (when it is the schema's only validating keyword) to the schema and its pointer. */
export const deref = (root: unknown, pointer: string): { readonly schema: Schema; readonly pointer: string } => {
  let current = pointer
  for (let hops = 0; hops < 32; hops++) {
    const node = at(root, current)
    if (typeof node !== "object" || node === null) return { schema: {}, pointer: current }
    const schema = node as Schema
    if (typeof schema.$ref === "string" && !hasConstraints(schema)) current = refPointer(schema.$ref)
    else return { schema, pointer: current }
  }
  throw new Error(`$ref cycle at ${pointer}`)
}

const ANNOTATIONS = new Set([
  "$ref", "$id", "$schema", "$comment", "$anchor", "$defs", "title", "description", "examples", "default",
  "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "format", "xml", "externalDocs", "example"
])
const hasConstraints = (schema: Schema) => Object.keys(schema).some((k) => !ANNOTATIONS.has(k))

const TYPES = ["string", "integer", "number", "boolean", "object", "array", "null"] as const
type JsonType = (typeof TYPES)[number]

/** The JSON types a schema admits (inferred from its keywords when `type` is absent); undefined: any. */
export const typesOf = (schema: Schema): ReadonlyArray<JsonType> | undefined => {
  if (typeof schema.type === "string") return [schema.type as JsonType]
  if (Array.isArray(schema.type)) return schema.type as ReadonlyArray<JsonType>
  if ("properties" in schema || "required" in schema || "additionalProperties" in schema) return ["object"]
  if ("items" in schema || "minItems" in schema || "maxItems" in schema) return ["array"]
  if ("minLength" in schema || "maxLength" in schema || "pattern" in schema) return ["string"]
  if ("minimum" in schema || "maximum" in schema || "exclusiveMinimum" in schema || "exclusiveMaximum" in schema) return ["number"]
  return undefined
}

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined)

/** Code points, as JSON Schema counts a string's length. */
export const codePoints = (s: string): number => [...s].length

// ---------------------------------------------------------------------------------------------
// Rules the document states in prose that a schema cannot express. Each is respected by the
// generator (valid values) and broken by `invalidAt` (invalid values). Keep this list short.

interface DescriptionRule {
  readonly name: string
  readonly match: RegExp
  readonly valid: (m: RegExpMatchArray) => fc.Arbitrary<string>
  readonly invalid: (m: RegExpMatchArray) => fc.Arbitrary<string>
  readonly holds: (m: RegExpMatchArray, value: string) => boolean
}

const count = (s: string | undefined) => Number((s ?? "0").replace(/[,_ ]/g, ""))
const WHITESPACE = fc.constantFrom(" ", "\t", "\n", "\r", "\u00a0", "\u2003")

export const DESCRIPTION_RULES: ReadonlyArray<DescriptionRule> = [
  {
    // ChatMessageRequest.message: "1 to 4000 characters after trimming" (or "…, surrounding
    // whitespace is trimmed"): the bounds hold for the trimmed text.
    name: "N to M characters, trimmed",
    match: /(\d[\d,]*) to (\d[\d,]*) characters\b[^.]*\btrim/i,
    valid: (m) => {
      const min = Math.max(1, count(m[1]))
      const max = count(m[2])
      const core = fc
        .oneof(
          { weight: 8, arbitrary: fc.string({ minLength: min, maxLength: Math.min(max, min + 60) }) },
          { weight: 1, arbitrary: fc.string({ minLength: max, maxLength: max }) }
        )
        .filter((s) => s.trim().length >= min && s.trim().length <= max && s.trim() === s)
      return fc
        .tuple(fc.string({ unit: WHITESPACE, maxLength: 3 }), core, fc.string({ unit: WHITESPACE, maxLength: 3 }))
        .map(([a, b, c]) => `${a}${b}${c}`)
    },
    invalid: (m) =>
      fc.oneof(
        fc.string({ unit: WHITESPACE, maxLength: 5 }),
        fc.string({ minLength: count(m[2]) + 1, maxLength: count(m[2]) + 5 }).filter((s) => s.trim().length > count(m[2]))
      ),
    holds: (m, value) => value.trim().length >= Math.max(1, count(m[1])) && value.trim().length <= count(m[2])
  }
]

const ruleFor = (schema: Schema): { rule: DescriptionRule; m: RegExpMatchArray } | undefined => {
  if (typeof schema.description !== "string") return undefined
  for (const rule of DESCRIPTION_RULES) {
    const m = schema.description.match(rule.match)
    if (m) return { rule, m }
  }
  return undefined
}

/** Whether `value` keeps the prose rules of the schema at `pointer` (top level only). */
export const keepsDescriptionRules = (root: unknown, pointer: string, value: unknown): boolean => {
  const { schema, pointer: p } = deref(root, pointer)
  const own = ruleFor(schema)
  if (own && typeof value === "string" && !own.rule.holds(own.m, value)) return false
  if (typeof value === "object" && value !== null && !Array.isArray(value) && typeof schema.properties === "object" && schema.properties !== null) {
    for (const [name, v] of Object.entries(value)) {
      if (name in schema.properties && !keepsDescriptionRules(root, child(p, "properties", name), v)) return false
    }
  }
  return true
}

// ---------------------------------------------------------------------------------------------
// Valid values

const NEEDS_FILTER = ["allOf", "oneOf", "not", "if", "uniqueItems", "contains", "propertyNames", "minProperties", "maxProperties", "dependentRequired", "dependentSchemas", "multipleOf"]

export const arbitraryAt = (ctx: Context, pointer: string, depth = 0): fc.Arbitrary<unknown> => {
  if (depth > 12) throw new Error(`schema nesting too deep at ${pointer}`)
  const node = at(ctx.root, pointer)
  if (node === true) return fc.jsonValue({ maxDepth: 2 })
  if (node === false) throw new Error(`nothing satisfies the false schema at ${pointer}`)
  const schema = node as Schema
  let arb = baseArbitrary(ctx, schema, pointer, depth)
  const approximate =
    NEEDS_FILTER.some((k) => k in schema) ||
    (typeof schema.$ref === "string" && hasConstraints(schema)) ||
    ("pattern" in schema && ("minLength" in schema || "maxLength" in schema || "format" in schema))
  if (approximate) arb = filtered(arb, (v) => ctx.validate(pointer, plain(v)), `the schema at ${pointer}`)
  if ("default" in schema && ctx.validate(pointer, schema.default)) {
    arb = fc.oneof({ weight: 1, arbitrary: fc.constant(schema.default) }, { weight: 6, arbitrary: arb })
  }
  return arb
}

const baseArbitrary = (ctx: Context, schema: Schema, pointer: string, depth: number): fc.Arbitrary<unknown> => {
  if ("const" in schema) return fc.constant(schema.const)
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as ReadonlyArray<unknown>))
  if (typeof schema.$ref === "string") return arbitraryAt(ctx, refPointer(schema.$ref), depth + 1)
  if (Array.isArray(schema.anyOf)) return fc.oneof(...schema.anyOf.map((_, i) => arbitraryAt(ctx, child(pointer, "anyOf", i), depth + 1)))
  if (Array.isArray(schema.oneOf)) return fc.oneof(...schema.oneOf.map((_, i) => arbitraryAt(ctx, child(pointer, "oneOf", i), depth + 1)))
  const types = typesOf(schema)
  if (types === undefined) {
    // allOf alone: generate from its first branch (the filter enforces the others).
    if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return arbitraryAt(ctx, child(pointer, "allOf", 0), depth + 1)
    return fc.jsonValue({ maxDepth: 2 })
  }
  const byType = types.map((t) => typedArbitrary(ctx, t, schema, pointer, depth))
  return byType.length === 1 ? byType[0]! : fc.oneof(...byType)
}

/** Printable ASCII mostly, sometimes any code point (counted as JSON Schema counts length). */
const anyString = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength, maxLength }) },
    { weight: 1, arbitrary: fc.string({ minLength, maxLength, unit: "binary" }) }
  )

const stringArbitrary = (ctx: Context, schema: Schema): fc.Arbitrary<string> => {
  const rule = ruleFor(schema)
  if (rule) return rule.rule.valid(rule.m)
  const minLength = num(schema.minLength) ?? 0
  const maxLength = num(schema.maxLength) ?? Math.max(minLength + 64, 64)
  const fits = (s: string) => codePoints(s) >= minLength && codePoints(s) <= maxLength
  switch (schema.format) {
    case "uuid":
      return fc.tuple(fc.uuid(), fc.boolean()).map(([u, upper]) => (upper ? u.toUpperCase() : u))
    case "email":
      return fc.emailAddress().filter(fits)
    case "date-time":
      return fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2200-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString())
    case "date":
      return fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2200-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10))
  }
  if (schema.contentEncoding === "base64") {
    return ctx.bytes.map((b) => Buffer.from(b).toString("base64")).filter(fits)
  }
  // A pattern bounds the length itself (`{100,4096}`): only a declared maxLength caps it, not the default above.
  if (typeof schema.pattern === "string") {
    const keeps = (s: string) => codePoints(s) >= minLength && (schema.maxLength === undefined || codePoints(s) <= maxLength)
    return fc.stringMatching(new RegExp(schema.pattern, "u")).filter(keeps)
  }
  const cap = Math.min(maxLength, minLength + 40)
  const boundaries: Array<fc.Arbitrary<string>> = [anyString(minLength, minLength)]
  if (schema.maxLength !== undefined) boundaries.push(anyString(maxLength, maxLength))
  return fc.oneof({ weight: 8, arbitrary: anyString(minLength, cap) }, { weight: 2, arbitrary: fc.oneof(...boundaries) })
}

const numberBounds = (schema: Schema, integer: boolean) => {
  const step = integer ? 1 : Number.EPSILON * 1024
  const lo = Math.max(num(schema.minimum) ?? -Infinity, (num(schema.exclusiveMinimum) ?? -Infinity) + step)
  const hi = Math.min(num(schema.maximum) ?? Infinity, (num(schema.exclusiveMaximum) ?? Infinity) - step)
  return { lo, hi }
}

const typedArbitrary = (ctx: Context, type: JsonType, schema: Schema, pointer: string, depth: number): fc.Arbitrary<unknown> => {
  switch (type) {
    case "string":
      if (schema.format === "binary") return binaryArbitrary(ctx)
      return stringArbitrary(ctx, schema)
    case "integer": {
      const { lo, hi } = numberBounds(schema, true)
      // Unbounded sides reach past 32 bits sometimes: JSON Schema integers have no width.
      const min = Number.isFinite(lo) ? Math.ceil(lo) : Number.MIN_SAFE_INTEGER
      const max = Number.isFinite(hi) ? Math.floor(hi) : Number.MAX_SAFE_INTEGER
      const mult = num(schema.multipleOf)
      const ints = fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) }) },
        { weight: 1, arbitrary: fc.maxSafeInteger().filter((n) => n >= min && n <= max) },
        { weight: 1, arbitrary: fc.constantFrom(min, max) }
      )
      return mult !== undefined && Number.isInteger(mult) ? ints.map((n) => n - (n % mult)).filter((n) => n >= min && n <= max) : ints
    }
    case "number": {
      const { lo, hi } = numberBounds(schema, false)
      return fc.double({
        ...(Number.isFinite(lo) ? { min: lo } : { min: -1e12 }),
        ...(Number.isFinite(hi) ? { max: hi } : { max: 1e12 }),
        noNaN: true,
        noDefaultInfinity: true
      }).map((n) => (Object.is(n, -0) ? 0 : n))
    }
    case "boolean":
      return fc.boolean()
    case "null":
      return fc.constant(null)
    case "array": {
      const minItems = num(schema.minItems) ?? 0
      const maxItems = num(schema.maxItems) ?? minItems + 4
      const items = "items" in schema && schema.items !== undefined ? arbitraryAt(ctx, child(pointer, "items"), depth + 1) : fc.jsonValue({ maxDepth: 1 })
      return fc.array(items, { minLength: minItems, maxLength: Math.min(maxItems, minItems + 4) })
    }
    case "object":
      return objectArbitrary(ctx, schema, pointer, depth)
  }
}

const binaryArbitrary = (ctx: Context): fc.Arbitrary<BinaryValue> =>
  fc
    .tuple(
      ctx.bytes,
      fc.stringMatching(/^[A-Za-z0-9_-]{1,20}\.(pdf|txt|png|jpg|bin)$/),
      fc.oneof({ weight: 3, arbitrary: fc.constant("application/octet-stream") }, { weight: 1, arbitrary: fc.constantFrom("application/pdf", "text/plain", "image/png") })
    )
    .map(([bytes, fileName, mediaType]) => new BinaryValue(bytes, fileName, mediaType))

export const propertiesOf = (schema: Schema): Readonly<Record<string, unknown>> =>
  typeof schema.properties === "object" && schema.properties !== null ? (schema.properties as Record<string, unknown>) : {}

export const requiredOf = (schema: Schema): ReadonlyArray<string> => (Array.isArray(schema.required) ? (schema.required as Array<string>) : [])

const objectArbitrary = (ctx: Context, schema: Schema, pointer: string, depth: number): fc.Arbitrary<unknown> => {
  const properties = propertiesOf(schema)
  const required = requiredOf(schema)
  const entries: Record<string, fc.Arbitrary<unknown>> = {}
  for (const name of Object.keys(properties)) {
    const p = child(pointer, "properties", name)
    entries[name] = ctx.hint?.(name, p, deref(ctx.root, p).schema) ?? arbitraryAt(ctx, p, depth + 1)
  }
  for (const name of required) if (!(name in entries)) entries[name] = fc.jsonValue({ maxDepth: 1 })
  if (Object.keys(properties).length === 0 && schema.additionalProperties !== false) {
    const values = typeof schema.additionalProperties === "object" ? arbitraryAt(ctx, child(pointer, "additionalProperties"), depth + 1) : fc.jsonValue({ maxDepth: 1 })
    return fc.tuple(fc.record(entries), fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), values, { maxKeys: 3 })).map(([r, extra]) => ({ ...extra, ...r }))
  }
  return fc.record(entries, { requiredKeys: required.filter((n) => n in entries) })
}

/** A generated value as ajv sees it: tags unwrapped, binary values as a placeholder string. */
export const plain = (value: unknown): unknown => {
  if (value instanceof Tagged) return plain(value.value)
  if (value instanceof BinaryValue) return "<binary>"
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  return value
}

// ---------------------------------------------------------------------------------------------
// Invalid values

export interface Invalid {
  readonly value: unknown
  /** What was broken: "type", "too-long", "too-short", "range", "enum", "pattern", "format", … */
  readonly why: string
}

const SAMPLES_OF_TYPE: Readonly<Record<JsonType, ReadonlyArray<unknown>>> = {
  string: ["x", "", "12", "true", "null"],
  integer: [0, -1, 42, 2 ** 40],
  number: [1.5, -0.25, 1e300],
  boolean: [true, false],
  object: [{}, { a: 1 }],
  array: [[], ["x"], [1, 2]],
  null: [null]
}

/**
 * Values that violate the schema at `pointer`, or undefined when the schema has nothing to break
 * (an unconstrained string, `{}`). Every candidate is confirmed invalid by ajv (or by a prose rule).
 */
export const invalidAt = (ctx: Context, pointer: string, options: { readonly onlyStrings?: boolean } = {}): fc.Arbitrary<Invalid> | undefined => {
  const { schema, pointer: p } = deref(ctx.root, pointer)
  const candidates: Array<fc.Arbitrary<Invalid>> = []
  const add = (why: string, arb: fc.Arbitrary<unknown>) => candidates.push(arb.map((value) => ({ value, why })))
  const types = typesOf(schema)
  const rule = ruleFor(schema)

  if (types !== undefined) {
    const wrong = TYPES.filter((t) => !types.includes(t) && !(t === "integer" && types.includes("number")))
      .flatMap((t) => SAMPLES_OF_TYPE[t])
      .filter((v) => !options.onlyStrings || typeof v === "string")
    if (wrong.length > 0) add("type", fc.constantFrom(...wrong))
  }
  if (Array.isArray(schema.enum) || "const" in schema) {
    add("enum", fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("UNKNOWN", "lab results", " ", "null")))
  }
  if (types?.includes("string") && schema.format !== "binary") {
    const minLength = num(schema.minLength)
    const maxLength = num(schema.maxLength)
    if (minLength !== undefined && minLength > 0) add("too-short", fc.string({ minLength: minLength - 1, maxLength: minLength - 1 }))
    if (maxLength !== undefined) add("too-long", fc.string({ minLength: maxLength + 1, maxLength: maxLength + 8 }))
    if (typeof schema.pattern === "string" || schema.format === "uuid" || schema.format === "email" || schema.format === "date-time") {
      add(
        typeof schema.pattern === "string" ? "pattern" : "format",
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 40 }),
          fc.constantFrom("", " ", "\t\n", "\u0000", "not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g", "0000000000000000000000000000000", "x@", "@x.y", "a b@c.d", "2024-13-45T99:99:99Z", "1' OR '1'='1"),
          fc.uuid().map((u) => `${u}0`),
          fc.uuid().map((u) => u.slice(1))
        )
      )
    }
    if (rule) candidates.push(rule.rule.invalid(rule.m).map((value) => ({ value, why: "prose-rule" })))
  }
  if ((types?.includes("integer") || types?.includes("number")) && !options.onlyStrings) {
    const { lo, hi } = numberBounds(schema, types.includes("integer") && !types.includes("number"))
    if (Number.isFinite(lo)) add("range", fc.integer({ min: 1, max: 1000 }).map((d) => Math.floor(lo) - d))
    if (Number.isFinite(hi)) add("range", fc.integer({ min: 1, max: 1000 }).map((d) => Math.ceil(hi) + d))
    if (types.includes("integer") && !types.includes("number")) add("not-integer", fc.constantFrom(1.5, 0.1, -2.5))
  }
  if (types?.includes("array")) {
    const minItems = num(schema.minItems)
    const maxItems = num(schema.maxItems)
    const items = "items" in schema ? arbitraryAt(ctx, child(p, "items")) : fc.jsonValue({ maxDepth: 1 })
    if (minItems !== undefined && minItems > 0) add("too-few-items", fc.array(items, { minLength: minItems - 1, maxLength: minItems - 1 }))
    if (maxItems !== undefined) add("too-many-items", fc.array(items, { minLength: maxItems + 1, maxLength: maxItems + 2 }))
  }
  if (types?.includes("object") && !options.onlyStrings) {
    const required = requiredOf(schema)
    if (required.length > 0) {
      add(
        "missing-required",
        fc.tuple(arbitraryAt(ctx, p), fc.constantFrom(...required)).map(([v, drop]) => {
          const copy = { ...(v as Record<string, unknown>) }
          delete copy[drop]
          return copy
        })
      )
    }
  }
  if (candidates.length === 0) return undefined
  return filtered(
    fc.oneof(...candidates),
    ({ value, why }) => {
      if (options.onlyStrings && typeof value !== "string" && !Array.isArray(value)) return false
      if (why === "prose-rule") return typeof value === "string" && rule !== undefined && !rule.rule.holds(rule.m, value)
      return !ctx.validate(pointer, plain(value))
    },
    `a violation of the schema at ${pointer}`
  )
}
