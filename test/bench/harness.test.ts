/**
 * Smoke test of the bench harness (bench/): a small seeded dataset, our server and the node:http
 * baseline answer GET /content/timeline with the same items (same SQL, same decryption), one short
 * autocannon run works, and the chart renders. ≈ 20 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { measure, serve, type Served } from "../../bench/api.js"
import { type BenchEnvironment, seed, type SeededUser, startEnvironment } from "../../bench/environment.js"
import { svgChart } from "../../bench/report.js"

let environment: BenchEnvironment | undefined
let users: ReadonlyArray<SeededUser> = []
const served: Array<Served> = []

beforeAll(async () => {
  environment = await startEnvironment()
  users = (await seed(environment, 3, 4)).users
}, 60_000)

afterAll(async () => {
  for (const s of served) await s.stop()
  await environment?.close()
}, 60_000)

const timelineOf = async (port: number, user: SeededUser) => {
  const response = await fetch(`http://127.0.0.1:${port}/content/timeline`, { headers: { authorization: `Bearer ${user.token}` } })
  expect(response.status).toBe(200)
  return (await response.json()) as { items: Array<Record<string, unknown>>; total: number }
}

describe("bench harness", () => {
  it("ours and the plain baseline serve the same timeline; autocannon measures; the chart renders", async () => {
    const ours = await serve("serenya", environment!.env)
    served.push(ours)
    const plain = await serve("node:http", environment!.env)
    served.push(plain)
    const user = users[1]!
    const [a, b] = [await timelineOf(ours.port, user), await timelineOf(plain.port, user)]
    expect(a.total).toBe(4)
    expect(b.items).toEqual(a.items)

    const m = await measure(plain, "GET /content/timeline", users, 2, 1)
    expect(m.requests).toBeGreaterThan(0)
    expect(m.non2xx + m.errors + m.timeouts).toBe(0)
    expect(m.peakRssMb).toBeGreaterThan(0)
    expect(svgChart([m], "smoke")).toMatch(/^<svg[\s\S]*<\/svg>$/)
  }, 60_000)
})
