#!/usr/bin/env node
// Effect 3.22 -> 4.1.5 mechanical codemod for Serenya (phase 1 of the port).
//
// Usage (from the repository root):  node docs/effect4/codemod.mjs [--dry] [--no-types] [paths...]
// Default paths: src test bench deploy (*.ts, *.d.ts excluded).
//
// Pass 1 (text, regex + a small balanced-bracket scanner): only renames that docs/effect4/PORTING.md lists as pure
// renames (§2.2 imports, §4 tables, §6 step 2). Pass 2 (TypeScript compiler API, type-aware): `.left`/`.right` ->
// `.failure`/`.success` and `"Left"`/`"Right"` tags, ONLY where the receiver's type is an effect `Result`
// (so `ConfigError.And#left`, PDF layout boxes etc. are untouched).
// The codemod is idempotent: running it twice changes nothing the second time.
// Semantic changes (SqlSchema.findOne, Schema.Date, NumberFromString, HttpApi endpoints, SqlError shape,
// ConfigProvider, TestClock.sleeps, Logger options, FiberRef, Runtime ...) are NOT done; see the report printed at
// the end (`semantic:` lines) for the files that need them.
import fs from "node:fs"
import path from "node:path"
import { createRequire } from "node:module"

const args = process.argv.slice(2)
const DRY = args.includes("--dry")
const NO_TYPES = args.includes("--no-types")
const roots = args.filter((a) => !a.startsWith("--"))
const ROOT = process.cwd()
const dirs = roots.length ? roots : ["src", "test", "bench", "deploy"]

function walk(p, out = []) {
  const st = fs.statSync(p)
  if (st.isDirectory()) {
    for (const e of fs.readdirSync(p)) if (e !== "node_modules" && !e.startsWith(".")) walk(path.join(p, e), out)
  } else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p)
  return out
}
const files = dirs.flatMap((d) => (fs.existsSync(d) ? walk(d) : []))

// ---------------------------------------------------------------------------------------------------------------
// A tiny scanner: find the index of the bracket matching the one at `open`, skipping strings, templates, comments.
const PAIRS = { "(": ")", "[": "]", "{": "}", "<": ">" }
function skipString(s, i) {
  const q = s[i]
  i++
  while (i < s.length) {
    const c = s[i]
    if (c === "\\") { i += 2; continue }
    if (q === "`" && c === "$" && s[i + 1] === "{") { i = matchBracket(s, i + 1) + 1; continue }
    if (c === q) return i + 1
    i++
  }
  return i
}
function matchBracket(s, open) {
  const stack = [PAIRS[s[open]]]
  const angle = s[open] === "<"
  let i = open + 1
  while (i < s.length) {
    const c = s[i]
    if (c === '"' || c === "'" || c === "`") { i = skipString(s, i); continue }
    if (c === "/" && s[i + 1] === "/") { i = s.indexOf("\n", i); if (i < 0) return -1; continue }
    if (c === "/" && s[i + 1] === "*") { i = s.indexOf("*/", i) + 2; continue }
    if (c === "=" && s[i + 1] === ">") { i += 2; continue }
    if (c === "(" || c === "[" || c === "{" || (angle && c === "<")) stack.push(PAIRS[c])
    else if (c === ")" || c === "]" || c === "}" || (angle && c === ">")) {
      if (stack[stack.length - 1] !== c) return -1
      stack.pop()
      if (stack.length === 0) return i
    }
    i++
  }
  return -1
}
// Split the text between brackets into top-level comma-separated parts (raw, with whitespace).
function splitTop(s) {
  const parts = []
  let depth = 0, start = 0, i = 0
  while (i < s.length) {
    const c = s[i]
    if (c === '"' || c === "'" || c === "`") { i = skipString(s, i); continue }
    if (c === "/" && s[i + 1] === "/") { const j = s.indexOf("\n", i); i = j < 0 ? s.length : j; continue }
    if (c === "/" && s[i + 1] === "*") { i = s.indexOf("*/", i) + 2; continue }
    if (c === "=" && s[i + 1] === ">") { i += 2; continue }
    if ("([{".includes(c)) depth++
    else if (")]}".includes(c)) depth--
    else if (c === "," && depth === 0) { parts.push(s.slice(start, i)); start = i + 1 }
    i++
  }
  const last = s.slice(start)
  if (last.trim() !== "" || parts.length) parts.push(last)
  if (parts.length && parts[parts.length - 1].trim() === "") parts.pop() // trailing comma
  return parts
}
// Rewrite every call `<prefix>(args)`; fn(argsRaw[], whole) returns the replacement text or null to keep it.
function rewriteCalls(src, prefixRe, fn) {
  const re = new RegExp(prefixRe.source + "\\(", "g")
  let out = "", last = 0, m
  while ((m = re.exec(src))) {
    const open = m.index + m[0].length - 1
    const close = matchBracket(src, open)
    if (close < 0) continue
    const inner = rewriteCalls(src.slice(open + 1, close), prefixRe, fn) // nested calls first
    const rep = fn(splitTop(inner), inner, m) ?? src.slice(m.index, open + 1) + inner + ")"
    out += src.slice(last, m.index) + rep
    last = close + 1
    re.lastIndex = close + 1
  }
  return out + src.slice(last)
}
const isIdent = (s) => /^[A-Za-z_$][\w$]*$/.test(s)

