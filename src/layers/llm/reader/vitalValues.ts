/**
 * A reading's value: whether a body can have it, its unit where the cell or header does not print
 * one, and one reading printed in two units kept once. Shared by every vitals reader.
 */
import type { ParsedVital } from "./types.js"

/**
 * Whether a reading is one a living person can have, in its unit: pulse 20–250 bpm, SpO2 50–100 %, temperature
 * 30–45 °C (86–113 °F), weight 0.5–400 kg (1–880 lb), systolic 50–300 over diastolic 20–200 mmHg.
 */
export const isPlausibleVital = (v: ParsedVital): boolean => {
  switch (v.kind) {
    case "pulse":
      return v.value >= 20 && v.value <= 250
    case "spo2":
      return v.value >= 50 && v.value <= 100
    case "temperature":
      return v.unit === "°F" ? v.value >= 86 && v.value <= 113 : v.value >= 30 && v.value <= 45
    case "weight":
      return v.unit === "lb" ? v.value >= 1 && v.value <= 880 : v.value >= 0.5 && v.value <= 400
    case "blood_pressure":
      return v.value >= 50 && v.value <= 300 && (v.diastolic === undefined || (v.diastolic >= 20 && v.diastolic <= 200 && v.diastolic < v.value))
  }
}

/**
 * One reading printed in two units on its line ("36,8 °C (98,2 °F)", "103.1 F (39.5 C)", "78,9 kg (173,9 lb)") is one
 * reading, in °C or kg: the °F or lb twin of a reading of the same kind, line and time (the same value converted,
 * within 0.3) is left out.
 */
export const withoutUnitTwins = <V extends ParsedVital>(vitals: ReadonlyArray<V>): Array<V> => {
  const inMetric = (v: ParsedVital) => (v.unit === "°F" ? ((v.value - 32) * 5) / 9 : v.unit === "lb" ? v.value * 0.45359237 : v.value)
  const twinOf = (v: V) =>
    vitals.some((o) => o !== v && o.kind === v.kind && o.unit !== v.unit && o.line === v.line && o.page === v.page && o.time === v.time && Math.abs(inMetric(o) - inMetric(v)) <= 0.3)
  return vitals.filter((v) => (v.unit !== "°F" && v.unit !== "lb") || !twinOf(v))
}

/**
 * A pair printed without a name or unit that can only be a blood pressure: systolic 60–260 over a lower diastolic 30–160
 * (never a date: "12/05" has no systolic of 12).
 */
export const isBarePressure = (systolic: number, diastolic: number): boolean =>
  systolic >= 60 && systolic <= 260 && diastolic >= 30 && diastolic <= 160 && systolic > diastolic

/** A blood pressure reading, in mmHg. */
export const bloodPressure = (time: string, systolic: number, diastolic: number): ParsedVital => ({
  kind: "blood_pressure",
  time,
  value: systolic,
  diastolic,
  unit: "mmHg"
})

/** The number a vitals cell starts with: "36,8 °C" → 36.8, "72 bpm" → 72, "-" → undefined. */
export const vitalNumber = (text: string): number | undefined => {
  const m = /^[-+]?\d+(?:[.,]\d+)?/.exec(text.trim())
  if (m === null) return undefined
  const n = Number(m[0].replace(",", "."))
  return Number.isFinite(n) ? n : undefined
}

/** The unit of a temperature: printed in the cell, else declared by the header, else guessed from the value. */
export const temperatureUnit = (cell: string, declared: string | undefined, value: number) => {
  // the number dropped: "98.6 °F" → "°F"; then "°F", "F", "° C", "C" (a word boundary after: not "Fever")
  const after = cell.replace(/^[\d.,\s]+/, "")
  // without a unit, a body temperature over 50 can only be Fahrenheit
  return /°?\s?F\b/i.test(after) ? "°F" : /°?\s?C\b/i.test(after) ? "°C" : (declared ?? (value > 50 ? "°F" : "°C"))
}

/** The unit of a weight: "lb"/"lbs" or "kg" in the cell, else the header's, else kg. */
export const weightUnit = (cell: string, declared: string | undefined) =>
  /lb/i.test(cell) ? "lb" : /kg/i.test(cell) ? "kg" : (declared ?? "kg")
