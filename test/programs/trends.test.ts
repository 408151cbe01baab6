/**
 * Trends (programs/trends.ts): a test's values across documents, in one unit; the index sealed in
 * each document's row, removed with it, built for documents stored before it existed; and the
 * conversions it relies on.
 */
import { SqlClient } from "effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { CryptoMemory } from "../../src/layers/crypto/memory.js"
import { StorageMemory } from "../../src/layers/storage/memory.js"
import { scriptedDocument } from "../../src/layers/llm/scripted.js"
import { lookupAnalyte } from "../../src/layers/llm/reader/lexicon/analytes.js"
import { removeContent, saveContent } from "../../src/programs/content.js"
import { codesOf, documentTrends, listTrends, MOLAR_GROUPS, readTrend } from "../../src/programs/trends.js"
import { convertValue } from "../../src/programs/trendUnits.js"
import { answerQuestion } from "../../src/layers/llm/offlineChat.js"
import { chatRequest } from "../../src/layers/llm/bedrockRequest.js"
import { MODELS } from "../../src/services/models.js"
import { encodeTrendEntries, nameKey, parseTrendEntries, type TrendEntry } from "../../src/programs/trendIndex.js"
import * as fc from "fast-check"
import { type UserId } from "../../src/services/ids.js"
import { LabResult, ReferenceRange, type ResultFlag, ResultFlag as ResultFlagSchema } from "../../src/services/llm.js"
import { makeTimelineCache } from "../../src/layers/timelineCache/memory.js"
import { TimelineCache } from "../../src/services/timelineCache.js"
import { makeTrendsCache } from "../../src/layers/trendsCache/memory.js"
import { TrendsCache } from "../../src/services/trendsCache.js"
import { AuditWithRows } from "../support/audit.js"
import { TestDatabaseLive } from "../support/database.js"
import { newUser } from "../support/users.js"

const Cache = Layer.sync(TimelineCache, () => makeTimelineCache({ ttl: "5 minutes", maxUsers: 100 }))
const Trends = Layer.sync(TrendsCache, () => makeTrendsCache({ ttl: "5 minutes", maxUsers: 100 }))
const TestLayer = Layer.mergeAll(CryptoMemory, StorageMemory, AuditWithRows, Cache, Trends).pipe(Layer.provideMerge(TestDatabaseLive()))

const result = (name: string, value: number | string, unit: string, extra: { loinc?: string; ucumUnit?: string; flag?: ResultFlag } = {}) =>
  new LabResult({
    name,
    value,
    unit,
    referenceRange: new ReferenceRange({ text: "" }),
    flag: extra.flag ?? "normal",
    ...(extra.loinc === undefined ? {} : { loinc: extra.loinc }),
    ...(extra.ucumUnit === undefined ? {} : { ucumUnit: extra.ucumUnit })
  })

const store = (userId: UserId, collectedAt: string | undefined, results: ReadonlyArray<LabResult>) =>
  saveContent({
    userId,
    document: scriptedDocument({ results: [...results], ...(collectedAt === undefined ? {} : { collectedAt }) }),
    provider: "offline",
    modelId: "test"
  })

