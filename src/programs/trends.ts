/**
 * Trends: a test's values across the user's documents over time (`GET /results/trends?code=` or
 * `?name=`), and the tests the user has (`GET /results/trends`). Read from the trends index that
 * each document's row carries sealed (trendIndex.ts, migration 0013): the user's index values are
 * opened in one batch; a document stored before the index existed gets its index then, from its
 * body (once).
 *
 * One unit per trend: the values are converted, with NLM's @lhncbc/ucum-lhc, to the UCUM unit of
 * the most recent value, where the units differ and are convertible — by dimension alone (g/L ↔
 * mg/dL, umol/L ↔ mmol/L), or between mass and substance for the analytes whose molar mass is
 * below (glucose and the cholesterols: mg/dL ↔ mmol/L). A value in a unit that does not convert
 * keeps its own, and says so.
 */
import { Effect, Option } from "effect"
import * as Content from "../repos/content.js"
import * as Users from "../repos/users.js"
import { Audit, type RequestContext } from "../services/audit.js"
import { Crypto, fieldContext } from "../services/crypto.js"
import type { ContentId, UserId } from "../services/ids.js"
import type { ChatTrend, ResultFlag } from "../services/llm.js"
import { fnTraced } from "../services/telemetry.js"
import { type TrendIndexEntry, TrendsCache } from "../services/trendsCache.js"
import { loadContent } from "./content.js"
import { encodeTrendEntries, nameKey, parseTrendEntries, type TrendEntry, trendEntriesOf } from "./trendIndex.js"

/**
 * Analytes converted between mass and substance concentration, by the LOINC codes labs and
 * models report them under (mass and molar forms, serum/plasma and blood), with molar mass in
 * g/mol. A trend asked for by any code of a group holds the values of all its codes.
 * test/programs/trends.test.ts checks these masses against the reader's lexicon.
 */
export const MOLAR_GROUPS: ReadonlyArray<{ readonly analyte: string; readonly codes: ReadonlyArray<string>; readonly molarMass: number }> = [
  { analyte: "glucose", codes: ["2345-7", "2339-0", "14749-6", "15074-8", "1558-6", "14771-0"], molarMass: 180.16 },
  { analyte: "cholesterol, total", codes: ["2093-3", "14647-2"], molarMass: 386.65 },
  { analyte: "LDL cholesterol", codes: ["13457-7", "2089-1", "18262-6", "22748-8", "39469-2"], molarMass: 386.65 },
  { analyte: "HDL cholesterol", codes: ["2085-9", "14646-4"], molarMass: 386.65 },
  { analyte: "non-HDL cholesterol", codes: ["43396-1", "70204-3"], molarMass: 386.65 }
]

const groupOf = (code: string) => MOLAR_GROUPS.find((group) => group.codes.includes(code))

/** The codes a trend of `code` gathers: its group's, or itself. */
export const codesOf = (code: string): ReadonlyArray<string> => groupOf(code)?.codes ?? [code]

/** One value of a trend. */
export interface TrendPoint {
  readonly contentId: ContentId
  /** ISO 8601: the report's collection date, or when the document was stored. */
  readonly at: string
  readonly dated: "collected" | "stored"
  readonly name: string
  readonly value: number | string
  readonly unit: string
  readonly flag: ResultFlag
  /** The value and unit as the report printed them, when the value was converted to the trend's unit. */
  readonly printed?: { readonly value: number; readonly unit: string }
}

export interface Trend {
  readonly code?: string
  readonly name: string
  /** The UCUM unit the numeric values are in (the most recent value's), when they have one. */
  readonly unit?: string
  /** Oldest first. */
  readonly points: ReadonlyArray<TrendPoint>
}

/** A test the user has, for the list: how many values, and the latest. */
export interface TrendSummary {
  readonly code?: string
  readonly name: string
  readonly count: number
  readonly latest: TrendPoint
}

/** A unit converter (trendUnits.ts `convertValue`): loaded only when a trend's values are in more than one unit. */
type Convert = (value: number, from: string, to: string, molarMass?: number) => number | undefined

/**
 * The converter for these entries, when their numeric values are in more than one UCUM unit. Loaded
 * on first need: ucum-lhc and its unit tables (~230 kB) stay out of the API functions' start-up code.
 */
const converterFor = (entries: ReadonlyArray<Located>): Effect.Effect<Convert | undefined> => {
  const units = new Set(entries.flatMap((e) => (typeof e.value === "number" && e.ucum !== undefined ? [e.ucum] : [])))
  return units.size > 1 ? Effect.map(Effect.promise(() => import("./trendUnits.js")), (units) => units.convertValue) : Effect.succeed(undefined)
}

