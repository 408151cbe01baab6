/** Baseline: GET /content/timeline in Fastify (see ./honest/timeline.ts for what it does and leaves out). */
import Fastify from "fastify"
import { randomUUID } from "node:crypto"
import { makeTimeline, portFromEnv } from "./honest/timeline.js"

const timeline = await makeTimeline()
const app = Fastify({ logger: false })

app.get("/health", async () => ({ status: "ok" }))
app.get("/content/timeline", async (request, reply) => {
  // Like ours: a request id of our own (answered in X-Request-Id, recorded with the audit row), the peer's address, the user agent.
  const requestId = randomUUID()
  const answer = await timeline.timeline(request.headers.authorization, { requestId, clientIp: request.socket.remoteAddress, userAgent: request.headers["user-agent"] })
  return reply.code(answer.status).header("content-type", "application/json").header("x-request-id", requestId).send(answer.body)
})

await app.listen({ port: portFromEnv(), host: "127.0.0.1" })
console.log("listening")
process.on("SIGTERM", () => void app.close().then(() => timeline.close()).then(() => process.exit(0)))
