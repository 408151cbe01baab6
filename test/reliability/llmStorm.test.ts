/**
 * An LLM failure storm through the HTTP API (POST /chat/messages), in process over a real
 * PostgreSQL. The LLM is the Bedrock layer (the only one the `llm` breaker guards; the offline and
 * scripted layers have none) on a scripted Converse client that answers or throttles on command,
 * with the `llm` breaker's own thresholds (BreakerConfigs.llm) but a 1.5 s open timeout so that
 * the half-open trial comes in real time.
 *
 * Steps: an answer while closed (cached by the layer) → throttling until the breaker opens at its
 * threshold → requests fail fast with 503 + Retry-After without reaching the model → the cached
 * answer is served for an identical question → after the timeout a half-open trial, successes
 * close it; a failed trial opens it again. Each step is read from the metrics of
 * src/services/metrics.ts (CircuitBreakerState, ErrorsByCategory, RecoverySuccess). ≈ 5 s.
 */
import { ConverseCommand } from "@aws-sdk/client-bedrock-runtime"
import { Duration, Effect, Layer, Metric } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type BedrockSend, makeBedrockLLM } from "../../src/layers/llm/bedrock.js"
import { saveContent } from "../../src/programs/content.js"
import type { UserId } from "../../src/services/ids.js"
import { LLM } from "../../src/services/llm.js"
import { circuitBreakerState, errorsByCategory, recoverySuccess } from "../../src/services/metrics.js"
import { BreakerConfigs, type CircuitBreakerConfig, makeRetrySchedule } from "../../src/services/resilience.js"
import { makeCircuitBreaker } from "../../src/layers/resilience/circuitBreaker.js"
import { scriptedDocument } from "../../src/layers/llm/scripted.js"
import { newUser } from "../support/users.js"
import { type InProcess, startInProcess } from "./inProcess.js"
import { bearer, isUniformError, json, send, sleep } from "./support.js"
import { makeLocalDeidentifier } from "../../src/layers/deidentifier/local.js"

const OPEN_TIMEOUT_MS = 1_500
const config: CircuitBreakerConfig = { ...BreakerConfigs.llm, timeout: Duration.millis(OPEN_TIMEOUT_MS) }
const breaker = Effect.runSync(makeCircuitBreaker(config))
const MAX_RETRIES = 2

let mode: "answer" | "throttle" = "answer"
let converseCalls = 0
const converse: BedrockSend = {
  send: (async (command: unknown) => {
    if (!(command instanceof ConverseCommand)) throw new Error("unexpected command")
    converseCalls++
    if (mode === "throttle") {
      throw Object.assign(new Error("ThrottlingException"), { name: "ThrottlingException", $metadata: { httpStatusCode: 429 } })
    }
    return {
      output: { message: { role: "assistant", content: [{ text: "Your hemoglobin is 11.2 g/dL, below the range 12.0–16.0." }] } },
      stopReason: "end_turn",
      usage: { inputTokens: 500, outputTokens: 40, totalTokens: 540 },
      metrics: { latencyMs: 5 }
    }
  }) as unknown as BedrockSend["send"]
}
const llm = makeBedrockLLM(converse, {
  modelId: "anthropic.claude-3-5-sonnet-20241022-v2:0",
  breaker,
  retry: makeRetrySchedule({ base: "2 millis", maxRetries: MAX_RETRIES, maxDelay: "10 millis" }),
  deidentifier: makeLocalDeidentifier()
})

const gauge = (state: "closed" | "open" | "half_open") =>
  Effect.runSync(Metric.value(Metric.withAttributes(Metric.withAttributes(circuitBreakerState, { service: config.name }), { state: state }))).value
const breakerGauges = () => ({ closed: gauge("closed"), open: gauge("open"), half_open: gauge("half_open") })
const external503s = () =>
  Effect.runSync(Metric.value(Metric.withAttributes(Metric.withAttributes(errorsByCategory, { category: "external" }), { recovery: "fallback" }))).count
const recoveries = (strategy: "retry" | "fallback", success: boolean) =>
  Effect.runSync(Metric.value(Metric.withAttributes(Metric.withAttributes(recoverySuccess, { strategy: strategy }), { success: String(success) }))).count

let app: InProcess
let token = ""
let cachedFor = ""
let fallbackTo = ""
let stormOn = ""

beforeAll(async () => {
  app = await startInProcess({ llm: Layer.succeed(LLM, llm), workers: false })
  const userId = (await app.runtime.runPromise(newUser("Storm"))) as UserId
  token = await app.tokenFor(userId)
  // Two items with the same document: the layer's cache is keyed by document, history and question.
  const save = saveContent({ userId, document: scriptedDocument(), provider: "aws.bedrock", modelId: "m" })
  cachedFor = await app.runtime.runPromise(save)
  fallbackTo = await app.runtime.runPromise(save)
  stormOn = await app.runtime.runPromise(
    saveContent({ userId, document: scriptedDocument({ title: "Another panel" }), provider: "aws.bedrock", modelId: "m" })
  )
}, 60_000)

