/**
 * Cells and column headers: a line split into cells (spaces, pipes, tabs, CSV), the header
 * words that say which column is what in five languages, and a row rearranged by its header
 * (columns that are not part of a result dropped, a range in LOW and HIGH columns joined).
 */
import { type DateOrder, readDateTime } from "./dates.js"
import { QUAL_RE, readFlag, readUnit, RESULT_STATUS } from "./tokens.js"


/** What a column of a results table holds. */
export type Role = "name" | "result" | "flag" | "unit" | "range" | "low" | "high" | "ignore"

/** Column header labels (a whole cell) and the role each names. */
export const HEADER_WORDS: ReadonlyArray<readonly [Role, RegExp]> = [
  // each list ends with the German, French, Spanish and Italian words for it
  // "Test", "Test Name", "Analyte", "Untersuchung", "Paramètre", "Prueba"; not "Test date"
  [
    "name",
    /^(?:tests?(?:\s+name)?|analyte|component|parameter|investigation|examination|determination|description|tests?\s+performed|name|marker|untersuchung|analyse|param[eè]tre|examen|prueba|determinaci[oó]n|esame|analisi|an[áa]lise|analito|exame|par[âa]metro|analys|analyt|badanie|vy[šs]et[řr]en[íi]|test\s+ad[ıi]|tetkik|bepaling|onderzoek)$/i
  ],
  // "Result", "Your Value", "Current Result and Flag", "Ergebnis", "Résultat", "Valore"
  [
    "result",
    /^(?:results?|value|in\s+range|out\s+of\s+range|within\s+range|outside\s+range|your\s+(?:value|result)|current(?:\s+result)?(?:\s+and\s+flag)?|result\s+and\s+flag|observed(?:\s+value)?|measured|ergebnis|befund|wert|r[ée]sultats?|resultados?|risultat[oi]|valore|resultaat|uitslag|resultat|svar|v[äa]rde|verdi|wynik|v[ýy]sledek|sonu[çc])$/i
  ],
  // "Flag", "H/L", "Abnormal", "Eval.", "Bewertung", "Indicateur"
  ["flag", /^(?:flags?|flaga|abnormal|abn|h\/l|status|indicator|alert|eval\.?|evaluation|bew\.?|bewertung|kennz\.?|kennzeichen|indicateur|indicador|sinaliza[çc][ãa]o|beoord\.?|beoordeling|ocena|hodnocen[íi]|p[řr][íi]znak|i[şs]aret|markering|valutazione|interpretaci[óo]n|interpreta[çc][ãa]o)$/i],
  // "Units", "UOM", "Einheit", "Unités", "Unidad", "Unità"
  ["unit", /^(?:units?|uom|einheit|unit[ée]s?|unidad(?:es)?|unit[aà]|unidades?|eenheid|enhed|enhet|jednostka|jednotka|birim)$/i],
  // a reference range printed in two columns: "Low  High", "Ref Low  Ref High", "Lower limit  Upper limit"
  // "Low", "Ref. Low", "Lower limit", "Min"
  ["low", /^(?:low|ref\.?\s*low|lower(?:\s+(?:limit|bound|ref(?:erence)?(?:\s+limit)?))?|min(?:imum)?\.?|ll|(?:ref\.?\s*)?m[íi]n(?:imo)?\.?|untere?\s+grenze|limite\s+inf(?:[ée]rieure|eriore)?|ondergrens|dolna\s+granica|doln[íi]\s+mez|alt\s+s[ıi]n[ıi]r)$/i],
  // "High", "Ref High", "Upper reference limit", "Max"
  ["high", /^(?:high|ref\.?\s*high|upper(?:\s+(?:limit|bound|ref(?:erence)?(?:\s+limit)?))?|max(?:imum)?\.?|ul|(?:ref\.?\s*)?m[áa]x(?:imo)?\.?|obere?\s+grenze|limite\s+sup(?:[ée]rieure|eriore)?|bovengrens|g[óo]rna\s+granica|horn[íi]\s+mez|[üu]st\s+s[ıi]n[ıi]r)$/i],
  // "Reference Range", "Ref. Interval", "Normal values", "Referenzbereich", "Valeurs de référence", "Rango"
  [
    "range",
    /^(?:ref(?:erence)?\.?(?:\s+(?:range|ranges|interval|values?|int\.?))?|(?:normal|standard)(?:\s+(?:range|values?))?|ranges?|expected(?:\s+(?:range|values?))?|biological\s+ref(?:erence)?\.?\s+(?:interval|range)|reference\s+range\s+and\s+units?|referenz(?:bereich|werte)|normbereich|normalbereich|valeurs?\s+(?:de\s+)?r[ée]f[ée]rences?|valeurs?\s+normales|valeurs?\s+usuelles|valores?\s+usuales|valori\s+usuali|r[ée]f[ée]rences?|valores?\s+(?:de\s+)?referencia|intervalo\s+de\s+referencia|rango|valori\s+(?:di\s+)?riferimento|intervallo\s+di\s+riferimento|valores\s+de\s+refer[êe]ncia|intervalo\s+de\s+refer[êe]ncia|refer[êe]ncia|referentie(?:waarden?)?|ref\.?\s*waarden?|normaalwaarden?|referenceinterval(?:\s+og\s+enhed)?|referensintervall|ref\.?\s*intervall|zakres(?:\s+referencyjny)?|norma|referen[čc]n[íi]\s+(?:meze|rozmez[íi])|ref\.?\s*meze|referans(?:\s+(?:aral[ıi][ğg][ıi]|de[ğg]erleri?))?)$/i
  ],
  // columns not part of a result: "Previous Result", "Prior", "Lab", "Date", "Comments", "Vorwert", "Antériorités"
  [
    "ignore",
    /^(?:prev\.?|previous(?:\s+(?:result|value))?(?:\s+and\s+date)?|prior(?:\s+result)?|last(?:\s+result)?|lab|site|date|time|collected|collection\s+date|comments?|notes?|method|performed|performing\s+lab|code|resulted|reported|verified|released|approved|tech\.?|technologist|initials|init\.?|(?:\S+[- ])?(?:code|kode|kod|k[óo]d|codice|c[óo]digo)|loinc|npu|(?:result|report)\s+(?:date|time)|date\/time|ant[ée]riorit[ée]s?|vorwert|vorbefund|anteriores?|precedente|precedenti|panel|section|category|group|battery|specimen|bereich|rubrik|gruppe|grupa|kategorie|kategoria|(?:data|datum|fecha)(?:\s+\p{L}+){0,2}|sec[çc][ãa]o|secci[óo]n|sezione|sektion|sekcja|odd[íi]l|b[öo]l[üu]m|onderdeel|f[öo]reg[åa]ende|tidligere|poprzedni(?:\s+wynik)?|p[řr]edchoz[íi]|[öo]nceki|vorige|anterior|onaylanma|onay\s+zaman[ıi])$/iu
  ]
]

