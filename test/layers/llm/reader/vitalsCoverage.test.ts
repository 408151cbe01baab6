/**
 * Vitals are never dropped in silence: a line that holds a reading the reader could not place (a
 * diary or chart in a layout it does not know) is reported as unread, while averages, targets,
 * limits, ranges and other measures are not mistaken for readings.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { parseLabReport } from "../../../../src/layers/llm/reader/index.js"
import { looksLikeVital, looksLikeVitalsRow } from "../../../../src/layers/llm/reader/vitalLike.js"

describe("looksLikeVital", () => {
  it.each([
    "Mo früh   142/91   Puls 68",
    "after lunch: 131 / 86",
    "Heart rate (spot)  92 bpm",
    "Temp (tympanic) 37.9",
    "Gewicht 82,4 kg",
    "poids ce matin 71,2",
    "SpO2 94 % at rest",
    "walked to the shop, 99.1 °F afterwards"
  ])("a reading: %s", (line) => {
    expect(looksLikeVital(line)).toBe(true)
  })

  it.each([
    "Average 135/85",
    "Target: below 135/85 mmHg",
    "Call the clinic if ≥160/110, or ≥140/90 twice",
    "Ring triage if still 140/90 or above",
    "Seuils : appeler si SpO2 < 92 % au repos",
    "call if weight rises by more than 2 kg in 3 days",
    "normal resting HR 50-90 bpm, SpO2 95-100 %",
    "Linked devices: Pulsewise Cuff BP-2",
    "Delta troponin from 0 to 2 hr < 6 ng/L",
    "Wrist temp. dev. +0.3 °C vs baseline",
    "BMI 30.4 kg/m²",
    "Height 178 cm",
    "Resp. rate 18/min",
    "(101.1 °F) (98.1 °F) (98.4 °F)",
    "Time  BP (mmHg)  Pulse  Temp  SpO2  Weight  Comment",
    "Collected 04/12/2026 08:15",
    "Error E2 – cuff too loose"
  ])("no reading: %s", (line) => {
    expect(looksLikeVital(line)).toBe(false)
  })

  it("a row of bare numbers is a vitals row once its dates and times are set aside", () => {
    expect(looksLikeVitalsRow("03.11.2026  07:10  142  91  68")).toBe(true)
    expect(looksLikeVitalsRow("Tue 3rd   am  138  88  71   pm  141  90  75")).toBe(true)
    expect(looksLikeVitalsRow("03.11.2026  07:10")).toBe(false)
    expect(looksLikeVitalsRow("Cuff 22-42 cm, serial 1842")).toBe(false)
    expect(looksLikeVitalsRow("Mittelwert  138  88  71")).toBe(false)
  })
})

describe("vitals coverage", () => {
  it("reports the readings of a layout it cannot place as unread lines", () => {
    // readings written as a list of words and numbers with no table header nor names the reader knows as columns
    const text = [
      "Blood pressure notebook — November 2026",
      "",
      "the 3rd, woke up:  top 142 bottom 91, heart 68",
      "the 3rd, bedtime:  BP one hundred and thirty-one over eighty-six",
      "12/20  — 138/88 before the tablets",
      "Average this week 135/85 (target below 135/85)"
    ].join("\n")
    const { vitals, unreadLines } = parseLabReport(text)
    const accounted = new Set([...vitals.map((v) => v.line), ...unreadLines.map((u) => u.line)])
    // the pressure on line 5 is read or reported; the average and target on line 6 are neither
    expect(accounted.has(5)).toBe(true)
    expect(accounted.has(6)).toBe(false)
  })

  it("a lab report's stray mention of a vital sign (a pulse on the requisition) is not an unread line", () => {
    const text = ["Sodium   139  mmol/L  135-145", "Potassium  4.1  mmol/L  3.5-5.1", "Pulse rate noted on requisition: 112"].join("\n")
    expect(parseLabReport(text).unreadLines).toEqual([])
  })

  it("property: every line with a blood pressure on it is read or reported unread, whatever surrounds it", () => {
    const word = fc.constantFrom("morning", "left arm", "after walk", "felt fine", "Mo", "abends", "matin", "", "sitting", "repeat")
    const time = fc.constantFrom("07:05", "7.15am", "21h40", "", "noon")
    const day = fc.constantFrom("Mon 3rd", "03.11.", "11/3", "2026-11-03", "", "Tuesday")
    const pressure = fc.tuple(fc.integer({ min: 95, max: 200 }), fc.integer({ min: 50, max: 90 }))
    const line = fc.tuple(day, time, word, pressure, word).map(([d, t, w1, [sys, dia], w2]) => `${d} ${t} ${w1} ${sys}/${dia} ${w2}`.replace(/\s+/g, " ").trim())
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), (lines) => {
        const text = ["My readings 2026", ...lines].join("\n")
        const { vitals, unreadLines } = parseLabReport(text)
        const accounted = new Set([...vitals.map((v) => v.line), ...unreadLines.map((u) => u.line)])
        return lines.every((_, i) => accounted.has(i + 2))
      }),
      { numRuns: 200 }
    )
  })
})
