import { Schema } from "effect"
type Json = { [key: string]: unknown }

/** Bedrock tool schemas must be self-contained: replace every `$ref` with its definition. */
const inlineRefs = (schema: Json): Json => {
  const defs = (schema.$defs ?? {}) as Record<string, unknown>
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve)
    if (typeof node !== "object" || node === null) return node
    const ref = (node as Json).$ref
    if (typeof ref === "string" && ref.startsWith("#/$defs/")) return resolve(defs[ref.slice("#/$defs/".length)])
    return Object.fromEntries(
      Object.entries(node as Json)
        .filter(([key]) => key !== "$schema" && key !== "$defs")
        .map(([key, value]) => [key, resolve(value)])
    )
  }
  return resolve(schema) as Json
}

/**
 * Effect 4 derives JSON Schema from a schema's JSON codec, which writes an absent optional key as
 * `null` and a non-finite number as the text "NaN"/"Infinity"/"-Infinity". The tool input is
 * decoded with the schema itself, which takes neither, so the model is told what it takes (as the
 * v3 `JSONSchema.make` output did): an optional key is left out, a number is a number.
 */
const asDecoded = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(asDecoded)
  if (typeof node !== "object" || node === null) return node
  const out = Object.fromEntries(Object.entries(node as Json).map(([key, value]) => [key, asDecoded(value)])) as Json
  const isNull = (branch: unknown) => typeof branch === "object" && branch !== null && (branch as Json).type === "null"
  const isNonFiniteText = (branch: unknown) =>
    typeof branch === "object" && branch !== null && (branch as Json).type === "string" &&
    JSON.stringify((branch as Json).enum) === JSON.stringify(["Infinity", "-Infinity", "NaN"])
  const withoutBranches = (schema: unknown, drop: (branch: unknown) => boolean): unknown => {
    if (typeof schema !== "object" || schema === null || !Array.isArray((schema as Json).anyOf)) return schema
    const { anyOf, ...rest } = schema as Json & { anyOf: Array<unknown> }
    const kept = anyOf.filter((branch) => !drop(branch))
    return kept.length === 1 ? { ...rest, ...(kept[0] as Json) } : { ...rest, anyOf: kept }
  }
  if (typeof out.properties === "object" && out.properties !== null) {
    const required = new Set(Array.isArray(out.required) ? (out.required as Array<unknown>) : [])
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Json).map(([key, value]) => [key, required.has(key) ? value : withoutBranches(value, isNull)])
    )
  }
  return withoutBranches(out, isNonFiniteText)
}

/** The tool's input schema (draft 2020-12, no extra keys), self-contained. */
const toolSchemaOf = (schema: Schema.Constraint): Json => {
  const document = Schema.toJsonSchemaDocument(schema, { onExcessProperty: "error" })
  return inlineRefs(asDecoded({ ...document.schema, $defs: document.definitions }) as Json)
}


class Inner extends Schema.Class<Inner>("Inner")({ a: Schema.Int, b: Schema.optional(Schema.String), f: Schema.Literals(["x","critical_limit"]), v: Schema.Union([Schema.Number, Schema.String]) }) {}
class Outer extends Schema.Class<Outer>("Outer")({ items: Schema.Array(Inner), n: Schema.Number, i2: Inner, d: Schema.optional(Schema.String) }) {}
console.log(JSON.stringify(toolSchemaOf(Outer), null, 1))
