/**
 * Readings outside a table: named in a sentence or a note ("BP 128/84 mmHg, pulse 72"), or a diary
 * line's readings each stamped with the time printed before it ("07:05  128/84  72").
 */
import { anyOf } from "./text.js"
import type { ParsedVital } from "./types.js"
import { BP_KEY_RE, BP_NAMED_RE, PULSE_KEY_RE, TEMP_KEY_RE, TEMP_NAMED_RE, VITAL_KEYS, WEIGHT_KEY_RE } from "./vitalWords.js"
import { bloodPressure, isBarePressure, temperatureUnit } from "./vitalValues.js"
import { leadingTime, TIME_IN_LINE_RE } from "./vitalTimes.js"

/** A named reading with an optional unit. Examples: "BP 128/84 mmHg", "pulse: 72 bpm", "Temp 98.6F", "Weight this morning = 74.6 kg". */
export const INLINE_VITAL_RE = anyOf(
  [String.raw`mm\s?hg|bpm|beats\/min|\/min|%|°\s?[cf]|deg(?:rees)?\s?[cf]|[cf]\b|kg|lbs?|pounds`],
  // "BP 128/84 mmHg", "pulse 72", "Weight this morning = 74.6 kg" (a few words may sit between name and value)
  // a bracketed qualifier after the name: "Heart rate (spot)  92 bpm", "Weight (kg, chair scales): 52.4 kg"
  (units) => String.raw`\b(${VITAL_KEYS})\b(?:\s*\([\p{L}\s,.]{1,24}\))?(?:\s+\p{L}+){0,3}?\s*[:=-]?\s*(\d{2,3}\s?\/\s?\d{2,3}|\d+(?:[.,]\d+)?)\s*(${units})?`,
  "giu"
)

/** In a diary, a blood pressure without name or unit: "128/84", "128 / 84" (checked for plausibility where it is read); not in "04/18/2026". */
export const DIARY_BP_RE = /(?<![\d/.])(\d{2,3})\s?\/\s?(\d{2,3})(?![\d/.])/g

/** A blood pressure without its name, known by its unit: "128/84 mmHg", "128 / 84 mm Hg"; not "128/84" alone. */
export const BARE_BP_RE = /(?<![\d/])(\d{2,3})\s?\/\s?(\d{2,3})\s*mm\s?hg\b/gi

