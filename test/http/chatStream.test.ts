/**
 * `POST /chat/messages` with `Accept: text/event-stream`, over a real socket: a client reads the
 * deltas as they come and a `done` whose text equals the stored message; a client that
 * disconnects mid-stream leaves nothing stored and stops the model; failures before the stream are
 * HTTP errors, failures during it an `error` event with the uniform body; JSON stays the default.
 */
import { HttpServer } from "effect/http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { randomUUID } from "node:crypto"
import { serveApi } from "../../src/http/app.js"
import { wantsEventStream } from "../../src/http/groups/chatLive.js"
import { ApiLive } from "../../src/http/serve.js"
import { LLMScriptProbe, makeScriptedLLM, scriptedDocument } from "../../src/layers/llm/scripted.js"
import { saveContent } from "../../src/programs/content.js"
import { AccessTokens } from "../../src/services/auth.js"
import type { UserId } from "../../src/services/ids.js"
import { LLM } from "../../src/services/llm.js"
import { appTestServices } from "../support/services.js"
import { testSettings } from "../support/settings.js"
import { newUser } from "../support/users.js"
import * as fc from "fast-check"

const settings = testSettings({ RATE_LIMIT_IP_CAPACITY: "100000", RATE_LIMIT_USER_CAPACITY: "100000" })

const Scripted = Layer.effectContext(
  Effect.map(
    makeScriptedLLM({
      chat: [
        { _tag: "answer", answer: "", streaming: { chunks: ["Your hemoglobin ", "is 11.2 g/dL. ", "It is below ", "the range."], delay: "30 millis" } },
        { _tag: "answer", answer: "", streaming: { chunks: ["One. ", "Two. ", "Three. ", "Four. ", "Five. ", "Six."], delay: "150 millis" } },
        { _tag: "answer", answer: "", streaming: { chunks: ["Partly. ", "Then."], failAfter: 1 } },
        { _tag: "answer", answer: "Plain JSON answer about hemoglobin." }
      ]
    }),
    ({ llm, probe }) => Layer.succeed(LLM, llm).pipe(Layer.merge(Layer.succeed(LLMScriptProbe, probe)), Layer.build)
  ).pipe(Effect.flatten)
)

const App = serveApi(ApiLive).pipe(
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provideMerge(appTestServices({ settings, llm: Layer.empty as unknown as Layer.Layer<LLM> })),
  Layer.provideMerge(Scripted)
)

interface SseEvent {
  readonly event: string
  readonly data: string
  readonly id?: string
}

/** A small SSE reader: events as they arrive, with the time each was complete. */
const readEvents = async (response: Response, onEvent: (event: SseEvent) => boolean | void) => {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += decoder.decode(value, { stream: true })
    let end: number
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const fields: Record<string, string> = {}
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue
        const colon = line.indexOf(":")
        const name = line.slice(0, colon)
        const value = line.slice(colon + 1).replace(/^ /u, "")
        fields[name] = name in fields ? `${fields[name]}\n${value}` : value
      }
      if (fields["data"] === undefined) continue
      if (onEvent({ event: fields["event"] ?? "message", data: fields["data"], ...(fields["id"] !== undefined ? { id: fields["id"] } : {}) }) === true) {
        await reader.cancel()
        return
      }
    }
  }
}

const setup = Effect.gen(function* () {
  const address = (yield* HttpServer.HttpServer).address
  const base = address._tag !== "UnixPathAddress" ? `http://127.0.0.1:${address.port}` : "http://unreachable"
  const userId = yield* newUser()
  const { token } = yield* Effect.flatMap(AccessTokens, (tokens) => tokens.issue(userId, randomUUID()))
  const contentId = yield* saveContent({ userId, document: scriptedDocument(), provider: "test", modelId: "scripted" })
  return { base, userId, token, contentId }
})