/** One cell of a line: its text and where it starts and ends on the line. */
export interface Cell {
  readonly text: string
  readonly start: number
  readonly end: number
}

/** How a line separates its cells. */
export type Separator = "pipe" | "tab" | "comma" | "semicolon" | "space"

/** A CSV line's fields, honouring double quotes ("Glucose, fasting"). */
export const csvCells = (line: string, delimiter: "," | ";" = ","): ReadonlyArray<Cell> => {
  const cells: Array<Cell> = []
  let text = ""
  let start = 0
  let quoted = false
  for (let i = 0; i <= line.length; i++) {
    const c = line[i]
    if (c === '"') {
      if (quoted && line[i + 1] === '"') {
        text += '"'
        i++
      } else quoted = !quoted
    } else if ((c === delimiter && !quoted) || c === undefined) {
      cells.push({ text: text.trim(), start, end: i })
      text = ""
      start = i + 1
    } else text += c
  }
  return cells
}

/**
 * A comma-separated header or row: several commas and no other column separator (a pipe, a tab, or two spaces
 * between words: "Glucose  95"). Examples: "Test,Result,Units", "Glucose, 95, mg/dL".
 */
export const looksLikeCsv = (line: string) => !/[|\t]|\S\s{2,}\S/.test(line) && (line.match(/,/g)?.length ?? 0) >= 2

