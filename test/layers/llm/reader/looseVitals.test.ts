/**
 * The vitals reader of last resort (looseVitals.ts): readings known by their shape, names and
 * units whatever the layout, dated by their line or the day above, under headers in any script,
 * in data exports and in charts with a column per day; and what is never a reading (limits,
 * targets, averages, the other unit in brackets). Then, through parseLabReport, diaries generated
 * in several languages and date styles come back reading for reading.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { parseLabReport } from "../../../../src/layers/llm/reader/index.js"
import { dayOfLine, gridDays, headerLabels } from "../../../../src/layers/llm/reader/looseLayout.js"
import { readLooseLine } from "../../../../src/layers/llm/reader/looseVitals.js"

const brief = (vitals: ReadonlyArray<{ kind: string; time: string; value: number; diastolic?: number | undefined; unit: string }>) =>
  vitals.map((v) => `${v.kind} ${v.time} ${v.value}${v.diastolic === undefined ? "" : `/${v.diastolic}`} ${v.unit}`)

describe("readLooseLine", () => {
  it("reads pressures by shape, values after their names in other scripts, and values with units, each at the time before it", () => {
    expect(brief(readLooseLine("   утро  7:30   АД 152/94, ЧСС 78;  вес 78,4 кг", "2025-11-03", undefined))).toEqual([
      "blood_pressure 2025-11-03T07:30 152/94 mmHg",
      "pulse 2025-11-03T07:30 78 bpm",
      "weight 2025-11-03T07:30 78.4 kg"
    ])
    expect(brief(readLooseLine("Mon 11/3 | 6:45a  148/92  144/90  78 | 9:10p  138/86  74 |", "2025-11-03", undefined))).toEqual([
      "blood_pressure 2025-11-03T06:45 148/92 mmHg",
      "blood_pressure 2025-11-03T06:45 144/90 mmHg",
      "pulse 2025-11-03T06:45 78 bpm",
      "blood_pressure 2025-11-03T21:10 138/86 mmHg",
      "pulse 2025-11-03T21:10 74 bpm"
    ])
    expect(brief(readLooseLine("seg 08/12   PA 110x72  pulso 84  (manhã, 8h10)", "2025-12-08", undefined))).toEqual([
      "blood_pressure 2025-12-08T08:10 110/72 mmHg",
      "pulse 2025-12-08T08:10 84 bpm"
    ])
  })

  it("keeps one reading of one printed in two units, in °C or kg, and the value a correction arrow leads to", () => {
    expect(brief(readLooseLine(" 5:50 pm   103.1 F (39.5 C)  -- called nurse line", "2025-12-31", undefined))).toEqual(["temperature 2025-12-31T17:50 39.5 °C"])
    expect(brief(readLooseLine("  dim. 1er novembre   78,9 kg   (173,9 lb)", "2026-11-01", undefined))).toEqual(["weight 2026-11-01 78.9 kg"])
    const header = headerLabels("日期       时间     血氧饱和度SpO2(%)   脉率(次/分)   体温(℃)   备注")
    expect(brief(readLooseLine("           21:00        91 → 94            90          37.9      重测94", "2026-01-08", header))).toEqual([
      "spo2 2026-01-08T21:00 94 %",
      "pulse 2026-01-08T21:00 90 bpm",
      "temperature 2026-01-08T21:00 37.9 °C"
    ])
  })

  it("never reads a limit, a target, a range or a deviation as a reading", () => {
    for (const line of [
      "Call the clinic if ≥160/110, or ≥140/90 twice",
      "avisar se passar de 140x90",
      "GOAL: under 130/80 (per Dr. Pham)",
      "Target (dry) weight: 81.0 kg",
      "Classification: optimal <120/80 · normal 120–129/80–84",
      "Wrist temp. dev. +0.3 °C vs baseline",
      "normal resting HR 50-90 bpm",
      "meta da nutri: 11 a 16 kg no total",
      "RR  20 /min"
    ]) {
      expect(readLooseLine(line, "2026-01-01", undefined), line).toEqual([])
    }
  })

  it("maps the bare numbers of a row to the header's columns, measured in display columns, skipping columns it does not show", () => {
    const header = headerLabels("Dato   Kl.    BT mmHg    Puls  RF   SpO2 %  O2 l/min  Temp °C  ACVPU  NEWS2  Smerte")
    expect(header?.filter((l) => l.kind !== "other").map((l) => l.kind)).toEqual(["pulse", "spo2", "temperature"])
    expect(brief(readLooseLine("13.05  00:30  146/84     104   22   94      1         37,4     C      9      6", "2026-05-13", header))).toEqual([
      "blood_pressure 2026-05-13T00:30 146/84 mmHg",
      "pulse 2026-05-13T00:30 104 bpm",
      "spo2 2026-05-13T00:30 94 %",
      "temperature 2026-05-13T00:30 37.4 °C"
    ])
  })

  it("reads a data export's rows by the cells its header names", () => {
    const header = headerLabels("timestamp,device,measure_type,weight_kg,fat_ratio_pct,bmi,systolic,diastolic,heart_rate,irregular,source")
    expect(brief(readLooseLine("2026-03-09T07:03:55+01:00,Cuff C1,blood_pressure,,,,142,90,79,0,device", "2026-03-09", header))).toEqual([
      "blood_pressure 2026-03-09T07:03 142/90 mmHg",
      "pulse 2026-03-09T07:03 79 bpm"
    ])
    expect(brief(readLooseLine("2026-03-11T07:16:08+01:00,Scale S2,weight,93.5,30.8,30.5,,,68,,device", "2026-03-11", header))).toEqual([
      "weight 2026-03-11T07:16 93.5 kg",
      "pulse 2026-03-11T07:16 68 bpm"
    ])
  })

  it("dates the readings of a chart with a column per day by their column, and a row by its name", () => {
    const days = gridDays("            Mon 9    Tue 10   Wed 11   Thu 12", "dmy", "2026-03-31")
    expect(days?.map((d) => d.value)).toEqual(["2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12"])
    const grid = { days: days ?? [] }
    expect(brief(readLooseLine("AM 1st      152/94   146/90   149/92   144/89", "2026-03-01", undefined, grid))).toEqual([
      "blood_pressure 2026-03-09 152/94 mmHg",
      "blood_pressure 2026-03-10 146/90 mmHg",
      "blood_pressure 2026-03-11 149/92 mmHg",
      "blood_pressure 2026-03-12 144/89 mmHg"
    ])
    expect(brief(readLooseLine("Pulse (AM)  74       71       76       72", "2026-03-01", undefined, grid))).toEqual([
      "pulse 2026-03-09 74 bpm",
      "pulse 2026-03-10 71 bpm",
      "pulse 2026-03-11 76 bpm",
      "pulse 2026-03-12 72 bpm"
    ])
  })
})

describe("dayOfLine", () => {
  it.each([
    ["3.11. пн", "2025-11-03"],
    ["Mon 11/3 | 6:45a  148/92", "2025-11-03"],
    ["1月8日     07:30        94", "2025-01-08"],
    [" 1월 12일(월)  아침   06:50", "2025-01-12"],
    ["Tue 3rd", "2025-11-03"],
    ["Sem. 19  seg 01/12   peso 66,2 kg", "2025-12-01"],
    ["13.05  00:30  146/84", "2025-05-13"],
    ["2025-11-03T07:30:00Z,pulse,72", "2025-11-03"]
  ])("%s → %s", (line, day) => {
    expect(dayOfLine(line, "dmy", "2025-11-30")).toBe(day)
  })

  it("no day: a dose, a birth date, a value", () => {
    expect(dayOfLine("Tylenol 7.5 mL dose", "dmy", "2025-11-30")).toBeUndefined()
    expect(dayOfLine("DOB 04/22/1961", "mdy", "2025-11-30")).toBeUndefined()
    expect(dayOfLine("weight 12.5 kg", "dmy", "2025-11-30")).toBeUndefined()
  })
})

describe("diaries the table and diary readers do not know, through parseLabReport", () => {
  it("a Russian diary with days as headings, a New Year crossed, averages left out", () => {
    const text = [
      "ДНЕВНИК АД — декабрь 2025",
      "30.12. вт",
      "   утро  7:30   АД 152/94, ЧСС 78",
      "31.12. ср",
      "   вечер 21:00  АД 141/88, ЧСС 72",
      "1.01. чт",
      "   утро  8:15   АД 148/90  ЧСС 80",
      "Средние за неделю: утро 150/92"
    ].join("\n")
    const { vitals, unreadLines } = parseLabReport(text)
    expect(brief(vitals)).toEqual([
      "blood_pressure 2025-12-30T07:30 152/94 mmHg",
      "pulse 2025-12-30T07:30 78 bpm",
      "blood_pressure 2025-12-31T21:00 141/88 mmHg",
      "pulse 2025-12-31T21:00 72 bpm",
      "blood_pressure 2026-01-01T08:15 148/90 mmHg",
      "pulse 2026-01-01T08:15 80 bpm"
    ])
    expect(unreadLines).toEqual([])
  })

  const LANGUAGES = [
    { bp: "BP", pulse: "pulse" },
    { bp: "АД", pulse: "ЧСС" },
    { bp: "RR", pulse: "Puls" },
    { bp: "PA", pulse: "pulso" },
    { bp: "血压", pulse: "脉搏" },
    { bp: "TA", pulse: "pouls" }
  ] as const

  it("property: generated diaries (day headings in several styles, readings in several languages) come back reading for reading", () => {
    const entry = fc.record({
      hour: fc.integer({ min: 5, max: 22 }),
      minute: fc.integer({ min: 0, max: 59 }),
      systolic: fc.integer({ min: 100, max: 190 }),
      diastolic: fc.integer({ min: 55, max: 99 }),
      pulse: fc.integer({ min: 45, max: 120 }),
      note: fc.constantFrom("", "  (before tablets)", "  felt dizzy", "  left arm")
    })
    const diary = fc.record({
      language: fc.constantFrom(...LANGUAGES),
      heading: fc.constantFrom("dotted", "slashed", "weekday"),
      days: fc.array(fc.array(entry, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 })
    })
    fc.assert(
      fc.property(diary, ({ language, heading, days }) => {
        const lines = ["Home readings — March 2026", ""]
        const expected: Array<string> = []
        days.forEach((entries, d) => {
          const day = d + 2
          lines.push(heading === "dotted" ? `${day}.03.` : heading === "slashed" ? `${day}/03` : `${["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d % 7]} ${day}.03.`)
          for (const e of entries) {
            const time = `${String(e.hour).padStart(2, "0")}:${String(e.minute).padStart(2, "0")}`
            lines.push(`   ${time}   ${language.bp} ${e.systolic}/${e.diastolic}, ${language.pulse} ${e.pulse}${e.note}`)
            const stamp = `2026-03-${String(day).padStart(2, "0")}T${time}`
            expected.push(`blood_pressure ${stamp} ${e.systolic}/${e.diastolic} mmHg`, `pulse ${stamp} ${e.pulse} bpm`)
          }
        })
        const { vitals } = parseLabReport(lines.join("\n"))
        expect(brief(vitals).sort()).toEqual(expected.sort())
      }),
      { numRuns: 150 }
    )
  })
})
