/**
 * `npm run test:bun`: the end-to-end walk on Bun. An embedded PostgreSQL is started from this
 * (Bun) process; `bun src/main/server.ts` is spawned on it with its own DATA_DIR; then sign-in,
 * a PDF upload, the job, the timeline, the content and a chat answer over HTTP, and the Lambda
 * api handler called in this process with an API Gateway event for /health. Exits non-zero with
 * the failed check's message; SIGTERM must stop the server cleanly (exit 0).
 */
import { Effect, Exit, Redacted, Scope } from "effect"
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { startEmbeddedPostgres } from "../../src/layers/database/embedded.js"
import { freePort } from "../support/ports.js"
import { fixturePath } from "../support/fixtures.js"

const ROOT = path.resolve(import.meta.dirname, "../..")
const PDF = fixturePath("lab-report-cbc-cmp.pdf")
const started = performance.now()
const bunVersion = (process.versions as Record<string, string | undefined>).bun

class CheckFailed extends Error {}

const check = (ok: boolean, message: string): void => {
  if (!ok) throw new CheckFailed(message)
}

/** The events of a whole Server-Sent Events body (comments skipped). */
const sseEvents = (body: string): Array<{ event: string; data: string; id?: string }> =>
  body
    .split("\n\n")
    .map((block) => {
      const fields: Record<string, string> = {}
      for (const line of block.split("\n")) {
        if (line === "" || line.startsWith(":")) continue
        const colon = line.indexOf(":")
        fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, "")
      }
      return fields
    })
    .filter((fields) => fields.data !== undefined)
    .map((fields) => ({ event: fields.event ?? "message", data: fields.data!, ...(fields.id !== undefined ? { id: fields.id } : {}) }))

