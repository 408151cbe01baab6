/** The OpenAPI document passes a real linter (Redocly's recommended rules) with no errors or warnings. */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Api } from "../../src/http/api.js"
import { openApiDocument } from "../../src/http/documentation.js"

const ROOT = path.resolve(import.meta.dirname, "../..")
const REDOCLY = path.join(ROOT, "node_modules/@redocly/cli/bin/cli.js")

interface Media {
  readonly schema: { readonly $ref?: string; readonly properties?: Record<string, unknown> }
  readonly example?: unknown
}
interface Operation {
  readonly operationId: string
  readonly security?: ReadonlyArray<unknown>
  readonly parameters?: ReadonlyArray<{ readonly name: string; readonly schema: unknown }>
  readonly requestBody?: { readonly content: Record<string, Media> }
  readonly responses: Record<
    string,
    {
      readonly headers?: Record<string, unknown>
      readonly content?: Record<string, Media>
      readonly links?: Record<string, { readonly operationId: string; readonly parameters: unknown }>
    }
  >
}
interface Doc {
  readonly paths: Record<string, Record<string, Operation>>
  readonly components: { readonly schemas: Record<string, unknown> }
}

interface LintReport {
  readonly totals: { readonly errors: number; readonly warnings: number }
  readonly problems: ReadonlyArray<{ readonly ruleId: string; readonly message: string }>
}

