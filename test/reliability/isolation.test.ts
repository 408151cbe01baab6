/**
 * Isolation between users, endpoint by endpoint: every endpoint of src/http/api.ts that takes an
 * id (in the path, the body or the Idempotency-Key header), called by user B with user A's ids,
 * answers exactly as for an id that does not exist (404 NOT_FOUND, or B's own fresh result for
 * the idempotency key), never A's data; and A's data is intact afterwards. ≈ 10 s.
 */
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import { HttpApi } from "effect/http-api"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Api } from "../../src/http/api.js"
import { LLMOffline } from "../../src/layers/llm/offline.js"
import { MemoryUploads } from "../../src/layers/uploadTargets/memory.js"
import type { UserId } from "../../src/services/ids.js"
import { incomingKey } from "../../src/services/uploadTargets.js"
import { newUser } from "../support/users.js"
import { type InProcess, startInProcess } from "./inProcess.js"
import { type Answer, bearer, isUniformError, json, send, sleep } from "./support.js"
import { fixturePath } from "../support/fixtures.js"

const pdf = fs.readFileSync(fixturePath("lab-report-cbc-cmp.pdf"))
const upload = { fileName: "cbc.pdf", contentType: "application/pdf", dataBase64: pdf.toString("base64") }

let app: InProcess

beforeAll(async () => {
  app = await startInProcess({ llm: LLMOffline })
}, 60_000)

afterAll(async () => {
  await app?.runtime.dispose()
}, 30_000)

const call = (token: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) =>
  send(app.port, {
    method,
    path: route,
    ...(body === undefined ? { headers: { ...bearer(token), ...headers } } : { body: json(body).body, headers: { ...json(body).headers, ...bearer(token), ...headers } })
  })

const waitForJob = async (token: string, jobId: string) => {
  for (let i = 0; i < 500; i++) {
    const answer = await call(token, "GET", `/jobs/${jobId}/status`)
    const status = JSON.parse(answer.body) as { status: string; contentId?: string }
    if (status.status === "completed" || status.status === "failed") return status
    await sleep(20)
  }
  throw new Error("the job did not finish")
}

const shape = (answer: Answer) => ({
  status: answer.status,
  code: isUniformError(answer.body) ? (JSON.parse(answer.body) as { error: { code: string } }).error.code : "(not the error body)"
})