/** A semicolon-separated line, as European spreadsheets export them (commas are decimal marks there): "Natrium;118;mmol/l;136 - 145". */
export const looksLikeSemicolonCsv = (line: string) => !/[|\t]/.test(line) && (line.match(/;/g)?.length ?? 0) >= 2

/** The delimiter of a CSV-like separator. */
const delimiterOf = (separator: Separator): "," | ";" | undefined =>
  separator === "comma" ? "," : separator === "semicolon" ? ";" : undefined

/** A tab-separated line's cells, empty ones at the end included ("97,0<TAB>" has an empty flag cell); a leading tab indents. */
export const tabCells = (line: string): ReadonlyArray<Cell> => {
  const cells: Array<Cell> = []
  let start = 0
  for (const raw of line.split("\t")) {
    const lead = raw.length - raw.trimStart().length
    cells.push({ text: raw.trim(), start: start + lead, end: start + lead + raw.trim().length })
    start += raw.length + 1
  }
  if (cells[0]?.text === "" && cells.length > 1) cells.shift()
  return cells
}

/** The cells of a line, split by pipes, tabs or runs of two or more spaces (or commas when forced). */
export const splitCells = (line: string, forced?: Separator): { readonly cells: ReadonlyArray<Cell>; readonly separator: Separator } => {
  const separator: Separator = forced ?? (line.includes("|") ? "pipe" : line.includes("\t") ? "tab" : "space")
  const delimiter = delimiterOf(separator)
  if (delimiter !== undefined) return { cells: csvCells(line, delimiter), separator }
  if (separator === "tab") return { cells: tabCells(line), separator }
  const cells: Array<Cell> = []
  // a pipe cell "| a |" or an empty one "||"; a tab cell or an empty one; words joined by single spaces: "Vitamin B12"
  const re = separator === "pipe" ? /[^|]+|(?<=\|)(?=\|)/g : /\S+(?: \S+)*/g
  for (const m of line.matchAll(re)) {
    const raw = m[0]
    const lead = raw.length - raw.trimStart().length
    const start = (m.index ?? 0) + lead
    cells.push({ text: raw.trim(), start, end: start + raw.trim().length })
  }
  // leading and trailing empty cells of `| a | b |` are borders, not columns
  while (separator === "pipe" && cells[0]?.text === "") cells.shift()
  while (separator === "pipe" && cells[cells.length - 1]?.text === "") cells.pop()
  return { cells, separator }
}

/** A results table header: its separator and the role of each column, where it starts. */
export interface LabHeader {
  readonly separator: Separator
  readonly roles: ReadonlyArray<{ readonly role: Role | undefined; readonly start: number }>
}

/** The role a header cell names, if any. */
export const roleOf = (cell: string): Role | undefined => {
  // drop a trailing colon or star ("Result:", "Flag*") and a bracketed note ("Units (SI)", "Range (adult)")
  const label = cell.replace(/[:*]+$/, "").replace(/\s*\([^)]*\)\s*$/, "").trim()
  for (const [role, re] of HEADER_WORDS) if (re.test(label)) return role
  return undefined
}

