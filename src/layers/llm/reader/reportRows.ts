/**
 * The phases of parseLabReport (report.ts) that read lab results over more than one line: the
 * rest of a name under its result, a name wrapped over the lines above its row, a patient
 * portal's block (name, value, range and flag each on a line of its own). Each phase takes the
 * document's facts and the reading state explicitly, and says whether it took the line.
 */
import { dropIgnoredColumns } from "./columns.js"
import { lookupAnalyte } from "./lexicon/analytes.js"
import { FLAG_LINE_RE, NAME_BADGE_RE, PAST_LINE_RE, RANGE_LINE_RE, unleadered, VALUE_LINE_RE } from "./portalLines.js"
import { consume, type DocumentFacts, emitResult, type ReportState } from "./reportState.js"
import { parseResultLine, parseRow, type RowContext } from "./rows.js"
import { readFlag } from "./tokens.js"
import { continuesName, nameChain, nameTail } from "./wrappedNames.js"

/** A line that goes on from the result read on the line above: the rest of its name, or the same result in another unit. */
export const readUnderResult = (s: ReportState, doc: DocumentFacts, index: number, line: string): boolean => {
  const { lines, style } = doc
  // a name that goes on under itself after its value: "Koagulationsfaktor II+VII+X   5,8   < 1,2" over "[relativ aktivitet; INR];P"
  const above = lines[index - 1]
  const last = s.results[s.results.length - 1]
  if (above !== undefined && last !== undefined && last.page === above.page && last.line === above.line) {
    const tail = nameTail(above.text, last.name, line, lines[index + 1]?.text)
    if (tail !== undefined) {
      s.results[s.results.length - 1] = { ...last, name: `${last.name} ${tail}` }
      return true
    }
    // the same result in a second unit under it: "Glycémie à jeun ... : 1,02 g/L (0,70 - 1,10)" over "   5,66 mmol/L (3,89 - 6,11)"
    if (/^\s{8,}[<>]?\d/.test(line)) {
      const again = parseResultLine(`${last.name}  ${line.trim()}`, { style, inTable: true })
      if (again !== undefined && again.unit !== "" && again.unit !== last.unit && again.value !== last.value) return true
    }
  }
  return false
}