const step = (name: string) => process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${name}\n`)


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const main = async () => {
  check(bunVersion !== undefined, "run this with bun (npm run test:bun)")
  const scope = Effect.runSync(Scope.make())
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-bun-e2e-"))
  const dataDir = path.join(tmp, "data")
  let server: ReturnType<typeof spawn> | undefined
  try {
    const database = await Effect.runPromise(
      Scope.provide(startEmbeddedPostgres({ dataDir: path.join(tmp, "pg"), ephemeral: true }), scope)
    )
    step("embedded PostgreSQL started from Bun")

    const port = await freePort()
    const env = {
      ...process.env,
      APP_ENV: "local",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_URL: Redacted.value(database.url),
      DEV_AUTH_ENABLED: "true",
      LOG_LEVEL: "warning",
      WORKER_POLL_MS: "50",
      // a fresh DATA_DIR otherwise races the local keyring against the lookup key file
      LOCAL_MASTER_KEY: randomBytes(32).toString("hex")
    }
    server = spawn(process.execPath, ["src/main/server.ts"], { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] })
    const exited = new Promise<number | null>((resolve) => server!.once("exit", (code) => resolve(code)))
    const base = `http://127.0.0.1:${port}`

    let healthy = false
    for (let i = 0; i < 300 && !healthy; i++) {
      healthy = await fetch(`${base}/health`).then((r) => r.ok, () => false)
      if (!healthy) await sleep(100)
    }
    check(healthy, "the server (bun src/main/server.ts) did not answer /health within 30 s")
    step("server up on Bun")

    const json = async (response: Response) => (await response.json()) as Record<string, unknown>
    const signIn = await fetch(`${base}/auth/dev`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "bun-e2e@example.com", name: "Bun Walk" })
    })
    check(signIn.status === 200, `POST /auth/dev answered ${signIn.status}`)
    const token = String((await json(signIn)).accessToken)
    const auth = { authorization: `Bearer ${token}` }

    const upload = await fetch(`${base}/documents/upload`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        fileName: "lab-report-cbc-cmp.pdf",
        contentType: "application/pdf",
        dataBase64: (await fs.readFile(PDF)).toString("base64")
      })
    })
    check(upload.status === 202, `POST /documents/upload answered ${upload.status}`)
    const jobId = String((await json(upload)).jobId)
    step("uploaded")

    let status: Record<string, unknown> = {}
    for (let i = 0; i < 600; i++) {
      status = await json(await fetch(`${base}/jobs/${jobId}/status`, { headers: auth }))
      if (status.status === "completed" || status.status === "failed") break
      await sleep(50)
    }
    check(status.status === "completed", `the job ended as ${String(status.status)} (${String(status.errorCode ?? "")})`)
    const contentId = String(status.contentId)
    step("job completed")

    const timeline = await json(await fetch(`${base}/content/timeline?limit=10`, { headers: auth }))
    const items = (timeline.items ?? []) as Array<{ contentId: string }>
    check(items.some((item) => item.contentId === contentId), "GET /content/timeline does not list the document")

    const content = await json(await fetch(`${base}/content/${contentId}`, { headers: auth }))
    const hemoglobin = ((content.results ?? []) as Array<{ name: string; value: unknown; flag: string }>).find(
      (r) => r.name === "Hemoglobin"
    )
    check(hemoglobin?.value === 11.2 && hemoglobin.flag === "low", `Hemoglobin is ${JSON.stringify(hemoglobin)}, not 11.2 low`)
    step("timeline and content checked")

    const chat = await fetch(`${base}/chat/messages`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ contentId, message: "what is my hemoglobin?" })
    })
    check(chat.status === 200, `POST /chat/messages answered ${chat.status}`)
    const answer = String(((await json(chat)).message as { content?: string } | undefined)?.content ?? "")
    check(answer.includes("11.2"), "the chat answer does not mention 11.2")
    step("chat answered")

    // The same question streamed: deltas as they come, then `done` with the stored message.
    const streamed = await fetch(`${base}/chat/messages`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ contentId, message: "what is my hemoglobin?" })
    })
    check(streamed.status === 200, `POST /chat/messages (event stream) answered ${streamed.status}`)
    check(
      (streamed.headers.get("content-type") ?? "").startsWith("text/event-stream"),
      `the streamed answer is ${streamed.headers.get("content-type")}`
    )
    const events = sseEvents(await streamed.text())
    const deltas = events.filter((e) => e.event === "delta").map((e) => String((JSON.parse(e.data) as { text: string }).text))
    const done = events.at(-1)
    check(deltas.length > 1 && done?.event === "done", `the stream was ${events.map((e) => e.event).join(",")}`)
    const storedAnswer = String((JSON.parse(done!.data) as { message: { content: string } }).message.content)
    check(storedAnswer === deltas.join("") && storedAnswer.includes("11.2"), "the streamed deltas do not add up to the stored answer")
    const conversation = await json(await fetch(`${base}/chat/conversations/${contentId}`, { headers: auth }))
    const messages = (conversation.messages ?? []) as Array<{ content: string }>
    check(messages.at(-1)?.content === storedAnswer, "the conversation does not end with the streamed answer")
    step("chat streamed")

    // The Lambda api handler, in this Bun process, on the same database and keys.
    Object.assign(process.env, { ...env, AWS_LAMBDA_FUNCTION_NAME: "bun-api" })
    const lambda = await import("../../src/main/lambda/api.js")
    const response = await lambda.handler({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/health",
      rawQueryString: "",
      headers: { host: "bun.example" },
      requestContext: {
        accountId: "123456789012",
        apiId: "bun",
        domainName: "bun.example",
        domainPrefix: "bun",
        http: { method: "GET", path: "/health", protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "bun" },
        requestId: "bun-1",
        routeKey: "$default",
        stage: "$default",
        time: "26/Nov/2026:09:00:00 +0000",
        timeEpoch: 0
      },
      isBase64Encoded: false
    })
    check(response.statusCode === 200, `the Lambda api handler answered /health with ${response.statusCode}`)
    step("Lambda api handler answered /health on Bun")

    server.kill("SIGTERM")
    const code = await Promise.race([exited, sleep(15_000).then(() => "timeout" as const)])
    check(code === 0, `the server did not stop cleanly on SIGTERM (exit ${String(code)})`)
    server = undefined
    step("server stopped cleanly")
  } finally {
    server?.kill("SIGKILL")
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await fs.rm(tmp, { recursive: true, force: true })
  }
}

try {
  await main()
  process.stdout.write(`bun e2e: passed in ${((performance.now() - started) / 1000).toFixed(1)} s on Bun ${bunVersion}\n`)
  process.exit(0)
} catch (error) {
  process.stderr.write(`bun e2e: FAILED: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
}