/** `Test  Result  Flag  Units  Reference Range` and its many spellings. */
export const readLabHeader = (line: string, order: DateOrder = "mdy"): LabHeader | undefined => {
  const { cells, separator } = splitCells(line, looksLikeCsv(line) ? "comma" : looksLikeSemicolonCsv(line) ? "semicolon" : undefined)
  // a cumulative report heads its result columns with dates ("05-Dec-2026  12-Aug-2026"): the most
  // recent is this report's result, the others are earlier results
  const dates = cells.map((c) => {
    const date = readDateTime(c.text, order)
    return date !== undefined && date.length === c.text.length ? date.iso : undefined
  })
  const latest = dates.reduce<string | undefined>((a, d) => (d !== undefined && (a === undefined || d > a) ? d : a), undefined)
  const undated = cells.filter((_, i) => dates[i] === undefined).map((c) => c.text).join("  ")
  // digits only inside brackets: "PREV (02/15)" names a column, "Sodium 139" is a row
  // brackets ("(02/15)", "[SI]") and "ref" or "range" with a digit before it ("2 range") go; /\d/: a digit left
  if (/\d/.test(undated.replace(/\([^)]*\)|\[[^\]]*\]/g, "").replace(/\b(?:\d\s*)?(?:ref|range)\b/gi, ""))) return undefined
  const named = cells.map((c, i) => ({
    role: dates[i] === undefined ? roleOf(c.text) : dates[i] === latest ? ("result" as const) : ("ignore" as const),
    start: c.start
  }))
  // "Flag ... Status": beside a flag column, "Status" is the result's (Final, Prelim), not a flag
  const roles = named.map((r, i) =>
    r.role === "flag" && /^status$/i.test(cells[i]?.text ?? "") && named.some((o, j) => j !== i && o.role === "flag") ? { ...r, role: "ignore" as const } : r
  )
  // a cell that is a result in words ("Your value   Cloudy   Abnormal") makes the line a portal block's value, not a header
  if (roles.some((r, i) => r.role === undefined && QUAL_RE.exec(cells[i]?.text ?? "")?.[0].length === (cells[i]?.text ?? "").length && (cells[i]?.text ?? "") !== "")) {
    return undefined
  }
  const known = new Set(roles.map((r) => r.role).filter((r) => r !== undefined && r !== "ignore"))
  if (known.size >= 2 && printsResultsTwice(roles)) return { separator, roles: secondUnitsIgnored(roles) }
  if (known.size >= 2 && (known.has("result") || known.has("range") || known.has("unit") || known.has("low"))) {
    return { separator, roles }
  }
  // "Valeurs de référence   Antériorités": only some columns named, but every cell names one (the first may be the
  // section's heading: "HÉMATOLOGIE   Valeurs de référence   Antériorité")
  const headed = roles.length >= 3 && /^\p{Lu}[\p{Lu}\s&/-]+$/u.test(cells[0]?.text ?? "") ? roles.slice(1) : roles
  if (headed.length >= 2 && headed.every((r) => r.role !== undefined) && known.has("range")) return { separator, roles }
  // single-spaced headers: look for the words themselves
  const lower = line.toLowerCase()
  const words = ["result", "unit", "range", "reference", "flag", "test", "analyte", "value"].filter((w) =>
    // the word or its plural: "result", "results"; not "resulted"
    new RegExp(String.raw`\b${w}s?\b`).test(lower)
  )
  // header words ("test name", "your value", "normal interval") removed, /[^a-z]/g: everything but letters
  const rest = lower.replace(
    /\b(?:tests?|results?|units?|ranges?|reference|ref|flags?|analyte|values?|normal|interval|your|name|and)\b/g,
    ""
  )
  return words.length >= 3 && rest.replace(/[^a-z]/g, "").length <= 4 ? { separator, roles: [] } : undefined
}

/**
 * A header that prints each result twice, in SI and conventional units ("TEST  RESULT  UNIT  REFERENCE  RESULT  UNIT
 * REFERENCE  FLAG"), with one name column: the first result is the row's; the second group's result, unit and range
 * columns are the same result again and are dropped (the flag column stays).
 */
const printsResultsTwice = (roles: LabHeader["roles"]): boolean => {
  const results = roles.flatMap((r, i) => (r.role === "result" ? [i] : []))
  if (results.length !== 2 || roles.filter((r) => r.role === "name").length !== 1) return false
  // a unit or range column after each result ("In Range  Out Of Range  Reference Range" are one result's two places)
  const [first, second] = results as [number, number]
  const followed = (from: number, to: number) => roles.slice(from + 1, to).some((r) => r.role === "unit" || r.role === "range")
  return followed(first, second) && followed(second, roles.length)
}

