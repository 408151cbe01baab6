/**
 * TEMPLATE of the walk that test/contract/generatedClient.test.ts runs. The test copies it as
 * `walk.ts` next to `api.ts`, the types openapi-typescript generated from the live /openapi.json,
 * type-checks both, then runs `node --import tsx walk.ts <baseUrl> <pdfPath>`. It is written the way a
 * client author would write it against the document with openapi-fetch: no casts, no hand-written
 * types. It prints one JSON line of what it saw and exits 1 on the first mismatch.
 *
 * `./api.js` exists only in the run folder, so this file is excluded from the root tsconfig (ESLint
 * still lints it).
 */
import { readFile } from "node:fs/promises"
import * as path from "node:path"
import createClient, { type Client } from "openapi-fetch"
import type { paths } from "./api.js"

class Mismatch extends Error {}

const check: (condition: boolean, message: string) => asserts condition = (condition, message) => {
  if (!condition) throw new Mismatch(message)
}

/** The body of a 2XX answer, or a Mismatch naming the status and the typed error body. */
const ok = <T>(what: string, answer: { data?: T; error?: unknown; response: Response }): T => {
  if (answer.data === undefined) {
    throw new Mismatch(`${what} answered ${answer.response.status} ${JSON.stringify(answer.error)}`)
  }
  return answer.data
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const walk = async (baseUrl: string, pdfPath: string) => {
  const anonymous = createClient<paths>({ baseUrl })

  const signIn = ok("POST /auth/dev", await anonymous.POST("/auth/dev", { body: { email: "contract-walk@example.com" } }))
  const api = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${signIn.accessToken}` } })

  const pdf = new File([await readFile(pdfPath)], path.basename(pdfPath), { type: "application/pdf" })
  const uploaded = await api.POST("/documents/upload", {
    body: { file: pdf },
    bodySerializer: (body) => {
      const form = new FormData()
      if ("file" in body) form.append("file", body.file)
      return form
    }
  })
  check(uploaded.response.status === 202, `POST /documents/upload answered ${uploaded.response.status}, not 202`)
  const { jobId } = ok("POST /documents/upload", uploaded)

  const deadline = Date.now() + 30_000
  let job = ok("GET /jobs/{jobId}/status", await api.GET("/jobs/{jobId}/status", { params: { path: { jobId } } }))
  while (job.status === "queued" || job.status === "processing") {
    check(Date.now() < deadline, `job ${jobId} still ${job.status} after 30 s`)
    await sleep(100)
    job = ok("GET /jobs/{jobId}/status", await api.GET("/jobs/{jobId}/status", { params: { path: { jobId } } }))
  }
  check(job.status === "completed", `job ${jobId} ended ${job.status} (${JSON.stringify(job.error)})`)
  const contentId = job.contentId
  check(contentId !== undefined, "a completed job has no contentId")

  const timeline = ok("GET /content/timeline", await api.GET("/content/timeline", { params: { query: { limit: 10 } } }))
  const item = timeline.items[0]
  check(timeline.items.length === 1 && item !== undefined, `the timeline has ${timeline.items.length} items, not 1`)
  check(item.contentId === contentId, "the timeline item is not the uploaded document")
  check(item.flaggedCount === 7, `flaggedCount is ${item.flaggedCount}, not 7`)

  const content = ok("GET /content/{contentId}", await api.GET("/content/{contentId}", { params: { path: { contentId } } }))
  const hemoglobin = content.results.find((result) => result.name === "Hemoglobin")
  check(hemoglobin?.value === 11.2 && hemoglobin.flag === "low", `Hemoglobin is ${JSON.stringify(hemoglobin)}, not 11.2 low`)

  const refused = await anonymous.GET("/content/timeline", { params: { query: { limit: 10 } } })
  check(refused.error !== undefined, `GET /content/timeline without a token answered ${refused.response.status}`)

  return {
    jobStatus: job.status,
    timeline: { total: timeline.total, limit: timeline.limit, items: timeline.items.length, flaggedCount: item.flaggedCount },
    content: { documentType: content.documentType, results: content.results.length, hemoglobin: `${hemoglobin.value} ${hemoglobin.flag}` },
    withoutToken: { status: refused.response.status, code: refused.error.error.code }
  }
}

/**
 * Never called: each line below must fail to compile, or the compiler reports the unused
 * `@ts-expect-error` directive. Together they prove the generated types are real, not `any`.
 */
export const typeProofs = async (api: Client<paths>): Promise<void> => {
  // @ts-expect-error an unknown path
  await api.GET("/no/such/path", {})
  // @ts-expect-error a sign-in body without its required email
  await api.POST("/auth/dev", { body: { name: "Ada" } })
  // @ts-expect-error the path parameter is called jobId
  await api.GET("/jobs/{jobId}/status", { params: { path: { id: "1" } } })
  // @ts-expect-error the timeline's limit is an integer, not a string
  await api.GET("/content/timeline", { params: { query: { limit: "10" } } })
  const { data, error } = await api.GET("/content/timeline")
  // @ts-expect-error a timeline has no `count`
  void data?.count
  // @ts-expect-error an error body tells no internals
  void error?.error.stack
}

const [baseUrl, pdfPath] = process.argv.slice(2)
try {
  check(baseUrl !== undefined && pdfPath !== undefined, "usage: node --import tsx walk.ts <baseUrl> <pdfPath>")
  process.stdout.write(`${JSON.stringify({ ok: true, ...(await walk(baseUrl, pdfPath)) })}\n`)
} catch (failure) {
  process.stdout.write(`${JSON.stringify({ ok: false, failure: failure instanceof Error ? failure.message : String(failure) })}\n`)
  process.exitCode = 1
}
