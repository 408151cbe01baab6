/**
 * Does a line look like it holds a reading, though no reader took it? What is a reading and what
 * is not (a limit, a target, a range, an average, another measure), so that a line the readers
 * missed is reported as unread rather than lost in silence (looseVitals.ts, report.ts).
 */
import { looksLikeCsv, looksLikeSemicolonCsv } from "./columns.js"
import { AVERAGE_WORDS, DIA_WORDS, PLAIN_VITAL_KEYS, SYS_WORDS } from "./vitalWords.js"
import { isBarePressure } from "./vitalValues.js"

/**
 * A vital sign's name with a number of two digits or more after it (not a digit of a word, as in
 * "SpO2"): "BP 128/84", "Puls: 72", "Temp (tympanic) 37.9"; not "BP cuff size M", "BP-2", "2 hr".
 */
const NAMED_NUMBER_RE = new RegExp(String.raw`(?<![\p{L}\d]\s*)(?:${PLAIN_VITAL_KEYS})(?!\p{L})[^\d\n]{0,24}?(?<![\p{L}\d.,])\d(?:\d|[.,]\d)`, "giu")
/** A number with a vital sign's unit: "72 bpm", "128/84 mmHg", "37,9 °C", "98.6F", "74.6 kg", "168 lbs"; not "30.4 kg/m²". */
const VITAL_UNIT_RE = /(?<![\d.,/])(?:\d+(?:[.,]\d+)?\s*(?:mm\s?hg\b|bpm\b|beats?\s*\/\s*min\b|[°º]\s?[cf]\b|kg\b(?!\s*\/)|lbs?\b)|\d{2,3}[.,]\d\s?[cf]\b)/gi
/**
 * Words that make a line no reading: an average, median or the lowest/highest of readings ("Average 135/85", "Средние
 * за неделю: утро 148/92", "Min 118/72" at the line's start; not "5 min later: 118/74").
 */
const NOT_A_READING_RE = new RegExp(String.raw`(?<!\p{L})(?:${AVERAGE_WORDS}|median|lowest|highest|h[öo]chst\p{L}*|niedrigst\p{L}*|tiefst\p{L}*|m[áa]xim[oa]|m[íi]nim[oa]|massim[oa])(?!\p{L})|^\s*(?:min(?:imum)?|max(?:imum)?)(?!\p{L})|平均|평균`, "iu")
/** A row of what the reader does not show as a vital sign: height, BMI, respiratory rate, pain, a score, a glucose. */
const OTHER_MEASURE_RE = /^\s*(?:height|gr[öo]ße|taille|altura|altezza|lengte|wzrost|bmi|imc|resp(?:iratory|\.|iration)?|atemfrequenz|fr[ée]quence\s+respiratoire|frecuencia\s+respiratoria|pain|schmerz|douleur|dolor|news2?|mews|score|glucose|glukose|glucosa|glic[eo]mia|glyc[ée]mie|blutzucker|sugar|steps|schritte)\b/iu
/**
 * A value given as a limit or a target, not as a reading: "≥160/110", "above 38 °C", "if still 140/90", "more than 2 kg",
 * "target: below 135/85", "Ziel unter 135/85", "(normal 95–100 %)", "+0.3 °C" (a deviation); not "p-82" (a name and
 * its value) nor "-  146/92" (a dash before a reading).
 */
const LIMIT_BEFORE_RE = new RegExp(
  String.raw`(?:(?:(?<![-=])[<>]=?|[≤≥]|\b(?:above|below|over|under|than|exceeds?|if(?:\s+still)?|at\s+least|up\s+to|ab|über|unter|plus\s+de|moins\s+de|sup[ée]rieure?\s+[àa]|inf[ée]rieure?\s+[àa]|sopra|sotto|oltre|m[áa]s\s+de|menos\s+de|por\s+encima\s+de|passar\s+de|acima\s+de|abaixo\s+de|mais\s+de|rises?\s+by|gain(?:ed)?|lost?|los[et]|dev\.?|deviation|dry\s+weight|target\s+weight|trockengewicht|peso\s+seco|poids\s+sec))\s*[:=]?\s*|[~≈]\s*|(?<![\p{L}\d])[+±−-]|(?<!\p{L})(?:targets?|goal|aim(?:ing)?|ziel(?:e|wert[e]?)?|objecti[fv]o?s?|obiettivo|doel|sasaran|threshold|seuils?|soglia|normal|reference|ref\.?|meta|целев\p{L}*|норма)(?!\p{L})[^\d\n]{0,16}|(?:目标|目標|목표|正常)[^\d\n]{0,16})$`,
  "iu"
)
/** After a value: "or above", "or more", "or higher", "o más". */
const LIMIT_AFTER_RE = /^\s*(?:mm\s?hg\s*)?(?:or\s+(?:above|more|higher|over|below|less|lower)|o\s+m[áa]s|ou\s+plus|oder\s+(?:mehr|höher))\b/iu

/** A match that is a limit, not a reading: a comparator or a limit word just before it, "or above" after it. */
export const isLimit = (line: string, start: number, end: number): boolean =>
  LIMIT_BEFORE_RE.test(line.slice(Math.max(0, start - 24), start)) || LIMIT_AFTER_RE.test(line.slice(end, end + 24))

/** Ranges, no readings, set aside before a line is looked at: "50-90 bpm", "95–100 %", "11 a 16", "7 to 55", of pressures "130–139/85–89"; not a date ("2026-03-09") nor a pressure. */
export const RANGE_RE = /(?<![\d.,/-])\d{2,3}\s*[-–]\s*\d{2,3}\s*\/\s*\d{2,3}\s*[-–]\s*\d{2,3}(?![\d/-])|(?<![\d.,/-])\d{1,3}(?:[.,]\d+)?\s*(?:[-–]|\s(?:a|to|bis|à|al)\s)\s*\d{1,3}(?:[.,]\d+)?(?![\d/-])/g