const secondUnitsIgnored = (roles: LabHeader["roles"]): LabHeader["roles"] => {
  const second = roles.findIndex((r, i) => r.role === "result" && roles.slice(0, i).some((o) => o.role === "result"))
  const again = new Set<Role | undefined>(["result", "unit", "range", "low", "high"])
  return roles.map((r, i) => (i >= second && again.has(r.role) ? { ...r, role: "ignore" as const } : r))
}

/** The role of the header column a cell stands under: the one whose label starts nearest at or before it (right-aligned numbers may start a little earlier). */
const columnAt = (header: LabHeader, start: number): Role | undefined => header.roles[columnIndexAt(header, start)]?.role

/** The index of that column. */
const columnIndexAt = (header: LabHeader, start: number): number => {
  let index = 0
  header.roles.forEach((r, i) => {
    if (r.start <= start + 2) index = i
  })
  return index
}

/** A cell that is a date or a date and time and nothing else: "2026-08-01 07:48", "01.08.2026". */
const isDateCell = (text: string): boolean => {
  const date = readDateTime(text)
  return date !== undefined && date.length === text.trim().length
}

/** A status cell ("Final", "Pending") or a pointer to a note ("See comment"). */
const STATUS_CELL_RE = new RegExp(String.raw`^(?:${RESULT_STATUS}|see\s+(?:note|comment))$`, "i")

/** A word in the flag column that is no flag we know ("Hög", "Patol.") becomes "A": the lab marked the row (its direction comes from the range). */
const isUnknownFlag = (text: string): boolean =>
  text !== "" && /\p{L}/u.test(text) && !isFlagCell(text) && !/\d/.test(text) && text.length <= 20 &&
  // a unit or a word result that starts a little left of its column is not a flag, nor is a result's status
  readUnit(text)?.length !== text.length && !QUAL_RE.test(text) &&
  !STATUS_CELL_RE.test(text)

/** The line with such words in a space-aligned flag column replaced by "A" (the same width, so positions hold). */
const markUnknownFlags = (line: string, header: LabHeader): string => {
  if (header.separator !== "space" || !header.roles.some((r) => r.role === "flag")) return line
  let out = line
  for (const cell of splitCells(line).cells) {
    if (columnAt(header, cell.start) === "flag" && isUnknownFlag(cell.text)) {
      out = `${out.slice(0, cell.start)}${"A".padEnd(cell.text.length)}${out.slice(cell.end)}`
    }
  }
  return out
}

/** A cell that is a flag word and nothing else, maybe with a footnote mark: "ALTO", "H", "VALORE CRITICO (1)". */
const isFlagCell = (text: string): boolean => {
  const bare = text.replace(/\s*(?:\(\d\)|\[\d\]|[¹²³*])$/, "").trim()
  return bare !== "" && readFlag(bare, false)?.length === bare.length
}

/**
 * The row as the grammar reads it: without the cells under "previous result", "lab", "date" and
 * other columns that are not part of a result, and with a range printed in LOW and HIGH columns
 * put back together at the end ("3.5-5.1"; one bound alone reads as "≥3.5" or "≤5.1").
 */