describe("trends: conversions", () => {
  it("glucose and cholesterol convert between mg/dL and mmol/L with their molar masses; dimensions convert alone; others do not", () => {
    const glucose = MOLAR_GROUPS.find((g) => g.analyte === "glucose")!.molarMass
    const cholesterol = MOLAR_GROUPS.find((g) => g.analyte === "cholesterol, total")!.molarMass
    expect(convertValue(99, "mg/dL", "mmol/L", glucose)).toBe(5.495)
    expect(convertValue(5.5, "mmol/L", "mg/dL", glucose)).toBe(99.09)
    expect(convertValue(200, "mg/dL", "mmol/L", cholesterol)).toBe(5.173)
    expect(convertValue(1.2, "g/L", "mg/dL")).toBe(120)
    expect(convertValue(99, "mg/dL", "mmol/L")).toBeUndefined()
    // HbA1c: % (NGSP) and mmol/mol (IFCC) are both ratios to UCUM, but not one scale: never converted
    expect(convertValue(7, "%", "mmol/mol")).toBeUndefined()
    expect(convertValue(0.07, "1", "%")).toBeUndefined()
    expect(convertValue(4.1, "mmol/L", "mmol/L")).toBe(4.1)
  })

  it("the molar masses are the reader's lexicon's, and each group's first code is the lexicon's code", () => {
    for (const group of MOLAR_GROUPS) {
      const analyte = lookupAnalyte(group.analyte)
      expect(analyte, group.analyte).toBeDefined()
      expect(analyte!.molarMass, group.analyte).toBe(group.molarMass)
      expect(group.codes[0]).toBe(analyte!.loinc)
      expect(codesOf(group.codes.at(-1)!)).toBe(group.codes)
    }
    expect(codesOf("718-7")).toEqual(["718-7"])
  })

  it("the index reads back what was sealed, and anything else reads as nothing (never a throw, never a wrong entry)", () => {
    const entry = fc.record({
      code: fc.option(fc.string(), { nil: undefined }),
      name: fc.string(),
      value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string()),
      unit: fc.string(),
      ucum: fc.option(fc.string(), { nil: undefined }),
      flag: fc.constantFrom(...ResultFlagSchema.literals),
      collectedAt: fc.option(fc.string(), { nil: undefined })
    }).map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as TrendEntry)
    fc.assert(fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
      expect(parseTrendEntries(encodeTrendEntries(entries))).toEqual(entries.map((e) => (Object.is(e.value, -0) ? { ...e, value: 0 } : e)))
    }), { numRuns: 300 })
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const parsed = parseTrendEntries(JSON.stringify(value))
      if (parsed !== undefined) for (const e of parsed) expect(ResultFlagSchema.literals).toContain(e.flag)
    }), { numRuns: 300 })
    expect(parseTrendEntries("not json")).toBeUndefined()
    expect(parseTrendEntries('[{"name":"x","value":1,"unit":"","flag":"bogus"}]')).toBeUndefined()
    expect(parseTrendEntries('[{"name":"x","value":null,"unit":"","flag":"low"}]')).toBeUndefined()
  })

  it("names match whatever their case, punctuation or spacing", () => {
    expect(nameKey("HbA1c")).toBe(nameKey("HBA1C"))
    expect(nameKey("LDL-C")).toBe(nameKey(" ldl  c "))
    expect(nameKey("Glucose")).not.toBe(nameKey("Glucose, urine"))
  })
})

