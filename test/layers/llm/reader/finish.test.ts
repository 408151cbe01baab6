/** The step every provider's answer goes through: critical first, no false reassurance, unread lines counted. */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { finishDocument } from "../../../../src/layers/llm/reader/finish.js"
import {
  CRITICAL_ACTION,
  InterpretedDocument,
  LabResult,
  ReferenceRange,
  type ResultFlag,
  soundsReassuring,
  UnreadLine
} from "../../../../src/services/llm.js"

const result = (name: string, value: number, flag: ResultFlag) =>
  new LabResult({ name, value, unit: "mmol/L", referenceRange: new ReferenceRange({ low: 1, high: 2, text: "1-2" }), flag })

const documentOf = (results: ReadonlyArray<LabResult>, summary: string, unread = 0) =>
  new InterpretedDocument({
    documentType: "lab_results",
    title: "Chemistry",
    results,
    vitals: [],
    unreadLines: Array.from({ length: unread }, (_, i) => new UnreadLine({ page: 1, line: i + 3, text: `Sodium 1${i} 9` })),
    summary
  })

describe("soundsReassuring", () => {
  it.each([
    "All results are within the normal range.",
    "All of your values look normal.",
    "Every test came back normal.",
    "Great news: all your results were fine.",
    "Everything looks fine.",
    "Nothing is abnormal on this report.",
    "There are no abnormal results.",
    "The panel is unremarkable.",
    "A normal report.",
    "Your results are in range.",
    "The blood test results were all normal."
  ])("catches %j", (text) => expect(soundsReassuring(text)).toBe(true))

  it.each([
    "All other results are within the reference range.",
    "9 results are within the reference range.",
    "2 results are flagged and 9 are within the reference range.",
    "Potassium is 6.9 mmol/L, above the reference range 3.5–5.1.",
    "Please talk to your clinician about the flagged results.",
    "The log gives no reference ranges to compare the readings with; bring it to your clinician if you want to discuss them."
  ])("leaves %j alone", (text) => expect(soundsReassuring(text)).toBe(false))
})

describe("finishDocument", () => {
  it("puts critical results first, the rest in document order, and the notice first in the summary", () => {
    const finished = finishDocument(
      documentOf(
        [result("Sodium", 139, "normal"), result("Chloride", 90, "low"), result("Potassium", 6.9, "critical_high")],
        "Chloride is low."
      )
    )
    expect(finished.results.map((r) => r.name)).toEqual(["Potassium", "Sodium", "Chloride"])
    expect(finished.summary).toBe(
      `Important: this document has a critical value (Potassium 6.9 mmol/L). ${CRITICAL_ACTION} Chloride is low.`
    )
  })

  it("replaces a model's reassurance when a result is flagged, and counts unread lines", () => {
    const finished = finishDocument(documentOf([result("Chloride", 90, "low")], "All your results look normal.", 2))
    expect(soundsReassuring(finished.summary)).toBe(false)
    expect(finished.summary).toContain("Chloride is 90 mmol/L, below the reference range 1–2.")
    expect(finished.summary).toContain("2 lines look like results but could not be read; please check them on the original document.")
  })

  it("keeps a normal summary for a normal document", () => {
    const text = "All results are within the reference ranges given on the report."
    expect(finishDocument(documentOf([result("Sodium", 1.5, "normal")], text)).summary).toBe(text)
  })

  it("property: a document with anything flagged, critical or unread never reads as all normal", () => {
    const flags: ReadonlyArray<ResultFlag> = ["low", "normal", "high", "critical_low", "critical_high", "abnormal", "unknown"]
    const reassuring = fc.constantFrom(
      "All results are within the normal range.",
      "Everything looks fine.",
      "No abnormal results were found.",
      "All of your values were normal, nothing to worry about.",
      "Your results are in range."
    )
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...flags), fc.double({ min: 0, max: 1000, noNaN: true })), { maxLength: 20 }),
        fc.nat({ max: 3 }),
        reassuring,
        (rows, unread, summary) => {
          const document = documentOf(rows.map(([flag, value], i) => result(`Test ${i}`, value, flag)), summary, unread)
          const finished = finishDocument(document)
          const critical = rows.some(([flag]) => flag === "critical_low" || flag === "critical_high")
          const concerning = unread > 0 || rows.some(([flag]) => flag !== "normal" && flag !== "unknown")
          if (concerning) {
            expect(soundsReassuring(finished.summary)).toBe(false)
            expect(finished.summary).not.toContain(summary)
          }
          expect(finished.summary.includes(CRITICAL_ACTION)).toBe(critical)
          expect(finished.results.length).toBe(rows.length)
          const firstOther = finished.results.findIndex((r) => r.flag !== "critical_low" && r.flag !== "critical_high")
          if (firstOther >= 0) expect(finished.results.slice(firstOther).every((r) => !r.flag.startsWith("critical"))).toBe(true)
        }
      )
    )
  })
})

describe("the chat's answers", () => {
  it("an answer that calls a flagged document normal is replaced by the counts; a true one is kept", async () => {
    const { withoutFalseReassurance } = await import("../../../../src/programs/chat.js")
    const flagged = documentOf([result("Chloride", 90, "low"), result("Sodium", 1.5, "normal")], "s", 1)
    expect(withoutFalseReassurance(flagged, "Good news: all your results are normal.")).toBe(
      "1 result on this document is outside the reference range, so I can't say that everything is normal. " +
        "1 line of it could not be read; please check it on the original document. " +
        "Please talk to your clinician about the flagged results."
    )
    expect(withoutFalseReassurance(flagged, "Your chloride is 90 mmol/L, below the range.")).toBe(
      "Your chloride is 90 mmol/L, below the range."
    )
    const normal = documentOf([result("Sodium", 1.5, "normal")], "s")
    expect(withoutFalseReassurance(normal, "All your results are normal.")).toBe("All your results are normal.")
  })
})