// ---------------------------------------------------------------------------------------------------------------
// Imports
const HTTP_API = new Set(["HttpApi", "HttpApiBuilder", "HttpApiClient", "HttpApiEndpoint", "HttpApiError", "HttpApiGroup",
  "HttpApiMiddleware", "HttpApiScalar", "HttpApiSchema", "HttpApiSecurity", "HttpApiSwagger", "HttpApiTest", "OpenApi"])
const TO_EFFECT = new Set(["FileSystem", "Path", "PlatformError", "Stdio", "Terminal"])
const TO_PERSISTENCE = new Set(["KeyValueStore", "RateLimiter"])

// parse `{ a, type b, c as d }` -> [{name, alias, type}]
function parseSpecs(body) {
  return body.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
    const type = /^type\s+/.test(s)
    s = s.replace(/^type\s+/, "")
    const [name, alias] = s.split(/\s+as\s+/)
    return { name: name.trim(), alias: alias?.trim(), type }
  })
}
const fmtSpec = (sp, allType) => (sp.type && !allType ? "type " : "") + sp.name + (sp.alias && sp.alias !== sp.name ? ` as ${sp.alias}` : "")
function fmtImport(typeOnly, specs, mod) {
  return `import ${typeOnly ? "type " : ""}{ ${specs.map((s) => fmtSpec(s, typeOnly)).join(", ")} } from "${mod}"`
}

const IMPORT_RE = /import\s+(type\s+)?\{([^}]*)\}\s*from\s*"([^"]+)"/g

