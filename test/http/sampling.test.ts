/** Sampling decided per request before any span exists, from the standard sampler settings. */
import { Headers } from "effect/http"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { makeRequestSampler } from "../../src/http/sampling.js"

const none = Headers.empty
const parent = (sampled: boolean) =>
  Headers.fromInput({ traceparent: `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-${sampled ? "01" : "00"}` })

describe("request sampling", () => {
  it("always_on / always_off ignore the caller; their parent-based forms follow a sampled flag when there is one", () => {
    expect(makeRequestSampler("always_on", 1)(parent(false))).toBe(true)
    expect(makeRequestSampler("always_off", 1)(parent(true))).toBe(false)
    const parentOn = makeRequestSampler("parentbased_always_on", 1)
    expect([parentOn(none), parentOn(parent(true)), parentOn(parent(false))]).toEqual([true, true, false])
    const parentOff = makeRequestSampler("parentbased_always_off", 1)
    expect([parentOff(none), parentOff(parent(true)), parentOff(parent(false))]).toEqual([false, true, false])
  })

  it("traceidratio samples that share of root requests; the parent-based form still follows a caller's decision", () => {
    let next = 0
    const draws = [0.05, 0.5, 0.2, 0.99]
    const sampler = makeRequestSampler("traceidratio", 0.25, () => draws[next++ % draws.length]!)
    expect([sampler(none), sampler(none), sampler(none), sampler(none)]).toEqual([true, false, true, false])
    const parentRatio = makeRequestSampler("parentbased_traceidratio", 0, () => 0)
    expect([parentRatio(none), parentRatio(parent(true))]).toEqual([false, true])
  })

  it("property: the share of sampled root requests tracks the ratio", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (ratio) => {
        const sampler = makeRequestSampler("traceidratio", ratio)
        let sampled = 0
        for (let i = 0; i < 4000; i++) if (sampler(none)) sampled++
        expect(Math.abs(sampled / 4000 - ratio)).toBeLessThan(0.05)
      }),
      { numRuns: 30 }
    )
  })
})
