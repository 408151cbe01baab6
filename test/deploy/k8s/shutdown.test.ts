/**
 * What the pods' probes and grace period rely on, proved on the real server process: when SIGTERM
 * arrives, a request already in flight still gets its answer, new connections are refused, and
 * the process exits 0 well inside the termination grace period the chart gives it.
 */
import * as net from "node:net"
import { describe, expect, it } from "vitest"
import { terminationGracePeriodSeconds } from "../../../deploy/k8s/chart.js"
import { environments } from "../../../deploy/k8s/environments.js"
import { startReady, waitFor } from "../../support/process.js"

const connect = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket))
    socket.once("error", reject)
  })

describe("graceful termination of the api pod's process", () => {
  it("finishes the request in flight at SIGTERM, refuses new connections, and exits 0 before the grace period", async () => {
    const shutdownTimeoutMs = 10_000
    const server = await startReady("server", { env: { SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs) } })

    // A sign-in whose body is still arriving: the server has the request and is waiting for the rest.
    const body = JSON.stringify({ email: "shutdown-test@example.com", name: "Pat Example" })
    const inflight = await connect(server.port)
    let answer = ""
    inflight.on("data", (chunk: Buffer) => (answer += chunk.toString("utf8")))
    const closed = new Promise<void>((resolve) => inflight.once("close", () => resolve()))
    inflight.write(
      `POST /auth/dev HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
        body.slice(0, 10)
    )
    await new Promise((r) => setTimeout(r, 200))

    const signalledAt = Date.now()
    server.child.kill("SIGTERM")
    const refused = async () => {
      try {
        ;(await connect(server.port)).destroy()
        return false
      } catch (error) {
        return (error as { code?: string }).code === "ECONNREFUSED"
      }
    }
    await waitFor("new connections to be refused", refused, 3_000)
    expect(answer).toBe("")

    inflight.write(body.slice(10))
    await closed
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 200 OK")
    expect(answer).toContain("\"accessToken\"")

    expect(await server.exited).toEqual({ code: 0, signal: null })
    const exitedAfterMs = Date.now() - signalledAt
    const grace = terminationGracePeriodSeconds(shutdownTimeoutMs / 1000, environments.production!.shutdown.preStopSeconds)
    expect(exitedAfterMs).toBeLessThan(grace * 1000)
    // The request did not have to be forced: the server was done long before its own timeout.
    expect(exitedAfterMs).toBeLessThan(shutdownTimeoutMs)
  }, 60_000)
})