function rewriteImports(src, ctx) {
  return src.replace(IMPORT_RE, (whole, typeKw, body, mod) => {
    const typeOnly = !!typeKw
    const specs = parseSpecs(body)
    if (mod === "@effect/platform") {
      const groups = new Map()
      const add = (m, sp) => { if (!groups.has(m)) groups.set(m, []); groups.get(m).push(sp) }
      for (const sp of specs) {
        if (sp.name === "HttpApp") { add("effect/http", { ...sp, name: "HttpEffect" }); if (!sp.alias) ctx.renameHttpApp = true }
        else if (HTTP_API.has(sp.name)) add("effect/http-api", sp)
        else if (TO_EFFECT.has(sp.name)) add("effect", sp)
        else if (TO_PERSISTENCE.has(sp.name)) add("effect/persistence", sp)
        else add("effect/http", sp)
      }
      return [...groups].map(([m, ss]) => fmtImport(typeOnly, ss, m)).join("\n")
    }
    if (mod.startsWith("@effect/platform/")) return fmtImport(typeOnly, specs, "effect/http/" + mod.slice("@effect/platform/".length))
    if (mod === "@effect/sql") return fmtImport(typeOnly, specs, "effect/sql")
    if (mod.startsWith("@effect/sql/")) return fmtImport(typeOnly, specs, "effect/sql/" + mod.slice("@effect/sql/".length))
    if (mod === "@effect/experimental") {
      const r = specs.filter((s) => s.name === "Reactivity"), rest = specs.filter((s) => s.name !== "Reactivity")
      if (rest.length) ctx.notes.add("@effect/experimental import other than Reactivity: " + rest.map((s) => s.name).join(","))
      return [r.length && fmtImport(typeOnly, r, "effect/reactivity"), rest.length && fmtImport(typeOnly, rest, "@effect/experimental")].filter(Boolean).join("\n")
    }
    if (mod === "@effect/platform-node") {
      // the barrel re-exports NodeRedis, which needs `redis`: deep imports (PORTING.md §1)
      return specs.map((s) => `import ${typeOnly || s.type ? "type " : ""}* as ${s.alias ?? s.name} from "@effect/platform-node/${s.name}"`).join("\n")
    }
    if (mod === "@effect/opentelemetry") {
      const keep = [], lines = []
      for (const s of specs) {
        if (s.name === "NodeSdk") lines.push(`import ${typeOnly || s.type ? "type " : ""}* as ${s.alias ?? "NodeSdk"} from "@effect/opentelemetry/NodeSdk"`)
        else if (s.name === "Metrics") { keep.push({ ...s, name: "OtelMetrics" }); if (!s.alias) ctx.idRenames.push(["Metrics", "OtelMetrics"]) }
        else if (s.name === "Tracer") { keep.push({ ...s, name: "OtelTracer" }); if (!s.alias) ctx.idRenames.push(["Tracer", "OtelTracer"]) }
        else if (s.name === "Logger") { keep.push({ ...s, name: "OtelLogger" }); if (!s.alias) ctx.idRenames.push(["Logger", "OtelLogger"]) }
        else keep.push(s)
      }
      if (keep.length) lines.unshift(fmtImport(typeOnly, keep, "@effect/opentelemetry"))
      return lines.join("\n")
    }
    if (mod === "effect" || mod === "@effect/vitest") {
      const keep = [], testing = []
      for (const s of specs) {
        if (s.name === "TestClock" || s.name === "TestConsole") testing.push(s)
        else if (s.name === "Either") { keep.push({ ...s, name: "Result" }); ctx.either = true }
        else keep.push(s)
      }
      // do not duplicate `Result` if both Either and Result were imported
      const seen = new Set()
      const dedup = keep.filter((s) => { const k = s.alias ?? s.name; if (seen.has(k)) return false; seen.add(k); return true })
      if (!testing.length && !ctx.either) return whole
      const lines = []
      if (dedup.length) lines.push(fmtImport(typeOnly, dedup, mod))
      if (testing.length) lines.push(fmtImport(typeOnly, testing, "effect/testing"))
      return lines.join("\n")
    }
    return whole
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Pure renames: [regex, replacement]. Applied after imports.
const RENAMES = [
  // Effect (§4.1)
  [/\bEffect\.catchAllCause\b/g, "Effect.catchCause"],
  [/\bEffect\.catchAllDefect\b/g, "Effect.catchDefect"],
  [/\bEffect\.catchAll\b/g, "Effect.catch"],
  [/\bEffect\.either\b/g, "Effect.result"],
  [/\bEffect\.zipRight\b/g, "Effect.andThen"],
  [/\bEffect\.zipLeft\b/g, "Effect.tap"],
  [/\bEffect\.forkDaemon\b/g, "Effect.forkDetach"],
  [/\bEffect\.fork\b/g, "Effect.forkChild"],
  [/\bEffect\.tapErrorCause\b/g, "Effect.tapCause"],
  [/\bEffect\.orElseFail\b/g, "Effect.mapError"],
  [/\bEffect\.async\b/g, "Effect.callback"],
  // Layer (§4.2)
  [/\bLayer\.scopedDiscard\b/g, "Layer.effectDiscard"],
  [/\bLayer\.scopedContext\b/g, "Layer.effectContext"],
  [/\bLayer\.scoped\b/g, "Layer.effect"],
  [/\bLayer\.unwrapEffect\b/g, "Layer.unwrap"],
  [/\bLayer\.unwrapScoped\b/g, "Layer.unwrap"],
  [/\bStream\.unwrapScoped\b/g, "Stream.unwrap"],
  // Duration (§4.5)
  [/\bDuration\.DurationInput\b/g, "Duration.Input"],
  [/\bDuration\.decode\b/g, "Duration.fromInputUnsafe"],
  [/\bDuration\.lessThan\b/g, "Duration.isLessThan"],
  // Option (§4.6), Exit (§4.7)
  [/\bOption\.fromNullable\b/g, "Option.fromNullishOr"],
  [/\bExit\.isInterrupted\b/g, "Exit.hasInterrupts"],
  // Either -> Result (§4.8)
  [/\bEither\.Either\b/g, "Result.Result"],
  [/\bEither\.isLeft\b/g, "Result.isFailure"],
  [/\bEither\.isRight\b/g, "Result.isSuccess"],
  [/\bEither\.left\b/g, "Result.fail"],
  [/\bEither\.right\b/g, "Result.succeed"],
  [/\bEither\.mapLeft\b/g, "Result.mapError"],
  [/\bEither\.getLeft\b/g, "Result.getFailure"],
  [/\bEither\.getRight\b/g, "Result.getSuccess"],
  [/\bEither\.(match|map|gen|flatMap|getOrElse|getOrThrow|isEither)\b/g, "Result.$1"],
  [/\bonLeft\s*:/g, "onFailure:"],
  [/\bonRight\s*:/g, "onSuccess:"],
  // Cause (§4.9)
  [/\bCause\.failureOption\b/g, "Cause.findErrorOption"],
  [/\bCause\.isInterruptedOnly\b/g, "Cause.hasInterruptsOnly"],
  [/\bCause\.isDie\b/g, "Cause.hasDies"],
  [/\bCause\.sequential\b/g, "Cause.combine"],
  [/\bCause\.TimeoutException\b/g, "Cause.TimeoutError"],
  [/\bCause\.NoSuchElementException\b/g, "Cause.NoSuchElementError"],
  // Scope, Ref, Queue (§4.10)
  [/\bScope\.extend\b/g, "Scope.provide"],
  [/\bScope\.CloseableScope\b/g, "Scope.Closeable"],
  [/\bRef\.unsafeMake\b/g, "Ref.makeUnsafe"],
  [/\bQueue\.unsafeOffer\b/g, "Queue.offerUnsafe"],
  // LogLevel (§4.14): values are string literals
  [/\bLogLevel\.Warning\b/g, '"Warn"'],
  [/\bLogLevel\.(All|Fatal|Error|Info|Debug|Trace|None)\b(?!\s*[<(])/g, '"$1"'],
  [/\bLogLevel\.lessThanEqual\b/g, "LogLevel.isLessThanOrEqualTo"],
  // Metric (§4.15)
  [/\bMetric\.set\b/g, "Metric.update"],
  // HTTP (§4.18, §4.19)
  [/\bHttpClientRequest\.bodyUnsafeJson\b/g, "HttpClientRequest.bodyJsonUnsafe"],
  [/\bHttpClientRequest\.del\b/g, "HttpClientRequest.delete"],
  [/\bHttpServerResponse\.unsafeJson\b/g, "HttpServerResponse.jsonUnsafe"],
  [/\bHttpApiEndpoint\.del\b/g, "HttpApiEndpoint.delete"],
  [/\bHttpServer\.layerContext\b/g, "HttpServer.layerServices"],
  // Schema (§4.3)
  [/\bSchema\.DateFromSelf\b/g, "Schema.Date"],
  [/\bSchema\.Uint8ArrayFromSelf\b/g, "Schema.Uint8Array"],
  [/\bSchema\.decodeUnknownEither\b/g, "Schema.decodeUnknownResult"],
  [/\bSchema\.decodeEither\b/g, "Schema.decodeResult"],
  [/\bSchema\.encodeEither\b/g, "Schema.encodeResult"],
  [/\bSchema\.decodeUnknown\b(?!\w)/g, "Schema.decodeUnknownEffect"],
  [/\bSchema\.encodeUnknown\b(?!\w)/g, "Schema.encodeUnknownEffect"],
  [/\bSchema\.decode\(/g, "Schema.decodeEffect("],
  [/\bSchema\.encode\(/g, "Schema.encodeEffect("],
  [/\bSchema\.encodedSchema\b/g, "Schema.toEncoded"],
  [/\bSchema\.typeSchema\b/g, "Schema.toType"],
  [/\bSchema\.UUID\b/g, "Schema.String.check(Schema.isUUID())"],
  [/\bSchema\.NonNegativeInt\b/g, "Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))"],
  [/\bSchema\.NonEmptyTrimmedString\b/g, "Schema.Trimmed.check(Schema.isNonEmpty())"],
  [/(?<!HttpApiSchema)\.annotations\(/g, ".annotate("],
  // Config (§4.13): capitalised constructors
  [/\bConfig\.string\b/g, "Config.String"],
  [/\bConfig\.redacted\b/g, "Config.Redacted"],
  [/\bConfig\.boolean\b/g, "Config.Boolean"],
  [/\bConfig\.integer\b/g, "Config.Int"],
  [/\bConfig\.port\b/g, "Config.Port"],
  [/\bConfig\.number\b/g, "Config.Number"],
  [/\bConfig\.duration\b/g, "Config.Duration"],
  [/\bConfig\.url\b/g, "Config.URL"],
  [/\bConfig\.nonEmptyString\b/g, "Config.NonEmptyString"],
  // namespaced helper types
  [/\bEffect\.Effect\.Context</g, "Effect.Services<"],
  [/\bEffect\.Effect\.Success</g, "Effect.Success<"],
  [/\bEffect\.Effect\.Error</g, "Effect.Error<"],
  [/\bLayer\.Layer\.Context</g, "Layer.Services<"],
  [/\bLayer\.Layer\.Success</g, "Layer.Success<"],
  [/\bLayer\.Layer\.Error</g, "Layer.Error<"],
  [/\bHttpApi\.HttpApi\.(Any|AnyWithProps)\b/g, "HttpApi.Top"],
  // Clock service methods
  [/\.unsafeCurrentTimeMillis\(/g, ".currentTimeMillisUnsafe("],
  [/\.unsafeCurrentTimeNanos\(/g, ".currentTimeNanosUnsafe("],
  // @effect/vitest (§4.20)
  [/\bit\.scopedLive\b/g, "it.live"],
  [/\bit\.scoped\b/g, "it.effect"],
]

// Calls whose arguments change shape.
function rewriteShapes(src) {
  // Context.Tag("Id")<Self, Shape>()  ->  Context.Service<Self, Shape>()("Id")       (§4.4)
  {
    const re = /\bContext\.Tag\(/g
    let out = "", last = 0, m
    while ((m = re.exec(src))) {
      const open = m.index + m[0].length - 1
      const close = matchBracket(src, open)
      if (close < 0) continue
      const id = src.slice(open + 1, close)
      let j = close + 1
      while (/\s/.test(src[j])) j++
      if (src[j] !== "<") continue
      const gclose = matchBracket(src, j)
      if (gclose < 0) continue
      const generics = src.slice(j, gclose + 1)
      let k = gclose + 1
      while (/\s/.test(src[k])) k++
      if (src[k] !== "(" || src[k + 1] !== ")") continue
      out += src.slice(last, m.index) + `Context.Service${generics}()(${id})`
      last = k + 2
      re.lastIndex = k + 2
    }
    src = out + src.slice(last)
  }
  // Effect.dieMessage(m) -> Effect.die(new Error(m))
  src = rewriteCalls(src, /\bEffect\.dieMessage/, (a, inner) => `Effect.die(new Error(${inner.trim()}))`)
  // Effect.timeoutFail({ duration, onTimeout: f }) -> Effect.timeoutOrElse({ duration, orElse: () => Effect.fail(f()) })
  src = rewriteCalls(src, /\bEffect\.timeoutFail/, (a, inner) => {
    const objIdx = inner.lastIndexOf("{")
    const om = /\bonTimeout\s*:/.exec(inner)
    if (objIdx < 0 || !om) return null
    const start = om.index + om[0].length
    // value runs to the next top-level comma or the end of the object
    const rest = inner.slice(start)
    const parts = splitTop(rest.replace(/\}\s*$/, ""))
    const value = parts[0]
    const v = value.trim()
    const arrow = /^\(\s*\)\s*=>\s*(?![\s{])([\s\S]*)$/.exec(v)
    const repl = arrow ? `() => Effect.fail(${arrow[1].trim()})` : `() => Effect.fail((${v})())`
    const lead = value.match(/^\s*/)[0], trail = value.match(/\s*$/)[0]
    return `Effect.timeoutOrElse(${inner.slice(0, om.index)}orElse:${lead}${repl}${trail}${inner.slice(start + value.length)})`
  })
  // Schema.Literal(a, b, ...) -> Schema.Literals([a, b, ...])       (§4.3)
  src = rewriteCalls(src, /\bSchema\.Literal/, (a) =>
    a.length > 1 ? `Schema.Literals([${a.map((x) => x.trim()).join(", ")}])` :
      a.length === 1 && /^\s*\.\.\./.test(a[0]) ? `Schema.Literals(${a[0].trim().slice(3)})` : null)
  // Schema.Union(a, b) / Schema.Tuple(a, b) -> array argument
  for (const f of ["Union", "Tuple"]) {
    src = rewriteCalls(src, new RegExp(`\\bSchema\\.${f}`), (a) => {
      if (a.length === 1 && /^\s*\[/.test(a[0])) return null // already 4.x
      if (a.length === 1 && /^\s*\.\.\./.test(a[0])) return `Schema.${f}(${a[0].trim().slice(3)})`
      return `Schema.${f}([${a.map((x) => x.trim()).join(", ")}])`
    })
  }
  // Schema.parseJson(s) -> Schema.fromJsonString(s); bare parseJson() -> fromJsonString(Schema.Unknown)
  src = rewriteCalls(src, /\bSchema\.parseJson/, (a, inner) =>
    a.length === 0 ? "Schema.fromJsonString(Schema.Unknown)" : a.length === 1 ? `Schema.fromJsonString(${inner.trim()})` : null)
  // Schema.maxLength(n) (pipeable filter) -> Schema.check(Schema.isMaxLength(n))   (§4.3)
  src = rewriteCalls(src, /\bSchema\.(maxLength|minLength|pattern|greaterThanOrEqualTo|lessThanOrEqualTo|greaterThan|lessThan)/, (a, inner, m) => {
    const f = m[1]
    if (a.length !== 1) return null // a second (annotations) argument: leave for the Schema phase
    return `Schema.check(Schema.is${f[0].toUpperCase()}${f.slice(1)}(${inner.trim()}))`
  })
  // Schema.int() / finite() / positive() / nonNegative() / between(a, b) pipeable filters -> Schema.check(...)
  src = rewriteCalls(src, /\bSchema\.(int|finite|positive|nonNegative|negative|between)/, (a, inner, m) => {
    const f = m[1]
    if (f === "between") return a.length === 2 ? `Schema.check(Schema.isBetween({ minimum: ${a[0].trim()}, maximum: ${a[1].trim()} }))` : null
    if (a.length !== 0) return null
    const check = { int: "Schema.isInt()", finite: "Schema.isFinite()", positive: "Schema.isGreaterThan(0)",
      nonNegative: "Schema.isGreaterThanOrEqualTo(0)", negative: "Schema.isLessThan(0)" }[f]
    return `Schema.check(${check})`
  })
  // Schema.Schema<A, I, R> -> Schema.Codec<A, I, R> (a one-argument Schema.Schema<A> is still valid)
  {
    const re = /\bSchema\.Schema</g
    let out = "", last = 0, m
    while ((m = re.exec(src))) {
      const open = m.index + m[0].length - 1
      const close = matchBracket(src, open)
      if (close < 0) continue
      const targs = splitTop(src.slice(open + 1, close).replace(/=>/g, "=:").replace(/</g, "(").replace(/>/g, ")"))
      if (targs.length < 2) continue
      out += src.slice(last, m.index) + "Schema.Codec<"
      last = open + 1
    }
    src = out + src.slice(last)
  }
  // Config.literal(a, b)("NAME") -> Config.Literals([a, b], "NAME")
  {
    const re = /\bConfig\.literal\(/g
    let out = "", last = 0, m
    while ((m = re.exec(src))) {
      const open = m.index + m[0].length - 1
      const close = matchBracket(src, open)
      if (close < 0) continue
      const lits = splitTop(src.slice(open + 1, close)).map((x) => x.trim())
      let name = null, end = close + 1
      if (src[close + 1] === "(") {
        const c2 = matchBracket(src, close + 1)
        name = src.slice(close + 2, c2).trim()
        end = c2 + 1
      }
      const arr = lits.length === 1 && lits[0].startsWith("...") ? lits[0].slice(3) : `[${lits.join(", ")}]`
      out += src.slice(last, m.index) + `Config.Literals(${arr}${name ? ", " + name : ""})`
      last = end
      re.lastIndex = end
    }
    src = out + src.slice(last)
  }
  // Metric.tagged(m, k, v) -> Metric.withAttributes(m, { k: v }); pipeable (k, v) -> Metric.withAttributes({ k: v })
  const attr = (k, v) => {
    k = k.trim(); v = v.trim()
    const lit = /^["'](.*)["']$/.exec(k)
    const key = lit ? (isIdent(lit[1]) ? lit[1] : k) : `[${k}]`
    return `{ ${key}: ${v} }`
  }
  src = rewriteCalls(src, /\bMetric\.tagged/, (a) =>
    a.length === 3 ? `Metric.withAttributes(${a[0].trim()}, ${attr(a[1], a[2])})` :
      a.length === 2 ? `Metric.withAttributes(${attr(a[0], a[1])})` : null)
  // Metric.increment(c) -> Metric.update(c, 1); Metric.incrementBy(c, n) -> Metric.update(c, n)
  src = rewriteCalls(src, /\bMetric\.increment/, (a) => (a.length === 1 ? `Metric.update(${a[0].trim()}, 1)` : null))
  src = rewriteCalls(src, /\bMetric\.incrementBy/, (a) => (a.length === 2 ? `Metric.update(${a[0].trim()}, ${a[1].trim()})` : null))
  return src
}

// ---------------------------------------------------------------------------------------------------------------
// Semantic hot spots: reported, never rewritten (PORTING.md §5, §7 and the "gone" rows of §4).
const SEMANTIC = [
  [/\bSqlSchema\.(findOne|single)\b/, "§7.2 SqlSchema.findOne -> findOneOption / single -> findOne"],
  [/\bSchema\.Date\b(?!From)/, "§7.3 Schema.Date (v3 ISO-string codec) -> DateFromString outside HttpApi  [NB: v3 DateFromSelf was renamed to Schema.Date by this codemod; check the v3 file]"],
  [/\bSchema\.NumberFromString\b/, "§7.4 NumberFromString/Number accept NaN -> FiniteFromString/Finite"],
  [/\bisDatabaseOutage\b|\.cause\.code\b|\berrorCode\((?:error|e|err)\.cause\)/, "§7.1 SqlError.cause is the reason (SQLSTATE at reason.cause.code)"],
  [/\bHttpApiEndpoint\.(get|post|put|patch|delete|del|head|options|make)\b|\.addError\(|\.addSuccess\(|\.setPayload\(|\.setPath\(|\.setUrlParams\(|\.setHeaders\(/, "§4.18/§7.5 HttpApi endpoint definitions (options object, errors, status)"],
  [/\bHttpApiBuilder\.(api|serve|middleware|middlewareOpenApi|toWebHandler)\b|HttpApp\.|HttpEffect\.(toWebHandler|Default)|\bHttpApiMiddleware\.Tag\b/, "§4.18/§7.6 HttpApiBuilder/HttpApp serving, middleware"],
  [/\bPgClient\.(layer|make|fromPool)\b|makeBoundedPool|makeBoundedClient|\bSqlClient\.make\b|Effect\.disconnect/, "§7.7/§7.8 SQL client wrappers, PgClient options, disconnect"],
  [/\bConfigProvider\.|\bConfigError\b|\bConfig\.(mapOrFail|validate|array)\b/, "§7.10 ConfigProvider / ConfigError / Config.validate,mapOrFail"],
  [/\bTestClock\.sleeps\b|\bSchedule\.(run|delays|intersect)\b|\bRandom\.make\b|Effect\.withRandom/, "§7.9 Schedule.run/delays/intersect, TestClock.sleeps, Random"],
  [/\bLogger\.(make|replace|remove|minimumLogLevel|add)\b|\.logLevel\.label\b|\bInspectable\./, "§7.10/§4.14 Logger options, Logger.replace/minimumLogLevel, Inspectable"],
  [/\bFiberRef\b|\bFiberRefs\b|\bFiberId\b|Effect\.locally|withFiberRuntime|Layer\.setTracerEnabled/, "§4.12 FiberRef/FiberRefs/FiberId -> References/Context.Reference"],
  [/\bRuntime\.run|Effect\.runtime\b|Layer\.toRuntime\b/, "§4.17 Runtime.runPromise -> Effect.runPromiseWith(context)"],
  [/\bParseResult\b|\bJSONSchema\b|JSONSchemaAnnotationId|\bArbitrary\.make\b|\bFastCheck\b|\bMetricBoundaries\b/, "§4.3 ParseResult/JSONSchema/Arbitrary/FastCheck/MetricBoundaries"],
  [/\bSchema\.(optionalWith|filter|transform|transformOrFail|propertySignature|fromKey|positive|NonNegative|int|finite|between|brand|Schema)\b|\bSchema\.(TaggedError|Class)\b[^;]*\.annotations/, "§4.3 Schema API changes (optionalWith, filter, transform, propertySignature...)"],
  [/\bEffect\.(withConfigProvider|withClock|tapBoth|orElse|makeSemaphore|unsafeMakeSemaphore|Service)\b|\bHttpClient\.currentTracerPropagation|Multipart\.withLimits|HttpIncomingMessage\.withMaxBodySize|HttpMiddleware\.withTracerDisabledWhen|Cause\.(failures|defects|dieOption|isEmpty)\b|Layer\.project|Clock\.make/, "§4 other non-rename replacements"],
  [/\bfrom "@effect\/sql\/SqlError"|\bnew SqlError\(|RequestError/, "§4.21 SqlError / HttpServerError construction"],
]

// ---------------------------------------------------------------------------------------------------------------
const report = { changed: [], semantic: new Map(), notes: new Set() }
// Names of the v3 `Context.Tag` / `Context.Reference` classes: `X["Type"]` (the v3 service shape) -> `(typeof X)["Service"]`
const serviceNames = new Set()
for (const f of files) {
  for (const m of fs.readFileSync(f, "utf8").matchAll(/class\s+(\w+)\s+extends\s+(?:Context\.(?:Tag|Service|Reference)|Effect\.Service)\b/g)) serviceNames.add(m[1])
}
const original = new Map()
for (const f of files) {
  let src = fs.readFileSync(f, "utf8")
  original.set(f, src)
  const v3 = src
  for (const [re, label] of SEMANTIC) if (re.test(v3)) {
    if (!report.semantic.has(label)) report.semantic.set(label, new Set())
    report.semantic.get(label).add(f)
  }
  const ctx = { either: false, renameHttpApp: false, idRenames: [], notes: report.notes }
  src = rewriteImports(src, ctx)
  if (ctx.renameHttpApp) src = src.replace(/\bHttpApp\.(appendPreResponseHandler|withPreResponseHandler|toWebHandler\w*|fromWebHandler)\b/g, "HttpEffect.$1")
  for (const [a, b] of ctx.idRenames) src = src.replace(new RegExp(`(?<![.\\w$])${a}\\.`, "g"), `${b}.`)
  for (const [re, rep] of RENAMES) src = src.replace(re, rep)
  src = rewriteShapes(src)
  src = src.replace(/(?<![.\w$])(\w+)\["Type"\]/g, (w, n) => (serviceNames.has(n) ? `(typeof ${n})["Service"]` : w))
  // `Either` used as a bare namespace after the import rename (e.g. `typeof Either`)
  if (ctx.either) src = src.replace(/(?<![.\w$"'])Either\.(?=[A-Za-z])/g, "Result.")
  if (src !== v3) {
    report.changed.push(f)
    if (!DRY) fs.writeFileSync(f, src)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pass 2: type-aware `.left/.right` -> `.failure/.success` and `"Left"/"Right"` -> `"Failure"/"Success"` on Results.
if (!NO_TYPES && !DRY) {
  const require = createRequire(path.join(ROOT, "package.json"))
  const ts = require("typescript")
  const cfgPath = ts.findConfigFile(ROOT, ts.sys.fileExists, "tsconfig.json")
  const cfg = ts.getParsedCommandLineOfConfigFile(cfgPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })
  const program = ts.createProgram({ rootNames: cfg.fileNames, options: { ...cfg.options, noEmit: true } })
  const checker = program.getTypeChecker()
  const wanted = new Set(files.map((f) => path.resolve(f)))
  const isResultType = (t) => {
    const parts = t.isUnion() ? t.types : [t]
    return parts.length > 0 && parts.every((p) => {
      const sym = p.aliasSymbol ?? p.getSymbol()
      const decl = sym?.declarations?.[0]
      const file = decl?.getSourceFile().fileName ?? ""
      return /effect\/dist\/Result\.d\.ts$/.test(file) && ["Success", "Failure", "Result"].includes(sym.getName())
    })
  }
  let edits = 0
  for (const sf of program.getSourceFiles()) {
    if (!wanted.has(path.resolve(sf.fileName))) continue
    const reps = [] // [start, end, text]
    const isEffectType = (t) => t && (t.isUnion() ? t.types : [t]).some((p) => {
      const sym = p.aliasSymbol ?? p.getSymbol()
      return sym?.getName() === "Effect" && /effect\/dist\/Effect\.d\.ts$/.test(sym.declarations?.[0]?.getSourceFile().fileName ?? "")
    })
    // v3 Either was an Effect; a Result is not: wrap a Result used where an Effect is expected in Effect.fromResult(...)
    const wrapResult = (e) => {
      reps.push([e.getStart(sf), e.getStart(sf), "Effect.fromResult("])
      reps.push([e.getEnd(), e.getEnd(), ")"])
    }
    const enclosingGenCall = (node) => {
      for (let n = node.parent; n; n = n.parent) {
        if ((ts.isFunctionExpression(n) || ts.isFunctionDeclaration(n)) && n.asteriskToken) {
          const c = n.parent
          return c && ts.isCallExpression(c) ? c.expression.getText(sf) : ""
        }
      }
      return ""
    }
    const visit = (node) => {
      if (ts.isYieldExpression(node) && node.asteriskToken && node.expression && isResultType(checker.getTypeAtLocation(node.expression))) {
        if (/^Effect\.(gen|fn|fnUntraced)\b/.test(enclosingGenCall(node))) wrapResult(node.expression)
      } else if (ts.isCallExpression(node)) {
        for (const a of node.arguments) {
          if (ts.isSpreadElement(a)) continue
          if (isResultType(checker.getTypeAtLocation(a)) && isEffectType(checker.getContextualType(a))) wrapResult(a)
        }
      }
      // Schema.Class constructors: v3 `new X(props, true)` (disableValidation) -> `new X(props, { disableChecks: true })`
      if (ts.isNewExpression(node) && node.arguments?.length === 2 && node.arguments[1].kind === ts.SyntaxKind.TrueKeyword) {
        const pt = checker.getContextualType(node.arguments[1])
        const names = pt ? (pt.isUnion() ? pt.types : [pt]).map((t) => t.getSymbol()?.getName()) : []
        if (names.includes("MakeOptions")) reps.push([node.arguments[1].getStart(sf), node.arguments[1].getEnd(), "{ disableChecks: true }"])
      }
      if (ts.isPropertyAccessExpression(node) && ["left", "right", "_tag"].includes(node.name.text)) {
        // the flow type can be `never` when a v3 test (`x._tag === "Right"`) no longer overlaps: use the declared type too
        const t = checker.getTypeAtLocation(node.expression)
        const sym = ts.isIdentifier(node.expression) ? checker.getSymbolAtLocation(node.expression) : undefined
        const declared = sym?.valueDeclaration ? checker.getTypeOfSymbolAtLocation(sym, sym.valueDeclaration) : undefined
        if (isResultType(t) || (declared && isResultType(declared))) {
          const n = node.name.text
          if (n === "left" || n === "right") reps.push([node.name.getStart(sf), node.name.getEnd(), n === "left" ? "failure" : "success"])
          else {
            // x._tag === "Left" / x._tag !== "Right" / expect(x._tag).toBe("Left") / switch (x._tag) { case "Left": }
            const lit = (e) => e && ts.isStringLiteral(e) && (e.text === "Left" || e.text === "Right")
            const fix = (e) => reps.push([e.getStart(sf) + 1, e.getEnd() - 1, e.text === "Left" ? "Failure" : "Success"])
            const p = node.parent
            if (ts.isBinaryExpression(p)) { if (lit(p.left)) fix(p.left); if (lit(p.right)) fix(p.right) }
            if (ts.isCallExpression(p) && p.parent && ts.isPropertyAccessExpression(p.parent) && ts.isCallExpression(p.parent.parent)) {
              for (const a of p.parent.parent.arguments) if (lit(a)) fix(a)
            }
            if (ts.isSwitchStatement(p)) for (const c of p.caseBlock.clauses) if (ts.isCaseClause(c) && lit(c.expression)) fix(c.expression)
          }
        }
      }
      ts.forEachChild(node, visit)
    }
    visit(sf)
    if (reps.length) {
      let text = fs.readFileSync(sf.fileName, "utf8")
      reps.sort((a, b) => b[0] - a[0])
      for (const [s, e, r] of reps) text = text.slice(0, s) + r + text.slice(e)
      fs.writeFileSync(sf.fileName, text)
      edits += reps.length
      const rel = path.relative(ROOT, sf.fileName)
      if (!report.changed.includes(rel)) report.changed.push(rel)
    }
  }
  console.log(`pass 2 (type-aware Result fields/tags, Schema.Class make options): ${edits} edits`)
}

console.log(`changed ${report.changed.length} of ${files.length} files`)
for (const n of report.notes) console.log("note:", n)
for (const [label, fs_] of report.semantic) {
  console.log(`semantic: ${label}`)
  for (const f of [...fs_].sort()) console.log(`  ${f}`)
}