layer(TestLayer)("trends over documents", (it) => {
  it.effect("one test across documents, oldest first, converted to the latest value's unit, the printed value kept", () =>
    Effect.gen(function* () {
      const user = yield* newUser()
      const other = yield* newUser()
      const a = yield* store(user, "2026-01-10", [result("Glucose", 99, "mg/dL", { loinc: "2345-7", ucumUnit: "mg/dL" }), result("Hemoglobin", 11.2, "g/dL", { loinc: "718-7", ucumUnit: "g/dL", flag: "low" })])
      const b = yield* store(user, "2026-06-02T08:15", [result("Glucose, fasting", 6.1, "mmol/L", { loinc: "14749-6", ucumUnit: "mmol/L", flag: "high" })])
      const c = yield* store(user, "2026-03-15", [result("GLU", 105, "mg/dL", { loinc: "2345-7", ucumUnit: "mg/dL", flag: "high" })])
      yield* store(other, "2026-02-01", [result("Glucose", 300, "mg/dL", { loinc: "2345-7", ucumUnit: "mg/dL" })])

      const trend = yield* readTrend(user, { code: "2345-7" })
      expect(trend.unit).toBe("mmol/L")
      expect(trend.points.map((p) => [p.contentId, p.at, p.value, p.unit, p.flag])).toEqual([
        [a, "2026-01-10", 5.495, "mmol/L", "normal"],
        [c, "2026-03-15", 5.828, "mmol/L", "high"],
        [b, "2026-06-02T08:15", 6.1, "mmol/L", "high"]
      ])
      expect(trend.points[0]?.printed).toEqual({ value: 99, unit: "mg/dL" })
      expect(trend.points[2]?.printed).toBeUndefined()
      expect(trend.name).toBe("Glucose, fasting")
      // the other user's 300 mg/dL is not in it
      expect(trend.points).toHaveLength(3)

      const byName = yield* readTrend(user, { name: "hemoglobin" })
      expect(byName.points.map((p) => [p.value, p.unit, p.flag])).toEqual([[11.2, "g/dL", "low"]])
      expect((yield* readTrend(user, { code: "9999-9" })).points).toEqual([])

      const list = yield* listTrends(user)
      expect(list.map((t) => [t.code, t.name, t.count, t.latest.value])).toEqual([
        ["2345-7", "Glucose, fasting", 3, 6.1],
        ["718-7", "Hemoglobin", 1, 11.2]
      ])
    })
  )

  it.effect("the index is sealed in the document's row, goes with it, and is built for a document stored before it existed", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const user = yield* newUser()
      const first = yield* store(user, "2026-01-10", [result("Potassium", 4.1, "mmol/L", { loinc: "2823-3", ucumUnit: "mmol/L" })])
      const second = yield* store(user, undefined, [result("Potassium", 5.6, "mmol/L", { loinc: "2823-3", ucumUnit: "mmol/L", flag: "high" })])
      const [row] = yield* sql<{ trends: Uint8Array }>`SELECT trends_encrypted AS trends FROM content WHERE id = ${first}::uuid`
      const raw = Buffer.from(row!.trends).toString("latin1")
      for (const plain of ["Potassium", "2823-3", "4.1", "mmol"]) expect(raw).not.toContain(plain)

      // a document stored before the index: none in its row; reading trends builds and keeps it
      yield* sql`UPDATE content SET trends_encrypted = NULL WHERE id = ${first}::uuid`
      const trend = yield* readTrend(user, { code: "2823-3" })
      // the second has no date: it is dated by when it was stored (the row's created_at)
      const [stored] = yield* sql<{ at: Date }>`SELECT created_at AS at FROM content WHERE id = ${second}::uuid`
      expect(trend.points.map((p) => [p.contentId, p.value, p.dated, p.at])).toEqual([
        [first, 4.1, "collected", "2026-01-10"],
        [second, 5.6, "stored", stored!.at.toISOString()]
      ])
      const [rebuilt] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM content WHERE id = ${first}::uuid AND trends_encrypted IS NOT NULL`
      expect(rebuilt?.n).toBe(1)

      // removed with its document (the cached index is not served past the change: the user's content stamp moved)
      expect(yield* removeContent(user, first)).toBe(true)
      expect((yield* readTrend(user, { code: "2823-3" })).points.map((p) => p.contentId)).toEqual([second])
      // nor past a document stored since it was cached
      const third = yield* store(user, "2026-11-30", [result("Potassium", 4.4, "mmol/L", { loinc: "2823-3", ucumUnit: "mmol/L" })])
      expect((yield* readTrend(user, { code: "2823-3" })).points.map((p) => p.contentId)).toEqual([third, second])
    })
  )

  it.effect("chat about a document sees its tests across documents: the offline answer to \"how has it changed?\", and the model's context", () =>
    Effect.gen(function* () {
      const user = yield* newUser()
      const ldl = (value: number, flag: ResultFlag) => result("LDL cholesterol", value, "mg/dL", { loinc: "13457-7", ucumUnit: "mg/dL", flag })
      yield* store(user, "2026-01-10", [ldl(162, "high")])
      const latestDocument = scriptedDocument({ collectedAt: "2026-06-02", results: [ldl(128, "high"), result("Hemoglobin", 13.1, "g/dL", { loinc: "718-7", ucumUnit: "g/dL" })] })
      const latest = yield* saveContent({ userId: user, document: latestDocument, provider: "offline", modelId: "test" })

      const trends = yield* documentTrends(user, latest, latestDocument.results)
      // only the test the user has in more than one document
      expect(trends.map((t) => [t.code, t.points.map((p) => [p.at, p.value, p.current])])).toEqual([
        ["13457-7", [["2026-01-10", 162, false], ["2026-06-02", 128, true]]]
      ])

      const answer = answerQuestion(latestDocument, "How has my LDL changed?", [], trends)
      expect(answer).toContain("2026-01-10: 162 mg/dL (high)")
      expect(answer).toContain("2026-06-02: 128 mg/dL (high) — this report")
      expect(answer).toContain("went down by 34 mg/dL")
      expect(answer).toContain("clinician")
      // a test with no earlier value says so; a question not about change is answered from the document as before
      expect(answerQuestion(latestDocument, "has my hemoglobin changed since last time?", [], trends)).toContain("nothing to compare it with yet")
      expect(answerQuestion(latestDocument, "what is my LDL?", [], trends)).not.toContain("2026-01-10")

      // the model gets the same trends beside the document
      const request = chatRequest(MODELS[0]!, { document: latestDocument, history: [], question: "How has my LDL changed?", trends }, 512)
      const context = (request.system ?? []).map((block) => ("text" in block ? block.text : "")).join("\n")
      expect(context).toContain("other documents")
      expect(context).toContain('"value":162')
      const without = chatRequest(MODELS[0]!, { document: latestDocument, history: [], question: "What is my LDL?" }, 512)
      expect(without.system).toHaveLength(2)
    })
  )
})