const ask = (base: string, token: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(`${base}/chat/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    ...(signal !== undefined ? { signal } : {})
  })

const stored = (userId: UserId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ messages: number; usage: number }>`
      SELECT (SELECT count(*)::int FROM messages WHERE user_id = ${userId}::uuid) AS messages,
             (SELECT count(*)::int FROM plan_usage WHERE user_id = ${userId}::uuid) AS usage`
    return row!
  })

layer(App, { timeout: 60_000, excludeTestServices: true })("POST /chat/messages as Server-Sent Events", (it) => {
  it.effect("deltas arrive as the model produces them, then done with the stored message", () =>
    Effect.gen(function* () {
      const { base, token, contentId } = yield* setup
      const started = Date.now()
      const events: Array<SseEvent & { readonly at: number }> = []
      const response = yield* Effect.promise(() => ask(base, token, { contentId, message: "what is my hemoglobin?" }, { accept: "text/event-stream" }))
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/u)
      yield* Effect.promise(() => readEvents(response, (e) => void events.push({ ...e, at: Date.now() - started })))

      const deltas = events.filter((e) => e.event === "delta").map((e) => (JSON.parse(e.data) as { text: string }).text)
      expect(deltas).toEqual(["Your hemoglobin is 11.2 g/dL. ", "It is below the range."])
      // the first delta came well before the last: streamed, not buffered (4 chunks × 30 ms)
      expect(events[0]!.at).toBeLessThan(events.at(-1)!.at)
      const done = events.at(-1)!
      expect(done.event).toBe("done")
      const reply = JSON.parse(done.data) as { message: { id: string; content: string; citations: ReadonlyArray<unknown> } }
      expect(done.id).toBe(reply.message.id)
      expect(reply.message.content).toBe(deltas.join(""))
      expect(reply.message.citations).toEqual([{ result: 0, name: "Hemoglobin" }])

      const conversation = yield* Effect.promise(() =>
        fetch(`${base}/chat/conversations/${contentId}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json())
      )
      expect((conversation as { messages: Array<{ content: string }> }).messages.map((m) => m.content)).toEqual([
        "what is my hemoglobin?",
        deltas.join("")
      ])
    })
  )

  it.effect("a client that disconnects mid-stream: the model is stopped, nothing is stored or counted", () =>
    Effect.gen(function* () {
      const { base, token, contentId, userId } = yield* setup
      const probe = yield* LLMScriptProbe
      const before = yield* probe.streamed
      const controller = new AbortController()
      const response = yield* Effect.promise(() =>
        ask(base, token, { contentId, message: "tell me everything" }, { accept: "text/event-stream" }, controller.signal)
      )
      let received = 0
      yield* Effect.promise(() =>
        readEvents(response, () => {
          received += 1
          return received === 2
        }).then(() => controller.abort())
      )
      // long enough for the four chunks left (150 ms each) had the model gone on
      yield* Effect.sleep("900 millis")
      const after = yield* probe.streamed
      expect(after.interrupted - before.interrupted).toBe(1)
      expect(after.chunks - before.chunks).toBeLessThanOrEqual(3)
      expect(yield* stored(userId)).toEqual({ messages: 0, usage: 0 })
    })
  )

  it.effect("a model failing mid-stream ends it with an error event holding the uniform body; nothing is stored", () =>
    Effect.gen(function* () {
      const { base, token, contentId, userId } = yield* setup
      const events: Array<SseEvent> = []
      const response = yield* Effect.promise(() => ask(base, token, { contentId, message: "and then?" }, { accept: "text/event-stream" }))
      yield* Effect.promise(() => readEvents(response, (e) => void events.push(e)))
      expect(events.map((e) => e.event)).toEqual(["delta", "error"])
      const body = JSON.parse(events[1]!.data) as { error: Record<string, unknown> }
      expect(Object.keys(body)).toEqual(["error"])
      expect(body.error).toMatchObject({ code: "LLM_UNAVAILABLE", category: "external" })
      expect(typeof body.error["correlationId"]).toBe("string")
      expect(JSON.stringify(body)).not.toMatch(/stack|at .*\.ts/u)
      expect(yield* stored(userId)).toEqual({ messages: 0, usage: 0 })
    })
  )

  it.effect("refusals before the stream are HTTP errors; without the Accept header the answer is JSON", () =>
    Effect.gen(function* () {
      const { base, token, contentId } = yield* setup
      const missing = yield* Effect.promise(() =>
        ask(base, token, { contentId: randomUUID(), message: "hi" }, { accept: "text/event-stream" })
      )
      expect(missing.status).toBe(404)
      expect(missing.headers.get("content-type")).toMatch(/application\/json/u)
      const empty = yield* Effect.promise(() => ask(base, token, { contentId, message: "   " }, { accept: "text/event-stream" }))
      expect(empty.status).toBe(400)

      const json = yield* Effect.promise(() => ask(base, token, { contentId, message: "json please" }))
      expect(json.status).toBe(200)
      expect(json.headers.get("content-type")).toMatch(/application\/json/u)
      const reply = (yield* Effect.promise(() => json.json())) as { message: { content: string; id: string } }
      expect(reply.message.content).toBe("Plain JSON answer about hemoglobin.")
      expect(reply.message.id).toMatch(/^[0-9a-f-]{36}$/u)
    })
  )

  it.effect("Accept negotiation: the stream only when text/event-stream is named with a non-zero quality", () =>
    Effect.sync(() => {
      expect(wantsEventStream("text/event-stream")).toBe(true)
      expect(wantsEventStream("application/json, Text/Event-Stream;q=0.5")).toBe(true)
      expect(wantsEventStream("text/event-stream;q=0")).toBe(false)
      expect(wantsEventStream("*/*")).toBe(false)
      expect(wantsEventStream(undefined)).toBe(false)
      fc.assert(
        fc.property(fc.string(), (accept) => {
          // never throws, and never streams unless the media type is named
          const streams = wantsEventStream(accept)
          if (streams) expect(accept.toLowerCase()).toContain("text/event-stream")
        })
      )
    })
  )
})