describe("OpenAPI document", () => {
  it("passes `redocly lint` with no errors and no warnings", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serenya-openapi-"))
    try {
      const file = path.join(dir, "openapi.json")
      fs.writeFileSync(file, JSON.stringify(openApiDocument(Api), null, 2))
      let output: string
      try {
        output = execFileSync(process.execPath, [REDOCLY, "lint", file, "--format=json", `--config=${path.join(ROOT, "redocly.yaml")}`], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
          env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" }
        })
      } catch (error) {
        // Exit code 1 on findings; the report is still on stdout.
        output = String((error as { stdout?: string }).stdout ?? "")
      }
      const report = JSON.parse(output) as LintReport
      expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([])
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it("says what the server does outside the handlers: statuses, headers, media types, examples, links", () => {
    const spec = openApiDocument(Api) as unknown as Doc
    const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ path, method, operation }))
    )
    // 19, and push devices: POST and GET /me/devices, DELETE /me/devices/{deviceId}; job events: GET /jobs/{jobId}/events;
    // FHIR: GET /content/{contentId}/fhir; trends: GET /results/trends
    expect(operations.length).toBe(19 + 3 + 1 + 1 + 1)
    for (const { path, method, operation } of operations) {
      const where = `${method.toUpperCase()} ${path}`
      const statuses = Object.keys(operation.responses)
      expect(statuses, where).toContain("413")
      if (operation.requestBody) expect(statuses, where).toContain("415")
      if (path !== "/health" && path !== "/ready") expect(statuses, where).toContain("429")
      if (operation.security?.length) expect(statuses, where).toContain("401")
      for (const [status, response] of Object.entries(operation.responses)) {
        const headers = Object.keys(response.headers ?? {})
        expect(headers, `${where} ${status}`).toContain("X-Request-Id")
        if (status === "429" || status === "503") expect(headers, `${where} ${status}`).toContain("Retry-After")
        if (status === "401") expect(headers, `${where} ${status}`).toContain("WWW-Authenticate")
        for (const [mediaType, media] of Object.entries(response.content ?? {})) {
          expect(media.example, `${where} ${status} ${mediaType} has an example`).toBeDefined()
        }
      }
      for (const [mediaType, media] of Object.entries(operation.requestBody?.content ?? {})) {
        expect(media.example, `${where} request ${mediaType} has an example`).toBeDefined()
        // Unknown fields are ignored (README: why), so no request schema may say otherwise.
        const schema = media.schema.$ref ? spec.components.schemas[media.schema.$ref.split("/").pop()!] : media.schema
        expect(JSON.stringify(schema), where).not.toContain('"additionalProperties":false')
      }
    }
    const byId = new Map(operations.map(({ operation }) => [operation.operationId, operation]))
    expect(byId.get("documents.upload")?.responses["202"]?.links?.jobStatus).toMatchObject({
      operationId: "documents.jobStatus",
      parameters: { jobId: "$response.body#/jobId" }
    })
    // A job's status and its events link to each other, and an upload to both.
    expect(byId.get("documents.jobStatus")?.responses["200"]?.links?.events).toMatchObject({
      operationId: "documents.jobEvents",
      parameters: { jobId: "$request.path.jobId" }
    })
    expect(byId.get("documents.jobEvents")?.responses["200"]?.links?.status).toMatchObject({
      operationId: "documents.jobStatus",
      parameters: { jobId: "$request.path.jobId" }
    })
    expect(byId.get("documents.upload")?.responses["202"]?.links?.jobEvents).toMatchObject({ operationId: "documents.jobEvents" })
    expect(Object.keys(byId.get("documents.jobEvents")?.responses["200"]?.content ?? {})).toEqual(["text/event-stream"])
    expect(byId.get("documents.jobStatus")?.responses["200"]?.links?.content).toMatchObject({
      operationId: "content.get",
      parameters: { contentId: "$response.body#/contentId" }
    })
    // A presigned upload: its target links to its completion, the completion to the job.
    expect(byId.get("documents.beginUpload")?.responses["201"]?.links?.completeUpload).toMatchObject({
      operationId: "documents.completeUpload",
      parameters: { uploadId: "$response.body#/uploadId" }
    })
    expect(byId.get("documents.completeUpload")?.responses["202"]?.links?.jobStatus).toMatchObject({
      operationId: "documents.jobStatus"
    })
    for (const id of ["documents.beginUpload", "documents.completeUpload"]) {
      expect(Object.keys(byId.get(id)?.responses ?? {}), id).toEqual(expect.arrayContaining(["401", "402", "501", "503"]))
    }
    expect(Object.keys(byId.get("documents.completeUpload")?.responses ?? {})).toEqual(expect.arrayContaining(["404", "409", "410"]))
    for (const link of Object.values(byId.get("documents.jobStatus")?.responses["200"]?.links ?? {})) {
      expect(byId.has(link.operationId)).toBe(true)
    }
    // Query integers are integers with bounds; the multipart file is one binary; instants are date-times.
    const timeline = byId.get("content.timeline")!.parameters!
    expect(timeline.find((p) => p.name === "limit")?.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 100, default: 20 })
    expect(timeline.find((p) => p.name === "offset")?.schema).toMatchObject({ type: "integer", minimum: 0, default: 0 })
    const multipart = byId.get("documents.upload")!.requestBody!.content["multipart/form-data"]!
    expect(multipart.schema.properties?.file).toMatchObject({ type: "string", format: "binary" })
    expect(spec.components.schemas.Date).toMatchObject({ type: "string", format: "date-time" })
    // …and instants in bodies are that component (src/services/time.ts), not a bare string.
    const profile = spec.components.schemas.Profile as { properties: Record<string, unknown> }
    expect(profile.properties.createdAt).toMatchObject({ $ref: "#/components/schemas/Date" })
    const text = JSON.stringify(spec)
    // Patterns every JSON Schema tool reads: no Unicode property escapes; no Effect check names as titles.
    expect(text).not.toMatch(/\\p\{/)
    expect(text).not.toMatch(/"title":"(maxLength|minLength|int|between|itemsCount|nonNegative)/)
    expect(JSON.stringify(spec.components.schemas.ChatMessageRequest)).toContain('"maxLength":4000')
    expect(JSON.stringify(spec.components.schemas.UploadJson)).toContain('"contentEncoding":"base64"')
  })

  it("documents every endpoint group, the bearer scheme and the uniform error body", () => {
    const spec = openApiDocument(Api)
    const paths = Object.keys(spec.paths)
    for (const p of ["/auth/dev", "/documents/upload", "/documents/uploads", "/documents/uploads/{uploadId}/complete", "/jobs/{jobId}/status", "/content/timeline", "/chat/messages", "/subscriptions/status", "/me"]) {
      expect(paths).toContain(p)
    }
    expect(JSON.stringify(spec.components.securitySchemes)).toContain("bearer")
    expect(spec.components.schemas).toHaveProperty("ErrorBody")
  })
})
