/** Baseline: GET /content/timeline in Fastify (see ./honest/timeline.ts for what it does and leaves out). */
import Fastify from "fastify"
import { makeTimeline, portFromEnv } from "./honest/timeline.js"

const timeline = await makeTimeline()
const app = Fastify({ logger: false })

app.get("/health", async () => ({ status: "ok" }))
app.get("/content/timeline", async (request, reply) => {
  const answer = await timeline.timeline(request.headers.authorization)
  return reply.code(answer.status).header("content-type", "application/json").send(answer.body)
})

await app.listen({ port: portFromEnv(), host: "127.0.0.1" })
console.log("listening")
process.on("SIGTERM", () => void app.close().then(() => timeline.close()).then(() => process.exit(0)))