describe("isolation matrix", () => {
  it("user B gets 404 for every one of user A's ids, never A's data, and A's data is intact afterwards", async () => {
    const a = await app.runtime.runPromise(newUser("Alice Owner"))
    const b = await app.runtime.runPromise(newUser("Bob Stranger"))
    const tokenA = await app.tokenFor(a as UserId)
    const tokenB = await app.tokenFor(b as UserId)

    const accepted = await call(tokenA, "POST", "/documents/upload", upload, { "idempotency-key": "isolation-key-1" })
    expect(accepted.status).toBe(202)
    const { jobId } = JSON.parse(accepted.body) as { jobId: string }
    const job = await waitForJob(tokenA, jobId)
    expect(job.status).toBe("completed")
    const contentId = job.contentId!
    const chat = await call(tokenA, "POST", "/chat/messages", { contentId, message: "what is my hemoglobin?" }, { "idempotency-key": "isolation-chat-1" })
    expect(chat.status).toBe(200)

    // A's presigned upload, uploaded but not completed yet.
    const begun = await call(tokenA, "POST", "/documents/uploads", { fileName: "cbc.pdf", contentType: "application/pdf", sizeBytes: pdf.length })
    expect(begun.status).toBe(201)
    const { uploadId } = JSON.parse(begun.body) as { uploadId: string }
    await app.runtime.runPromise(Effect.flatMap(MemoryUploads, (uploads) => uploads.deposit(incomingKey(uploadId), pdf)))

    // A's phone, registered for pushes.
    const registered = await call(tokenA, "POST", "/me/devices", { platform: "ios", token: "ab".repeat(32) })
    expect(registered.status).toBe(201)
    const { id: deviceId } = JSON.parse(registered.body) as { id: string }

    const before = {
      content: (await call(tokenA, "GET", `/content/${contentId}`)).body,
      conversation: (await call(tokenA, "GET", `/chat/conversations/${contentId}`)).body,
      timeline: (await call(tokenA, "GET", "/content/timeline")).body,
      status: (await call(tokenA, "GET", `/jobs/${jobId}/status`)).body
    }

    // Each id-taking endpoint of api.ts, with A's id and with an id nobody has.
    const matrix = (content: string, job: string, upload: string, device: string) =>
      [
        ["GET /jobs/{jobId}/status", () => call(tokenB, "GET", `/jobs/${job}/status`)],
        ["GET /jobs/{jobId}/events", () => call(tokenB, "GET", `/jobs/${job}/events`)],
        ["POST /chat/messages {contentId}, streamed", () =>
          call(tokenB, "POST", "/chat/messages", { contentId: content, message: "show me the results" }, { accept: "text/event-stream" })],
        ["DELETE /me/devices/{deviceId}", () => call(tokenB, "DELETE", `/me/devices/${device}`)],
        ["GET /content/{contentId}", () => call(tokenB, "GET", `/content/${content}`)],
        ["GET /content/{contentId}/fhir", () => call(tokenB, "GET", `/content/${content}/fhir`)],
        ["DELETE /content/{contentId}", () => call(tokenB, "DELETE", `/content/${content}`)],
        ["POST /chat/messages {contentId}", () => call(tokenB, "POST", "/chat/messages", { contentId: content, message: "show me the results" })],
        ["GET /chat/conversations/{contentId}", () => call(tokenB, "GET", `/chat/conversations/${content}`)],
        ["POST /documents/uploads/{uploadId}/complete", () => call(tokenB, "POST", `/documents/uploads/${upload}/complete`)],
        // A's idempotency key replays nothing of A's to B: B's question about A's content is still a 404.
        ["POST /chat/messages + A's Idempotency-Key", () =>
          call(tokenB, "POST", "/chat/messages", { contentId: content, message: "what is my hemoglobin?" }, { "idempotency-key": "isolation-chat-1" })]
      ] as const

    // The matrix covers every endpoint of the API definition whose path takes an id (a new one fails here).
    const idPaths: Array<string> = []
    HttpApi.reflect(Api, {
      onGroup: () => {},
      onEndpoint: ({ endpoint }) => {
        if (endpoint.path.includes("/:")) idPaths.push(`${endpoint.method} ${endpoint.path.replace(/:(\w+)/g, "{$1}")}`)
      }
    })
    const covered = new Set<string>(matrix("", "", "", "").map(([name]) => name))
    expect(idPaths.filter((route) => !covered.has(route))).toEqual([])

    const foreign: Record<string, ReturnType<typeof shape>> = {}
    const absent: Record<string, ReturnType<typeof shape>> = {}
    const leaks: Array<string> = []
    for (const [name, request] of matrix(contentId, jobId, uploadId, deviceId)) {
      const answer = await request()
      foreign[name] = shape(answer)
      for (const secret of [contentId, jobId, uploadId, "Hemoglobin", "hemoglobin", "11.2"]) {
        if (answer.body.includes(secret)) leaks.push(`${name} answered with ${[contentId, jobId, uploadId].includes(secret) ? "A's id" : "A's data"}`)
      }
    }
    for (const [name, request] of matrix(randomUUID(), randomUUID(), randomUUID(), randomUUID())) absent[name] = shape(await request())

    expect(leaks).toEqual([])
    expect(foreign).toEqual(absent)
    for (const [name, answer] of Object.entries(foreign)) expect(answer, name).toEqual({ status: 404, code: "NOT_FOUND" })

    // A's upload Idempotency-Key used by B makes B's own job, never answers with A's.
    const replayed = await call(tokenB, "POST", "/documents/upload", upload, { "idempotency-key": "isolation-key-1" })
    expect(replayed.status).toBe(202)
    const bJob = (JSON.parse(replayed.body) as { jobId: string }).jobId
    expect(bJob).not.toBe(jobId)
    expect((await call(tokenA, "GET", `/jobs/${bJob}/status`)).status, "and A cannot see B's job either").toBe(404)

    // B's collection endpoints show none of A's data.
    const timelineB = JSON.parse((await call(tokenB, "GET", "/content/timeline")).body) as { items: Array<{ contentId: string }> }
    expect(timelineB.items.map((i) => i.contentId)).not.toContain(contentId)
    const exportB = await call(tokenB, "GET", "/me/export")
    expect(exportB.status).toBe(200)
    expect(exportB.body).not.toContain(contentId)
    expect(exportB.body).not.toContain(jobId)
    const profileB = await call(tokenB, "GET", "/me")
    expect(profileB.body).not.toContain("Alice")

    const after = {
      content: (await call(tokenA, "GET", `/content/${contentId}`)).body,
      conversation: (await call(tokenA, "GET", `/chat/conversations/${contentId}`)).body,
      timeline: (await call(tokenA, "GET", "/content/timeline")).body,
      status: (await call(tokenA, "GET", `/jobs/${jobId}/status`)).body
    }
    expect(after).toEqual(before)
    // A's phone is still registered
    expect((await call(tokenA, "GET", "/me/devices")).body).toContain(deviceId)
    // B's attempt left A's upload whole: A completes it
    expect((await call(tokenA, "POST", `/documents/uploads/${uploadId}/complete`)).status).toBe(202)
    expect(JSON.parse(after.conversation)).toMatchObject({ messages: [{ role: "user" }, { role: "assistant" }] })
  }, 60_000)
})
