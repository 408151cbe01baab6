/**
 * Core effect 4.1.5 replacements for what Serenya uses (compiled with the project's tsconfig flags, then run).
 */
import {
  Cause, Clock, Config, ConfigProvider, Context, Data, Duration, Effect, Exit, Fiber, Layer, Logger, LogLevel,
  ManagedRuntime, Metric, Option, Redacted, References, Ref, Result, Schedule, Schema, SchemaGetter, SchemaIssue,
  SchemaTransformation, Scope, Semaphore, JsonSchema
} from "effect"

const out = (k: string, v: unknown) => console.log(k.padEnd(52), typeof v === "string" ? v : JSON.stringify(v))

// ---- services --------------------------------------------------------------------------
class Db extends Context.Service<Db, { readonly ping: Effect.Effect<string> }>()("Db") {}
const RequestId = Context.Reference<string>("RequestId", { defaultValue: () => "unknown" })
let builds = 0
const DbLive = Layer.effect(Db, Effect.sync(() => { builds++; return { ping: Effect.succeed("pong") } }))

// ---- errors ----------------------------------------------------------------------------
class NotFound extends Data.TaggedError("NotFound")<{ readonly id: string }> {}
class Invalid extends Schema.TaggedError<Invalid>()("Invalid", { field: Schema.String }) {}

// ---- Schema ------------------------------------------------------------------------------
const UserId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("UserId"))
type UserId = typeof UserId.Type
class Account extends Schema.Class<Account>("Account")({
  id: UserId,
  email: Schema.String.check(Schema.isMaxLength(254), Schema.isPattern(/@/)),
  age: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),              // was Schema.NonNegativeInt
  plan: Schema.Literals(["free", "pro"]),                                // was Schema.Literal("free", "pro")
  createdAt: Schema.Date,                                                // was Schema.DateFromSelf
  nickname: Schema.optional(Schema.String),
  tags: Schema.Array(Schema.String).pipe(Schema.withDecodingDefault(Effect.succeed([]))) // was optionalWith({ default })
}) {}
// snake_case wire keys: was Schema.propertySignature(...).pipe(Schema.fromKey("full_name"))
const Person = Schema.Struct({ fullName: Schema.String }).pipe(Schema.encodeKeys({ fullName: "full_name" }))
// was Schema.transform(Literal("on","off"), Boolean, ...)
const OnOff = Schema.Literals(["on", "off"]).pipe(Schema.decodeTo(Schema.Boolean, SchemaTransformation.transform({ decode: (s) => s === "on", encode: (b) => (b ? "on" : "off") })))
// was Schema.transformOrFail with an effectful encode that reads a fiber-local value (our errors.ts)
const Stamped = Schema.Struct({ body: Schema.String, requestId: Schema.String }).pipe(Schema.decodeTo(Schema.String, {
  decode: SchemaGetter.transform((s: { body: string }) => s.body),
  encode: SchemaGetter.transformEffect((body: string) => Effect.map(RequestId, (requestId: string) => ({ body, requestId })))
}))
// was Schema.filter(pred) with a message
const Even = Schema.Number.check(Schema.makeFilter((n) => n % 2 === 0 || "must be even"))