export const dropIgnoredColumns = (raw: string, header: LabHeader | undefined): string => {
  const line = header === undefined ? raw : markUnknownFlags(raw, header)
  const { cells, separator } = splitCells(line)
  // the result's column after its unit's or range's ("Test  Units  Ref Range  Result"): the row is put in reading order
  const resultAt = header?.roles.findIndex((r) => r.role === "result") ?? -1
  const resultLate = resultAt >= 0 && header?.roles.some((r, i) => i < resultAt && (r.role === "unit" || r.role === "range")) === true
  const rearranges = resultLate || header?.roles.some((r) => r.role === "ignore" || r.role === "low" || r.role === "high") === true
  if (header === undefined || header.roles.length === 0 || !rearranges) {
    const delimiter = header === undefined ? undefined : delimiterOf(header.separator)
    if (delimiter !== undefined) return csvCells(line, delimiter).map((c) => c.text).join("  ")
    return separator === "space" ? line : cells.map((c) => c.text).join("  ")
  }
  // cells with their place in reading order: the name (and unnamed columns before the result), the result, its
  // flag, its unit, its range, then unnamed columns after the result
  const keep: Array<{ readonly text: string; readonly rank: number }> = []
  const rankOf = (role: Role | undefined, column: number): number =>
    !resultLate ? 0 : role === "name" ? 0 : role === "result" ? 2 : role === "flag" ? 3 : role === "unit" ? 4 : role === "range" ? 5 : column < resultAt ? 1 : 6
  let low: string | undefined
  let high: string | undefined
  const nameColumn = header.roles.findIndex((r) => r.role === "name")
  const place = (text: string, role: Role | undefined, column: number) => {
    // a "Notes" column that holds the flag ("ALTO", "VALORE CRITICO (1)") is the flag column after all
    if (role === "ignore" && !isFlagCell(text)) return
    // a column we cannot name is dropped when it holds a date ("Data pobrania": "2026-08-01 07:48") or stands
    // before the test's name (a panel or section column: "Biochemia"), never when it could be the result's
    if (role === undefined && (isDateCell(text) || (nameColumn > column && !isFlagCell(text)))) return
    // a word in the flag column that is no flag we know ("Hög", "Patol."): the lab marked the row, so it is
    // abnormal (its direction from the range); never dropped, never a part of the name or unit
    if (role === "flag" && isUnknownFlag(text)) {
      keep.push({ text: "A", rank: rankOf(role, column) })
      return
    }
    if (role === "low" && text !== "") low = text
    else if (role === "high" && text !== "") high = text
    else keep.push({ text, rank: rankOf(role, column) })
  }
  const delimiter = delimiterOf(header.separator)
  const split = delimiter !== undefined ? csvCells(line, delimiter) : separator !== "space" && separator === header.separator ? cells : undefined
  // empty cells at the end of a row were trimmed with the line's trailing whitespace (tab, comma) or taken
  // for the table's border (pipe: "| 1.65 |              |")
  const missing = split === undefined ? 0 : Math.max(0, header.roles.length - split.length)
  const fields = split === undefined ? undefined : [...split, ...Array.from({ length: missing }, () => ({ text: "", start: line.length, end: line.length }))]
  if (fields !== undefined) {
    if (fields.length !== header.roles.length) return fields.map((c) => c.text).join("  ")
    fields.forEach((cell, i) => place(cell.text, header.roles[i]?.role, i))
  } else {
    // a name column the header does not label (the dates of a cumulative report start further right) holds the names
    const unlabelledNames = !header.roles.some((r) => r.role === "name")
    for (const cell of cells) {
      const beforeFirst = unlabelledNames && cell.end < (header.roles[0]?.start ?? 0)
      place(cell.text, beforeFirst ? "name" : columnAt(header, cell.start), beforeFirst ? -1 : columnIndexAt(header, cell.start))
    }
  }
  // a bound starts with a number: "3.5", "<0.5", "≥ 10", "-2"; not "see note"
  const bound = (s: string | undefined) => (s !== undefined && /^[<>≤≥]?\s*[-−]?\d/.test(s) ? s : undefined)
  const lo = bound(low)
  const hi = bound(high)
  const range = lo !== undefined && hi !== undefined ? `${lo}-${hi}` : lo !== undefined ? `>=${lo}` : hi !== undefined ? `<=${hi}` : undefined
  if (range !== undefined) keep.push({ text: range, rank: 5 })
  // a stable sort: cells of one rank keep their order
  return keep
    .map((cell, i) => ({ ...cell, i }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((cell) => cell.text)
    .join("  ")
}