/** Sort key of an entry's date: its instant, or its date at midnight UTC. */
const timeOf = (at: string): number => {
  const t = Date.parse(at)
  return Number.isNaN(t) ? Date.parse(at.slice(0, 10)) : t
}

/** An entry with its document, and its date: the report's collection date, or when the document was stored. */
type Located = TrendIndexEntry

const locate = (entry: TrendEntry, contentId: ContentId, storedAt: Date): Located =>
  entry.collectedAt === undefined
    ? { ...withoutCollected(entry), contentId, at: storedAt.toISOString(), dated: "stored" }
    : { ...withoutCollected(entry), contentId, at: entry.collectedAt, dated: "collected" }

const withoutCollected = ({ collectedAt: _, ...entry }: TrendEntry) => entry

/** Points of the entries, oldest first, numeric values in one unit where they convert. */
export const trendOf = (
  entries: ReadonlyArray<Located>,
  molarMass: number | undefined,
  convert: Convert | undefined
): { readonly unit?: string; readonly points: Array<TrendPoint> } => {
  // each date parsed once; ties (documents of one day) in content-id order, compared as plain strings (not
  // localeCompare, whose collation cost most of a 200-document trend when every date tied)
  const sorted = entries
    .map((entry) => ({ entry, time: timeOf(entry.at) }))
    .sort((a, b) => a.time - b.time || (a.entry.contentId < b.entry.contentId ? -1 : a.entry.contentId > b.entry.contentId ? 1 : 0))
    .map(({ entry }) => entry)
  const target = [...sorted].reverse().find((e) => typeof e.value === "number" && e.ucum !== undefined)?.ucum
  const points = sorted.map((entry): TrendPoint => {
    const base = { contentId: entry.contentId, at: entry.at, dated: entry.dated, name: entry.name, flag: entry.flag }
    if (typeof entry.value !== "number" || target === undefined || entry.ucum === undefined || entry.ucum === target) {
      return { ...base, value: entry.value, unit: entry.unit }
    }
    const converted = convert?.(entry.value, entry.ucum, target, molarMass)
    return converted === undefined
      ? { ...base, value: entry.value, unit: entry.unit }
      : { ...base, value: converted, unit: target, printed: { value: entry.value, unit: entry.unit } }
  })
  return { ...(target === undefined ? {} : { unit: target }), points }
}

const sealedTrends = (userId: UserId, contentId: ContentId) => fieldContext(userId, "content", "trends_encrypted", contentId)

/**
 * Every index entry of the user's documents: from the cache while the user's content stamp holds,
 * else opened (documents without an index get theirs now) and kept.
 */
const userEntries = (userId: UserId) =>
  Effect.gen(function* () {
    const cache = yield* TrendsCache
    const version = cache.enabled ? yield* Users.contentVersion(userId) : Option.none<string>()
    if (Option.isSome(version)) {
      const cached = yield* cache.lookup(userId, version.value)
      if (Option.isSome(cached)) return cached.value
    }
    const entries = yield* openEntries(userId)
    if (Option.isSome(version)) yield* cache.store(userId, version.value, entries)
    return entries
  })

const openEntries = (userId: UserId) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    const rows = yield* Content.listTrendRows(userId)
    const indexed = rows.flatMap((row) => (row.trendsEncrypted === null ? [] : [{ id: row.id, createdAt: row.createdAt, envelope: row.trendsEncrypted }]))
    const texts = yield* crypto.openStrings(indexed.map((row) => ({ envelope: row.envelope, options: sealedTrends(userId, row.id) })))
    const entries: Array<Located> = []
    for (const [i, text] of texts.entries()) {
      const row = indexed[i]!
      const parsed = parseTrendEntries(text)
      // an index that does not read is a defect (it was sealed by this code): the request fails, nothing is guessed
      if (parsed === undefined) return yield* Effect.die(new Error(`The trends index of content ${row.id} does not read`))
      for (const entry of parsed) entries.push(locate(entry, row.id, row.createdAt))
    }
    // stored before the index existed: read from the body once, and kept
    for (const row of rows) {
      if (row.trendsEncrypted !== null) continue
      const content = yield* loadContent(userId, row.id)
      if (Option.isNone(content)) continue
      const built = trendEntriesOf(content.value.document)
      yield* Content.setMissingTrends(userId, row.id, yield* crypto.sealString(encodeTrendEntries(built), sealedTrends(userId, row.id)))
      for (const entry of built) entries.push(locate(entry, row.id, row.createdAt))
    }
    return entries
  })