const program = Effect.gen(function*() {
  // Schema behaviour changes
  out("Schema.Date.decodeUnknown('2026-01-01')", String(Schema.decodeUnknownExit(Schema.Date)("2026-01-01")).slice(0, 90))
  out("Schema.DateFromString.decodeUnknown('2026-01-01')", String(Schema.decodeUnknownSync(Schema.DateFromString)("2026-01-01").toISOString()))
  out("Schema.NumberFromString('abc')", String(Schema.decodeUnknownExit(Schema.NumberFromString)("abc")))
  out("Schema.FiniteFromString('abc')", String(Schema.decodeUnknownExit(Schema.FiniteFromString)("abc")).slice(0, 90))
  out("Schema.Number(NaN)", String(Schema.decodeUnknownExit(Schema.Number)(NaN)))
  out("Schema.Finite(NaN)", String(Schema.decodeUnknownExit(Schema.Finite)(NaN)).slice(0, 80))
  const acc = Schema.decodeUnknownSync(Account)({ id: "7c9e6679-7425-40de-944b-e07fc1f90ae7", email: "a@b", age: 3, plan: "pro", createdAt: new Date(0) })
  out("Account decoded (tags default)", { tags: acc.tags, isAccount: acc instanceof Account })
  const bad = Schema.decodeUnknownExit(Account)({ id: "x", email: "nope", age: -1, plan: "gold", createdAt: "2026" })
  if (Exit.isFailure(bad)) {
    const err = Cause.findErrorOption(bad.cause)
    if (Option.isSome(err) && Schema.isSchemaError(err.value)) {
      out("SchemaError.message (default: first issue only)", err.value.message.split("\n").slice(0, 3).join(" | "))
      out("StandardSchemaV1 formatter (≈ ArrayFormatter)", SchemaIssue.makeFormatterStandardSchemaV1()(err.value.issue).issues.map((i) => `${i.path?.join(".")}: ${i.message}`))
    }
  }
  const allErrors = Schema.decodeUnknownExit(Account)({ id: "x", email: "nope", age: -1, plan: "gold", createdAt: "2026" }, { errors: "all" })
  if (Exit.isFailure(allErrors)) {
    const e = Cause.squash(allErrors.cause) as Schema.SchemaError
    out("{ errors: 'all' } StandardSchemaV1 issues", SchemaIssue.makeFormatterStandardSchemaV1()(e.issue).issues.length)
  }
  out("encodeKeys", Schema.encodeSync(Person)({ fullName: "Ada" }))
  out("decodeTo+transform", Schema.decodeUnknownSync(OnOff)("on"))
  out("encode with services (transformEffect)", yield* Schema.encodeEffect(Stamped)("hi").pipe(Effect.provideService(RequestId, "rid-7")))
  out("makeFilter message", String(Schema.decodeUnknownExit(Even)(3)))
  out("Schema.is", Schema.is(UserId)("7c9e6679-7425-40de-944b-e07fc1f90ae7"))
  out("decodeUnknownOption", Option.isNone(Schema.decodeUnknownOption(Schema.Int)(1.5)))
  out("decodeUnknownResult (was decodeUnknownEither)", Result.isFailure(Schema.decodeUnknownResult(Schema.Int)(1.5)))
  out("fromJsonString (was parseJson)", Schema.decodeUnknownSync(Schema.fromJsonString(Schema.Struct({ a: Schema.Number })))("{\"a\":1}"))
  out("TaggedError is yieldable + Schema", yield* Effect.flip(new Invalid({ field: "x" })).pipe(Effect.map((e) => e._tag)))
  out("Schema.toJsonSchemaDocument (was JSONSchema.make)", JSON.stringify(JsonSchema.toDocumentDraft07(Schema.toJsonSchemaDocument(Schema.Struct({ a: Schema.Int.annotate({ description: "an int" }) })))).slice(0, 160))

  // Result (was Either)
  const r: Result.Result<number, string> = Result.fail("no")
  out("Result.isFailure / getFailure", [Result.isFailure(r), Option.getOrNull(Result.getFailure(r))])
  out("Effect.result (was Effect.either)", Result.isFailure(yield* Effect.result(Effect.fail(new NotFound({ id: "1" })))))

  // catch renames
  out("Effect.catch (was catchAll)", yield* Effect.fail(new NotFound({ id: "1" })).pipe(Effect.catch((e) => Effect.succeed(e._tag))))
  out("Effect.catchCause (was catchAllCause)", yield* Effect.die("x").pipe(Effect.catchCause((c) => Effect.succeed(Cause.hasDies(c)))))
  out("Effect.catchDefect (was catchAllDefect)", yield* Effect.die(new Error("d")).pipe(Effect.catchDefect((d) => Effect.succeed(String(d)))))
  out("Effect.timeoutOrElse (was timeoutFail)", String(yield* Effect.exit(Effect.never.pipe(Effect.timeoutOrElse({ duration: "10 millis", orElse: () => Effect.fail(new NotFound({ id: "t" })) })))))
  out("Effect.timeout -> Cause.TimeoutError", String(yield* Effect.exit(Effect.never.pipe(Effect.timeout("10 millis")))))
  out("Effect.andThen (was zipRight)", yield* Effect.void.pipe(Effect.andThen(Effect.succeed(1))))
  out("Effect.callback (was Effect.async)", yield* Effect.callback<number>((resume) => { setTimeout(() => resume(Effect.succeed(42)), 1) }))

  // Cause shape
  const cause = Cause.combine(Cause.fail("a"), Cause.die("b"))
  out("Cause.reasons tags", cause.reasons.map((x) => x._tag))
  out("Cause.findErrorOption (was failureOption)", Option.getOrNull(Cause.findErrorOption(cause)))
  out("Cause.hasInterruptsOnly (was isInterruptedOnly)", Cause.hasInterruptsOnly(Cause.interrupt()))

  // Fork / Fiber / Ref / Deferred (no longer Effect subtypes)
  const ref = yield* Ref.make(0)
  const fiber = yield* Effect.forkChild(Ref.updateAndGet(ref, (n) => n + 1))
  out("forkChild + Fiber.join (fork renamed)", yield* Fiber.join(fiber))

  // Layer memoisation across Effect.provide
  builds = 0
  yield* Db.use((db) => db.ping).pipe(Effect.provide(DbLive), Effect.provide(DbLive))
  out("builds with two Effect.provide(DbLive)", builds)
  builds = 0
  yield* Db.use((db) => db.ping).pipe(Effect.provide(DbLive), Effect.provide(DbLive, { local: true }))
  out("builds with { local: true } on the outer", builds)

  // References (was FiberRef)
  out("References.MinimumLogLevel default", yield* References.MinimumLogLevel)
  out("provideService(References.MinimumLogLevel)", yield* Effect.provideService(References.MinimumLogLevel, References.MinimumLogLevel, "Debug"))
  out("LogLevel.isLessThanOrEqualTo('Info','Warn')", LogLevel.isLessThanOrEqualTo("Info", "Warn"))
  out("annotations via References.CurrentLogAnnotations", yield* Effect.annotateLogs(References.CurrentLogAnnotations, "requestId", "rid-1"))
  out("References.TracerEnabled default", yield* References.TracerEnabled)

  // Config / ConfigProvider (was fromMap)
  const cfg = Config.all({
    url: Config.Redacted("DATABASE_URL"),
    port: Config.Port("PORT").pipe(Config.withDefault(8080)),
    max: Config.Int("DB_MAX").pipe(Config.withDefault(20)),
    stage: Config.Literals(["dev", "prod"], "STAGE"),
    region: Config.option(Config.String("AWS_REGION"))
  })
  const provider = ConfigProvider.fromEnv({ env: { DATABASE_URL: "postgres://x", STAGE: "dev", DB_MAX: "5" } })
  const c = yield* cfg.pipe(Effect.provideService(ConfigProvider.ConfigProvider, provider))
  out("Config via ConfigProvider.fromEnv({ env })", { url: Redacted.value(c.url), port: c.port, max: c.max, stage: c.stage, region: Option.isNone(c.region) })
  const badCfg = yield* Effect.exit(Config.Int("DB_MAX").pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: { DB_MAX: "x" } }))))
  out("ConfigError on bad int", String(badCfg).slice(0, 110))

  // Metric (tagged -> withAttributes, increment -> update)
  const counter = Metric.counter("requests_total", { description: "requests" })
  yield* Metric.update(Metric.withAttributes(counter, { route: "/x" }), 1)
  yield* Metric.update(Metric.withAttributes(counter, { route: "/x" }), 2)
  out("Metric.value(counter withAttributes)", yield* Metric.value(Metric.withAttributes(counter, { route: "/x" })))
  const hist = Metric.histogram("latency_ms", { boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 5 }) })
  yield* Metric.update(hist, 3)

  // Schedule (intersect -> max), Duration.Input
  const d: Duration.Input = "2 seconds"
  out("Duration.fromInput (was Duration.decode)", Duration.toMillis(Duration.fromInputUnsafe(d)))
  const policy = Schedule.max([Schedule.exponential("10 millis").pipe(Schedule.jittered), Schedule.recurs(2)])
  let attempts = 0
  yield* Effect.exit(Effect.suspend(() => { attempts++; return Effect.fail("x") }).pipe(Effect.retry(policy)))
  out("retry exponential ∩ recurs(2) attempts", attempts)

  // Scope.provide (was Scope.extend)
  const scope = yield* Scope.make()
  const log: Array<string> = []
  yield* Effect.acquireRelease(Effect.sync(() => log.push("open")), () => Effect.sync(() => log.push("close"))).pipe(Scope.provide(scope))
  yield* Scope.close(scope, Exit.void)
  out("Scope.provide + close", log)

  // Semaphore (was Effect.makeSemaphore)
  const sem = yield* Semaphore.make(1)
  out("Semaphore.withPermits", yield* Semaphore.withPermits(sem, 1)(Effect.succeed("ok")))

  // Clock
  out("Clock.currentTimeMillis > 0", (yield* Clock.currentTimeMillis) > 0)
})

await Effect.runPromise(program.pipe(Effect.provide(Logger.layer([Logger.consoleJson]))))

// ManagedRuntime + running with a captured Context (was Runtime.runPromise(runtime))
const rt = ManagedRuntime.make(DbLive)
console.log("ManagedRuntime.runPromise".padEnd(52), await rt.runPromise(Db.use((db) => db.ping)))
const ctx = await rt.context()
console.log("Effect.runPromiseWith(context) (was Runtime.runPromise)".padEnd(52), await Effect.runPromiseWith(ctx)(Db.use((db) => db.ping)))
await rt.dispose()