/** A line of averages, targets or normal values, of another measure, or of bracketed alternatives only. */
export const notAReading = (line: string): boolean =>
  NOT_A_READING_RE.test(line) || OTHER_MEASURE_RE.test(line) || !/\d/.test(line.replace(/\([^)]*\)|\[[^\]]*\]/g, ""))

/**
 * Does the line look like it holds a vitals reading, though none was read from it? A pressure
 * ("128/84" — systolic 60–260 over a lower diastolic 30–160, so not a date), a vital sign's name
 * with a number, or a number with a vital sign's unit — none of them a limit ("≥160/110", "call if
 * above 38 °C") nor inside a range; not a line of averages, targets, normal values or of another
 * measure (height, BMI, respiratory rate), nor a line of bracketed alternatives only ("(101.1 °F)
 * (98.1 °F)", the other unit of readings above). Such a line must not disappear in silence: it is
 * reported as unread.
 */
export const looksLikeVital = (line: string): boolean => {
  if (notAReading(line)) return false
  // ranges blanked out with spaces, so the positions of everything else stay as printed
  const bare = line.replace(RANGE_RE, (range) => " ".repeat(range.length))
  // (a pressure may be written "108x70")
  for (const m of bare.matchAll(/(?<![\d/.])(\d{2,3})\s?[/x×]\s?(\d{2,3})(?![\d/.])/g)) {
    const systolic = Number(m[1])
    const diastolic = Number(m[2])
    const start = m.index ?? 0
    if (isBarePressure(systolic, diastolic) && !isLimit(bare, start, start + m[0].length)) return true
  }
  for (const re of [NAMED_NUMBER_RE, VITAL_UNIT_RE]) {
    for (const m of bare.matchAll(re)) {
      const end = (m.index ?? 0) + m[0].length
      // the number's start: the name before it is no limit ("if BP 150/95" is, "BP above 150" is)
      const number = /\d+(?:[.,]\d+)?(?=[^\d]*$)/.exec(m[0].replace(/\s*(?:mm\s?hg|bpm|beats?\s*\/\s*min|°\s?[cf]|kg|lbs?)$/i, ""))
      const start = (m.index ?? 0) + (number?.index ?? 0)
      if (!isLimit(bare, start, end)) return true
    }
  }
  return false
}

/** Words that name vital signs or their columns: "SYS", "DIA", "Puls", "bpm", "mmHg", "SpO2", "Gewicht". */
// (a name glued to a Chinese or Japanese word is still a name: "血氧饱和度SpO2(%)")
const VITALS_WORD_RE = new RegExp(String.raw`(?<![\p{Lu}\p{Ll}])(?:sys|dia|${SYS_WORDS}|${DIA_WORDS}|${PLAIN_VITAL_KEYS}|mm\s?hg|bpm)(?![\p{Lu}\p{Ll}])`, "iu")
/** Does the line name vital signs (a table's header, a diary's title)? */
export const namesVitals = (line: string): boolean => VITALS_WORD_RE.test(line)

/** The separator of a line of a data export: a tab, semicolon or comma between four cells or more (not decimal commas). */
export const separatorOf = (line: string): string | undefined => {
  const separator = line.includes("\t") ? "\t" : looksLikeSemicolonCsv(line) ? ";" : looksLikeCsv(line) ? "," : undefined
  // ("RR 135/85, Puls 72, Temp 36,8" is a sentence with decimal commas, not four cells)
  const cells = separator === undefined ? 0 : line.split(separator).length
  return cells >= 4 && (separator !== "," || !/\d,\d/.test(line) || cells >= 6) ? separator : undefined
}

/** Dates and times in a line: "03.11.2026", "3.11.", "11/03", "2026-11-03", "07:10", "7h10", "7.15 am". */
const DATE_OR_TIME_RE = /\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}\.\d{1,2}\.(?!\d)|(?<![\d/])\d{1,2}\/\d{1,2}(?![\d/])|\d{1,2}[:h]\d{2}|\d{1,2}\.\d{2}\s*[ap]\.?m\b/gi

/**
 * A row of a vitals table printed without units or slashes, once its dates and times are set
 * aside: two numbers or more that vital signs take (30–260: "03.11.2026  07:10  142  91  68"), and
 * few words (a note, not prose). Used only in a document that names vital signs somewhere and
 * is no lab report, where such a row that gave no reading must be reported as unread.
 */
export const looksLikeVitalsRow = (line: string): boolean => {
  if (notAReading(line) || (line.match(/\p{L}{2,}/gu)?.length ?? 0) > 8) return false
  // a row of a data export: its cells ("2026-03-09T07:03:55+01:00,Cuff C1,blood_pressure,,,,142,90,79,0,device")
  const separator = separatorOf(line)
  if (separator !== undefined) {
    return line.split(separator).filter((cell) => /^\s*\d{2,3}(?:[.,]\d{1,2})?\s*$/.test(cell) && Number(cell.replace(",", ".")) >= 30 && Number(cell.replace(",", ".")) <= 260).length >= 2
  }
  const bare = line.replace(DATE_OR_TIME_RE, " ").replace(RANGE_RE, " ")
  const numbers = [...bare.matchAll(/(?<![\d.,])\d{2,3}(?:[.,]\d)?(?![\d]|[.,]\d)/g)].map((m) => Number(m[0].replace(",", ".")))
  return numbers.filter((n) => n >= 30 && n <= 260).length >= 2
}
