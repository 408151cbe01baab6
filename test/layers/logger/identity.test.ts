/**
 * Every log line says which service and which version wrote it: `service` as telemetry names the
 * process (OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES's service.name, else serenya-backend),
 * `version` from APP_VERSION, else the package's. Annotations, which can carry a request's values,
 * cannot replace either.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Logger, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { vi } from "vitest"
import { settingsProvider } from "../../../src/config.js"
import { appInfoConfig, SERVICE_NAME, SERVICE_VERSION } from "../../../src/config/app.js"
import { telemetryConfig } from "../../../src/config/telemetry.js"
import {
  DEFAULT_LOG_IDENTITY,
  formatLogRecord,
  JsonLoggerLive,
  logIdentity,
  type LogIdentity
} from "../../../src/layers/logger/json.js"
import { resourceAttributes } from "../../../src/layers/telemetry/otel.js"

const ROOT = path.resolve(import.meta.dirname, "../../..")

type Line = Record<string, unknown>

/** The lines JsonLoggerLive (the one every entry point uses) writes to stdout while `effect` runs under `env`. */
const linesOf = <A, E>(effect: Effect.Effect<A, E>, env: Record<string, string>) =>
  Effect.gen(function* () {
    const written: Array<string> = []
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"))
      return true
    })
    yield* effect.pipe(
      Effect.provide(JsonLoggerLive),
      Effect.provide(ConfigProvider.layer(settingsProvider(env))),
      Effect.ensuring(Effect.sync(() => spy.mockRestore()))
    )
    return written
      .flatMap((chunk) => chunk.split("\n"))
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Line)
      .filter((line) => typeof line.message === "string" && line.message.startsWith("identity test"))
  })

/** The line formatLogRecord makes of one log call under `identity`. */
const formatted = <A, E>(effect: Effect.Effect<A, E>, identity?: LogIdentity) =>
  Effect.gen(function* () {
    const lines: Array<Line> = []
    const collector = Logger.make((options) => {
      lines.push(JSON.parse(JSON.stringify(formatLogRecord(options, identity))) as Line)
    })
    yield* effect.pipe(Effect.provide(Logger.layer([collector])))
    expect(lines).toHaveLength(1)
    return lines[0]!
  })

const identityUnder = (env: Record<string, string>) =>
  logIdentity.pipe(Effect.provide(ConfigProvider.layer(settingsProvider(env))))

describe("service and version on every log line", () => {
  it.effect("the live logger puts both on every line, at every level, in a span or not", () =>
    Effect.gen(function* () {
      const lines = yield* linesOf(
        Effect.all([
          Effect.logInfo("identity test: info"),
          Effect.logError("identity test: error"),
          Effect.logWarning("identity test: in a span").pipe(Effect.withSpan("x"))
        ], { discard: true }),
        { APP_VERSION: "2026.05.1+g1a2b3c4", OTEL_SERVICE_NAME: "serenya-api" }
      )
      expect(lines).toHaveLength(3)
      for (const line of lines) expect(line).toMatchObject({ service: "serenya-api", version: "2026.05.1+g1a2b3c4" })
    })
  )

  it.effect("without settings: serenya-backend and the package's version", () =>
    Effect.gen(function* () {
      const [line] = yield* linesOf(Effect.logInfo("identity test: defaults"), {})
      expect(line).toMatchObject({ service: SERVICE_NAME, version: SERVICE_VERSION })
      expect(line).toMatchObject({ service: "serenya-backend" })
    })
  )

  it.effect("the name follows telemetry's order: OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then ours", () =>
    Effect.gen(function* () {
      const attributes = "deployment.environment=staging,service.name=from-attributes"
      expect((yield* identityUnder({ OTEL_RESOURCE_ATTRIBUTES: attributes })).service).toBe("from-attributes")
      expect((yield* identityUnder({ OTEL_RESOURCE_ATTRIBUTES: attributes, OTEL_SERVICE_NAME: "from-name" })).service).toBe("from-name")
      expect((yield* identityUnder({ OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=staging" })).service).toBe(SERVICE_NAME)
      // …which is exactly the traces' service.name for the same environment
      for (const env of [{}, { OTEL_RESOURCE_ATTRIBUTES: attributes }, { OTEL_RESOURCE_ATTRIBUTES: attributes, OTEL_SERVICE_NAME: "from-name" }]) {
        const telemetry = yield* telemetryConfig.parse(settingsProvider(env))
        const traced = resourceAttributes(telemetry, "test", env)["service.name"]
        expect((yield* identityUnder(env)).service).toBe(traced)
      }
    })
  )

  it.effect("APP_VERSION is the app slice's setting; one the settings refuse leaves the logger on the default", () =>
    Effect.gen(function* () {
      expect((yield* appInfoConfig.parse(settingsProvider({ APP_VERSION: "1.4.0" }))).appVersion).toBe("1.4.0")
      expect((yield* appInfoConfig.parse(settingsProvider({}))).appVersion).toBe(SERVICE_VERSION)
      for (const bad of ["", " 1.0", "1.0\nINFO forged", "x".repeat(129)]) {
        const refused = yield* Effect.result(appInfoConfig.parse(settingsProvider({ APP_VERSION: bad })))
        expect(refused._tag, JSON.stringify(bad)).toBe("Failure")
        expect((yield* identityUnder({ APP_VERSION: bad })).version).toBe(SERVICE_VERSION)
      }
    })
  )

  it.effect("an annotation named service or version, whatever its value, is kept beside the line's own, never over it", () =>
    Effect.gen(function* () {
      const identity = { service: "serenya-api", version: "1.2.3" }
      const line = yield* formatted(
        Effect.logWarning("identity test: annotated").pipe(
          // e.g. a handler annotating what a request said
          Effect.annotateLogs({ service: "attacker-service", version: "9.9.9", level: "DEBUG" })
        ),
        identity
      )
      expect(line).toMatchObject({
        level: "WARN",
        service: "serenya-api",
        version: "1.2.3",
        annotation_service: "attacker-service",
        annotation_version: "9.9.9",
        annotation_level: "DEBUG"
      })
      // the live logger the same way
      const [live] = yield* linesOf(Effect.logInfo("identity test: live").pipe(Effect.annotateLogs("version", "0.0.0-forged")), {})
      expect(live).toMatchObject({ version: SERVICE_VERSION, annotation_version: "0.0.0-forged" })
    })
  )

  it("a line formatted without an identity carries the defaults", () => {
    expect(DEFAULT_LOG_IDENTITY).toEqual({ service: SERVICE_NAME, version: SERVICE_VERSION })
  })

  it("one source of truth: the version is package.json's, and the name telemetry's default", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string; version: string }
    expect(SERVICE_VERSION).toBe(pkg.version)
    expect(SERVICE_NAME).toBe(pkg.name)
    const noSettings = { serviceName: Option.none() } as Parameters<typeof resourceAttributes>[0]
    expect(resourceAttributes(noSettings, "test", {})).toMatchObject({ "service.name": SERVICE_NAME, "service.version": SERVICE_VERSION })
  })
})
