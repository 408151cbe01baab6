/** Baseline: GET /content/timeline on bare node:http (see ./honest/timeline.ts for what it does and leaves out). */
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import { makeTimeline, portFromEnv } from "./honest/timeline.js"

const timeline = await makeTimeline()
const json = { "content-type": "application/json" }

const server = createServer({ keepAliveTimeout: 5_000 }, (request, response) => {
  const url = request.url ?? "/"
  if (url === "/health") {
    response.writeHead(200, json).end(`{"status":"ok"}`)
    return
  }
  if (request.method !== "GET" || !url.startsWith("/content/timeline")) {
    response.writeHead(404, json).end(`{"error":{"code":"NOT_FOUND"}}`)
    return
  }
  // Like ours: a request id of our own (answered in X-Request-Id, recorded with the audit row), the peer's address, the user agent.
  const requestId = randomUUID()
  const context = { requestId, clientIp: request.socket.remoteAddress, userAgent: request.headers["user-agent"] }
  timeline.timeline(request.headers.authorization, context).then(
    (answer) => response.writeHead(answer.status, { ...json, "x-request-id": requestId }).end(answer.body),
    () => response.writeHead(500, json).end(`{"error":{"code":"INTERNAL_ERROR"}}`)
  )
})

server.listen(portFromEnv(), "127.0.0.1", () => console.log("listening"))
process.on("SIGTERM", () => server.close(() => void timeline.close().then(() => process.exit(0))))