afterAll(async () => {
  await app?.runtime.dispose()
}, 30_000)

const ask = (contentId: string, message: string) =>
  send(app.port, { method: "POST", path: "/chat/messages", body: json({ contentId, message }).body, headers: { ...json({}).headers, ...bearer(token) } })

describe("LLM failure storm", () => {
  it("opens at the threshold, fails fast with 503, serves the cached answer, trials half-open after the timeout and closes", async () => {
    const steps: Array<Record<string, unknown>> = []
    const record = (step: string, extra: Record<string, unknown> = {}) =>
      steps.push({ step, ...breakerGauges(), converseCalls, external503s: external503s(), ...extra })

    // 1. Closed: an answer, kept by the layer for its fallback.
    const question = "What is my hemoglobin?"
    const first = await ask(cachedFor, question)
    expect(first.status).toBe(200)
    const answered = (JSON.parse(first.body) as { message: { content: string } }).message.content
    expect(breakerGauges()).toEqual({ closed: 1, open: 0, half_open: 0 })
    record("closed: answered")

    // 2. The storm: every call is throttled (after the layer's own retries) until the breaker opens.
    mode = "throttle"
    const errorsBefore = external503s()
    const retryFailuresBefore = recoveries("retry", false)
    for (let i = 1; i <= config.failureThreshold; i++) {
      const callsBefore = converseCalls
      const failed = await ask(stormOn, `storm question ${i}`)
      expect(failed.status).toBe(503)
      expect(failed.headers["retry-after"]).toBeDefined()
      expect(isUniformError(failed.body)).toBe(true)
      expect(JSON.parse(failed.body)).toMatchObject({ error: { code: "LLM_UNAVAILABLE", category: "external" } })
      expect(converseCalls - callsBefore, "each call reached the model, retries included").toBe(1 + MAX_RETRIES)
      expect(await Effect.runPromise(breaker.state)).toBe(i < config.failureThreshold ? "closed" : "open")
    }
    expect(breakerGauges()).toEqual({ closed: 0, open: 1, half_open: 0 })
    expect(external503s() - errorsBefore).toBe(config.failureThreshold)
    expect(recoveries("retry", false) - retryFailuresBefore).toBe(config.failureThreshold)
    record("open after threshold", { threshold: config.failureThreshold })

    // 3. Open: fail fast, the model is not called, Retry-After says when to come back.
    const callsWhileOpen = converseCalls
    const fallbackFailuresBefore = recoveries("fallback", false)
    const fast = await ask(stormOn, "a new question while open")
    expect(fast.status).toBe(503)
    expect(Number(fast.headers["retry-after"])).toBeGreaterThanOrEqual(1)
    expect(Number(fast.headers["retry-after"])).toBeLessThanOrEqual(Math.ceil(OPEN_TIMEOUT_MS / 1000))
    expect(fast.ms).toBeLessThan(500)
    expect(converseCalls).toBe(callsWhileOpen)
    expect(recoveries("fallback", false) - fallbackFailuresBefore).toBe(1)
    record("open: fail fast", { ms: fast.ms })

    // 4. Open, but the same document, history and question were answered before: the cached answer.
    const fallbackSuccessesBefore = recoveries("fallback", true)
    const cached = await ask(fallbackTo, question)
    expect(cached.status).toBe(200)
    expect((JSON.parse(cached.body) as { message: { content: string } }).message.content).toBe(answered)
    expect(converseCalls).toBe(callsWhileOpen)
    expect(recoveries("fallback", true) - fallbackSuccessesBefore).toBe(1)
    record("open: cached fallback")

    // 5. After the timeout: half-open; the model is back; successThreshold trials close the breaker.
    await sleep(OPEN_TIMEOUT_MS + 100)
    expect(await Effect.runPromise(breaker.state)).toBe("half_open")
    expect(breakerGauges()).toEqual({ closed: 0, open: 0, half_open: 1 })
    record("half_open after timeout")
    mode = "answer"
    for (let i = 1; i <= config.successThreshold; i++) {
      const trial = await ask(stormOn, `trial ${i}`)
      expect(trial.status).toBe(200)
      expect(await Effect.runPromise(breaker.state)).toBe(i < config.successThreshold ? "half_open" : "closed")
    }
    expect(breakerGauges()).toEqual({ closed: 1, open: 0, half_open: 0 })
    record("closed after trials", { successThreshold: config.successThreshold })

    // 6. A failed half-open trial opens it again at once.
    mode = "throttle"
    for (let i = 0; i < config.failureThreshold; i++) expect((await ask(stormOn, `second storm ${i}`)).status).toBe(503)
    expect(await Effect.runPromise(breaker.state)).toBe("open")
    await sleep(OPEN_TIMEOUT_MS + 100)
    expect(await Effect.runPromise(breaker.state)).toBe("half_open")
    expect((await ask(stormOn, "failed trial")).status).toBe(503)
    expect(breakerGauges()).toEqual({ closed: 0, open: 1, half_open: 0 })
    record("open again after a failed trial")
    console.log("llm storm:", JSON.stringify(steps))
  }, 60_000)
})