/** "BP 128/84 mmHg, pulse 72" and the like, outside a table. */
export const readInlineVitals = (line: string, stamp: string, diary = false): ReadonlyArray<ParsedVital> => {
  const vitals: Array<ParsedVital> = []
  // no "BP" / "blood pressure" name on the line: the pressure is read from its shape
  if (!/\b(?:blood\s+pressure|bp)\b/i.test(line) && !BP_NAMED_RE.test(line)) {
    // in a diary a reading needs no unit when it can only be a blood pressure: "128/84" (systolic
    // 60–260 above diastolic 30–160), and a number with "bpm" is the pulse
    for (const m of line.matchAll(diary ? DIARY_BP_RE : BARE_BP_RE)) {
      const systolic = Number(m[1])
      const diastolic = Number(m[2])
      if (isBarePressure(systolic, diastolic)) {
        vitals.push(bloodPressure(stamp, systolic, diastolic))
      }
    }
    // no "pulse" / "heart rate" / "HR" name: a number with its unit ("72 bpm", "72 beats/min", "72/min"), not "128/84/min"
    if (diary && !/\b(?:pulse|heart\s+rate|hr)\b/i.test(line)) {
      for (const m of line.matchAll(/(?<![\d.,/])(\d{2,3})\s*(?:bpm|beats\/min|\/min)\b/gi)) {
        vitals.push({ kind: "pulse", time: stamp, value: Number(m[1]), unit: "bpm" })
      }
    }
    // no temperature's name: a body temperature by its degrees ("99.8 °F", "37,9 °C"), in a diary only
    if (diary && !/\btemp/i.test(line) && !TEMP_NAMED_RE.test(line)) {
      for (const m of line.matchAll(/(?<![\d.,/])(\d{2,3}(?:[.,]\d)?)\s*°\s?([CF])\b/g)) {
        const value = Number((m[1] ?? "").replace(",", "."))
        const unit = m[2] === "F" ? "°F" : "°C"
        if (unit === "°F" ? value >= 90 && value <= 110 : value >= 32 && value <= 43) vitals.push({ kind: "temperature", time: stamp, value, unit })
      }
    }
  }
  for (const m of line.matchAll(INLINE_VITAL_RE)) {
    const key = (m[1] ?? "").toLowerCase()
    const raw = m[2] ?? ""
    // "mm Hg" → "mmhg"; then the key says the kind: "bp", "pulse"/"heart"/"hr", "spo2"/"sat", "temp", "weight"/"wt"
    const unit = (m[3] ?? "").toLowerCase().replace(/\s+/g, "")
    // the value is a pressure: "128/84", "128 / 84"
    const bp = /^(\d{2,3})\s?\/\s?(\d{2,3})$/.exec(raw)
    const value = Number(raw.replace(",", "."))
    if (/^(?:blood\s+pressure|bp)$/.test(key) || BP_KEY_RE.test(key)) {
      if (bp !== null) vitals.push(bloodPressure(stamp, Number(bp[1]), Number(bp[2])))
    } else if (bp !== null || !Number.isFinite(value)) {
      continue
    } else if (/^(?:pulse|heart|hr)/.test(key) || PULSE_KEY_RE.test(key)) {
      vitals.push({ kind: "pulse", time: stamp, value, unit: "bpm" })
    } else if (/sp02|spo2|sat|oxygen/.test(key)) {
      vitals.push({ kind: "spo2", time: stamp, value, unit: "%" })
    } else if (/^temp/.test(key) || TEMP_KEY_RE.test(key)) {
      vitals.push({ kind: "temperature", time: stamp, value, unit: temperatureUnit(unit, undefined, value) })
    } else if (/weight|wt/.test(key) || WEIGHT_KEY_RE.test(key)) {
      // "lb", "lbs", "pounds"
      vitals.push({ kind: "weight", time: stamp, value, unit: /lb|pound/.test(unit) ? "lb" : "kg" })
    }
  }
  return vitals
}

/**
 * The readings of a diary line, each stamped with the time printed before it on the line (the
 * date from the line above): "07:05  128/84 mmHg, pulse 72", "07:05 128/84 72 bpm   21:40 139/88 77 bpm".
 */
export const readDiaryLine = (line: string, date: string): ReadonlyArray<ParsedVital> => {
  const marks = [...line.matchAll(TIME_IN_LINE_RE)].filter((m) => {
    const hour = Number(m[1])
    return hour <= 23 && Number(m[2]) <= 59
  })
  const readings: Array<ParsedVital> = []
  marks.forEach((m, i) => {
    const start = (m.index ?? 0) + m[0].length
    const end = marks[i + 1]?.index ?? line.length
    const time = leadingTime(`${m[0]} `)
    if (time === undefined) return
    const segment = line.slice(start, end)
    const stamp = `${date}T${time.time}`
    const read = readInlineVitals(segment, stamp, true)
    readings.push(...read)
    // a diary's pulse column has no unit: "07:10  148/91  74" (a number of 30–220 right after the pressure)
    // (maybe after a one-letter or short pulse mark: "RR 144 / 90   P 77", "128/84  HF 72")
    const bare = /(?<![\d/])\d{2,3}\s?\/\s?\d{2,3}(?:\s*mmhg)?[\s|,]+(?:(?:p|hf|fc|fr|脈拍?)\.?:?\s*)?(\d{2,3})(?![\d./:,]|\s*(?:%|°|kg|lb|mg|x|mal))/i.exec(segment)
    const pulse = bare === null ? undefined : Number(bare[1])
    if (pulse !== undefined && pulse >= 30 && pulse <= 220 && read.some((v) => v.kind === "blood_pressure") && !read.some((v) => v.kind === "pulse")) {
      readings.push({ kind: "pulse", time: stamp, value: pulse, unit: "bpm" })
    }
  })
  return readings
}