const audited = (userId: UserId, requestContext: RequestContext) =>
  Effect.flatMap(Audit, (audit) =>
    audit.record({ ...requestContext, actorUserId: userId, action: "content.list", resourceType: "content", outcome: "success" })
  )

/** One test's trend, by LOINC code (its group's codes too) or by name (as trends match names); no points when the user has none. */
export const readTrend = fnTraced("Trends.read")(function* (
  userId: UserId,
  test: { readonly code: string } | { readonly name: string },
  requestContext: RequestContext = {}
) {
  const entries = yield* userEntries(userId)
  yield* audited(userId, requestContext)
  if ("code" in test) {
    const codes = codesOf(test.code)
    const mine = entries.filter((e) => e.code !== undefined && codes.includes(e.code))
    const trend = trendOf(mine, groupOf(test.code)?.molarMass, yield* converterFor(mine))
    return { code: test.code, name: latestName(trend.points) ?? test.code, ...trend } satisfies Trend
  }
  const key = nameKey(test.name)
  const mine = entries.filter((e) => nameKey(e.name) === key)
  const codes = new Set(mine.flatMap((e) => (e.code === undefined ? [] : [e.code])))
  const molarMass = [...codes].map((c) => groupOf(c)?.molarMass).find((m) => m !== undefined)
  const trend = trendOf(mine, molarMass, yield* converterFor(mine))
  return { name: latestName(trend.points) ?? test.name, ...trend } satisfies Trend
})

const latestName = (points: ReadonlyArray<TrendPoint>) => points.at(-1)?.name

/** The tests the user has: one per code group (or per name, for results without a code), with count and latest value; most recent first. */
export const listTrends = fnTraced("Trends.list")(function* (userId: UserId, requestContext: RequestContext = {}) {
  const entries = yield* userEntries(userId)
  yield* audited(userId, requestContext)
  const series = new Map<string, { code?: string; entries: Array<Located> }>()
  for (const entry of entries) {
    const group = entry.code === undefined ? undefined : groupOf(entry.code)
    const key = entry.code === undefined ? `name:${nameKey(entry.name)}` : `code:${group?.codes[0] ?? entry.code}`
    const found = series.get(key) ?? { ...(entry.code === undefined ? {} : { code: group?.codes[0] ?? entry.code }), entries: [] }
    found.entries.push(entry)
    series.set(key, found)
  }
  // the latest of each test and how many: one pass, no trend built (the latest is in its own unit, the trend's)
  const summaries = [...series.values()].map((s): TrendSummary => {
    let latest = s.entries[0]!
    let latestTime = timeOf(latest.at)
    for (const entry of s.entries) {
      const time = timeOf(entry.at)
      if (time > latestTime || (time === latestTime && entry.contentId > latest.contentId)) {
        latest = entry
        latestTime = time
      }
    }
    const point: TrendPoint = { contentId: latest.contentId, at: latest.at, dated: latest.dated, name: latest.name, value: latest.value, unit: latest.unit, flag: latest.flag }
    return { ...(s.code === undefined ? {} : { code: s.code }), name: latest.name, count: s.entries.length, latest: point }
  })
  return summaries.sort((a, b) => timeOf(b.latest.at) - timeOf(a.latest.at) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
})

/**
 * The trends of a document's tests, for the chat about it: each of its results that the user has
 * in more than one document (by code group, else by name), its points marked where they are this
 * document's. Not audited apart: the chat turn that asks is.
 */
export const documentTrends = fnTraced("Trends.ofDocument")(function* (userId: UserId, contentId: ContentId, results: ReadonlyArray<{ readonly name: string; readonly loinc?: string | undefined }>) {
  const entries = yield* userEntries(userId)
  const seen = new Set<string>()
  const trends: Array<ChatTrend> = []
  for (const result of results) {
    const group = result.loinc === undefined ? undefined : codesOf(result.loinc)
    const key = group === undefined ? `name:${nameKey(result.name)}` : `code:${group[0]}`
    if (seen.has(key)) continue
    seen.add(key)
    const mine = group === undefined
      ? entries.filter((e) => nameKey(e.name) === nameKey(result.name))
      : entries.filter((e) => e.code !== undefined && group.includes(e.code))
    if (new Set(mine.map((e) => e.contentId)).size < 2) continue
    const { points } = trendOf(mine, result.loinc === undefined ? undefined : groupOf(result.loinc)?.molarMass, yield* converterFor(mine))
    trends.push({
      name: result.name,
      ...(result.loinc === undefined ? {} : { code: result.loinc }),
      points: points.map((p) => ({ at: p.at, value: p.value, unit: p.unit, flag: p.flag, current: p.contentId === contentId }))
    })
  }
  return trends
})