/** A row, or a row that completes a name remembered from the lines above it. */
export const readRows = (s: ReportState, index: number, line: string, context: RowContext): boolean => {
  // a page in two columns with one rule between them keeps its rule: parseRow reads each half
  const twoColumns = s.labHeader === undefined && (line.match(/\s\|\s/g) ?? []).length === 1 && !/^\s*\|/.test(line)
  const row = twoColumns ? line : dropIgnoredColumns(line, s.labHeader)
  // a long name wrapped onto two or three lines: "Low Density Lipoprotein" over "(LDL), calculated
  // 131  mg/dL  <100", or a name over an indented continuation ("  Protein   3.8  H  mg/L")
  // a row that reads on its own under a name the lexicon knows ("  Sodium: 139 mmol/L" under the
  // heading "Kidney function") continues no name above it
  const alone = parseRow(row, context)
  const aboveText = s.recent[s.recent.length - 1]?.text ?? ""
  const standsAlone =
    alone.length === 1 &&
    alone[0] !== undefined &&
    lookupAnalyte(alone[0].name) !== undefined &&
    // "(AST)  10 U/L" under "Aspartate Aminotransferase" or after "…," still continues it
    !/^\(/.test(row.trim()) &&
    !continuesName(aboveText, row.trim())
  // a pipe table's name cell indented under the name above ("|   de transferrina | 12 | % |") is indented like a plain row
  const chain = standsAlone ? [] : nameChain(s.recent, index, /^\s*\|\s{2,}\p{L}/u.test(line) ? `  ${row.trimStart()}` : row)
  // the longest chain that reads (a heading above the name is not part of it); a row that starts
  // with its value keeps the gap that separates it from the name
  // starts with a value: "131  mg/dL", "<0.5"
  const gap = /^[<>]?\d/.test(row.trim()) ? "  " : " "
  const joined = chain
    .map((_, k) => chain.slice(k))
    .map((part) => ({ part, read: parseResultLine(`${part.map((e) => e.text).join(" ")}${gap}${row.trim()}`, context) }))
    .find((attempt) => attempt.read !== undefined)
  if (joined?.read !== undefined) {
    joined.part.forEach((entry) => consume(s, entry))
    emitResult(s, joined.read)
    return true
  }
  // a name wrapped where the lexicon can tell: "PARTIAL THROMBOPLASTIN" over "TIME (APTT) ....... 38 SEC",
  // "Coefficient de saturation" over "de la transferrine ... : 11* %" (the whole is a known test, the tail is not)
  const head = s.recent[s.recent.length - 1]
  const only = alone.length === 1 ? alone[0] : undefined
  if (only !== undefined && head !== undefined && head.index === index - 1 && !/\d/.test(head.text) && head.text.length <= 40) {
    const whole = `${head.text} ${only.name}`
    if (lookupAnalyte(only.name) === undefined && lookupAnalyte(whole) !== undefined) {
      consume(s, head)
      emitResult(s, { ...only, name: whole })
      return true
    }
  }
  const rowResults = alone
  if (rowResults.length > 0) {
    rowResults.forEach((result) => emitResult(s, result))
    return true
  }
  // a long name wrapped onto its own line, the values on the next
  const previous = s.recent[s.recent.length - 1]
  // the row starts with a value: "  131  mg/dL", ">90"
  if (previous !== undefined && /^\s*[<>]?\d/.test(row) && previous.text.length <= 60) {
    const joined = parseResultLine(`${previous.text}  ${row.trim()}`, context)
    if (joined !== undefined) {
      consume(s, previous)
      emitResult(s, joined)
      return true
    }
  }
  return false
}

/** A patient portal's block, read from its value's line. */
export const readPortalBlock = (s: ReportState, doc: DocumentFacts, index: number, trimmed: string, context: RowContext): boolean => {
  const { lines } = doc
  // patient-portal blocks: the name, then "Value: 11.2 g/dL" (or "Your value 134"), the range
  // ("Standard range 135 - 145 mmol/L") before or after it, and a flag word on a line of its own
  const valueLine = VALUE_LINE_RE.exec(unleadered(trimmed))
  if (valueLine !== null) {
    const ahead: Array<number> = []
    const pastLines: Array<number> = []
    let rangeMore = ""
    for (let j = index + 1; j < Math.min(lines.length, index + 5); j++) {
      const raw = lines[j]?.text ?? ""
      const next = unleadered(raw)
      if (next === "" || VALUE_LINE_RE.test(next)) break
      const flagged = FLAG_LINE_RE.exec(next)?.[1] ?? next
      if (RANGE_LINE_RE.test(next) || readFlag(flagged, true)?.length === flagged.length) ahead.push(j)
      // earlier results of the same test ("Past results:  241 mg/dL (Jul 15, 2025)") are part of the block, not results
      else if (PAST_LINE_RE.test(next)) pastLines.push(j)
      // a range too long for its line goes on, indented, on the next ("postmenopausal 25.8-134.8")
      // (with a number, and not a labelled line of its own: "Comment ...... macroprolactin screen", "Note: …")
      else if (ahead.length > 0 && /^\s{4,}\S/.test(raw) && /\d/.test(raw) && !/\.{3,}|…|^\s*\p{L}[\p{L} ]*:/u.test(raw) && RANGE_LINE_RE.test(unleadered(lines[ahead[ahead.length - 1] ?? 0]?.text ?? ""))) {
        ahead.push(j)
        rangeMore += ` ${next}`
      } else break
    }
    const aheadText = ahead.map((j) => unleadered(lines[j]?.text ?? "")).filter((t) => !rangeMore.includes(t))
    // the name is the last line above that is neither a range nor a value, a few lines up at most
    const nameEntry = [...s.recent].reverse().find((e) => !RANGE_LINE_RE.test(e.text) && !VALUE_LINE_RE.test(e.text))
    const nameNear = nameEntry !== undefined && index - nameEntry.index <= 3 ? nameEntry : undefined
    // a range above the value belongs to this block only when it is under its name: never an earlier block's
    const rangeAbove = nameNear === undefined ? undefined : s.recent.find((e) => e.index > nameNear.index && RANGE_LINE_RE.test(e.text))
    const rangeLine = rangeAbove?.text ?? aheadText.find((t) => RANGE_LINE_RE.test(t))
    const rangeText = rangeLine === undefined ? undefined : `${RANGE_LINE_RE.exec(rangeLine)?.[1] ?? ""}${rangeMore}`.trim()
    const flagLine = aheadText.find((t) => !RANGE_LINE_RE.test(t))
    const flagText = flagLine === undefined ? undefined : (FLAG_LINE_RE.exec(flagLine)?.[1] ?? flagLine)
    const range = rangeText === undefined ? "" : `  ref: ${rangeText}`
    // a flag printed on the name's line: "Glucose          [ HIGH ]", "Cholesterol, Total     ! High"
    const badge = nameNear === undefined ? null : NAME_BADGE_RE.exec(nameNear.text)
    const badgeFlag = badge === null ? undefined : (badge[2] ?? badge[3] ?? "").trim()
    const nameFlag = badgeFlag !== undefined && readFlag(badgeFlag, true)?.length === badgeFlag.length ? badgeFlag : undefined
    const blockName = nameFlag === undefined || badge === null ? (nameNear?.text ?? "") : (badge[1] ?? "")
    // a flag word in a column of its own after the value: "Your value   Cloudy   Abnormal" (before the range is added,
    // it would read as the value of a name ending in "Cloudy")
    const valueCells = (valueLine[1] ?? "").trim().split(/\s{2,}/)
    const lastCell = valueCells[valueCells.length - 1] ?? ""
    const trailingFlag = valueCells.length >= 2 && readFlag(lastCell, true)?.length === lastCell.length ? lastCell : undefined
    const valueText = trailingFlag === undefined ? (valueLine[1] ?? "") : valueCells.slice(0, -1).join("  ")
    const flagWord = flagText ?? nameFlag ?? trailingFlag
    const flag = flagWord === undefined ? "" : `  ${flagWord}`
    const blockContext = { ...context, inTable: true }
    const readBlock = (withRange: string) =>
      nameNear === undefined ? undefined : parseResultLine(`${blockName}  ${valueText}${withRange}${flag}`, blockContext)
    // a range in words ("follicular 3.5-12.5 / luteal 1.7-7.7") is kept as printed, and decides no flag
    const withoutRange = rangeText === undefined ? undefined : readBlock("")
    const block =
      readBlock(range) ??
      (withoutRange === undefined || rangeText === undefined
        ? undefined
        : { ...withoutRange, referenceRange: { text: rangeText.slice(0, 200) } })
    if (nameNear !== undefined && block !== undefined) {
      consume(s, nameNear)
      if (rangeAbove !== undefined) consume(s, rangeAbove)
      emitResult(s, block)
      for (const j of [...ahead, ...pastLines]) s.skip.add(j)
      return true
    }
  }
  return false
}
