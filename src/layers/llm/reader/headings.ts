/**
 * Section headings ("COMPLETE BLOOD COUNT", "Lipid Panel") and the document title made of them.
 */
import type { DocumentType } from "../../../services/llm.js"
import { anyOf } from "./text.js"
import type { ParsedVital } from "./types.js"

/** A word that marks a section heading. Examples: "Lipid Panel", "HAEMATOLOGY", "U & Es", "Thyroid function"; not "Panels", "Hemoglobin". */
export const SECTION_WORDS = anyOf(
  [
    String.raw`count|panel|profile|chemistry|biochemistry|ha?ematology|urinalysis|urine|lipids?|thyroid|metabolic|function`,
    String.raw`serology|immunology|coagulation|clotting|vitamins?|iron|liver|kidney|renal|electrolytes?|hormones?|endocrin\w*`,
    String.raw`tests?|results?|screen(?:ing)?|studies|markers?|blood|cbc|cmp|bmp|fbc|lft|lfts|u\s*&\s*es?|a1c|diabetes|diabetic`,
    String.raw`cardiac|inflammat\w*|infectious|hepatitis|culture|differential|glucose|analysis|chem|bone|pancreatic|tumou?r`,
    String.raw`allergy|immunoglobulins?|proteins?|minerals?|enzymes?|gases|work-?up|h[aä]matologie|chemie`
  ],
  (words) => String.raw`\b(?:${words})\b`,
  "i"
)

/** Words a title keeps in capitals ("CBC", "HDL", "U&E"). */
export const ACRONYMS = new Set(
  "CBC CMP BMP FBC LFT LFTS TSH HDL LDL HIV CRP ESR INR PT PTT APTT RBC WBC UE U&E U&ES NHS B12 D T3 T4 PSA CK GGT ALT AST ALP II".split(" ")
)

/** Words a title keeps in lower case after its first word ("Tests of Kidney Function"). */
export const SMALL_WORDS = new Set(["of", "and", "with", "the", "for", "in", "on", "a", "an", "to", "or"])

/** A heading printed in capitals as a title: "COMPLETE BLOOD COUNT (CBC)" → "Complete Blood Count (CBC)". */
export const titleCase = (heading: string): string =>
  heading
    // split keeping spaces and the marks between words: "LIVER/KIDNEY" → ["LIVER", "/", "KIDNEY"]
    .split(/(\s+|[(),/&-])/)
    .map((part, i) => {
      // a part with no letter ("/", " ", "(") stays as it is
      if (!/\p{L}/u.test(part)) return part
      const upper = part.toUpperCase()
      // /[^A-Z0-9&]/g keeps letters, digits and "&": "(CBC)" → "CBC"
      if (ACRONYMS.has(upper.replace(/[^A-Z0-9&]/g, ""))) return upper
      // "A1C", "a1c" → "A1c"
      if (/^A1C$/i.test(part)) return "A1c"
      const lower = part.toLowerCase()
      if (i > 0 && SMALL_WORDS.has(lower)) return lower
      return lower.charAt(0).toUpperCase() + lower.slice(1)
    })
    .join("")

/** The section heading a line is (capitals, a section word, or a trailing colon), cleaned, or undefined. */
export const readHeading = (line: string): string | undefined => {
  // cut decoration: a lead of "#", "=", "*", dashes ("== ", "- "), counts "(12)", a tail of ":", "=", "#"
  const s = line
    .trim()
    .replace(/^[#=*\-–\s]+/, "")
    .replace(/\s*\(\d+\)/g, "")
    .replace(/[#=*:\-–\s]+$/, "")
  // two digits in a row are a value or a date ("Glucose 95"), except in "A1c", "B12"
  if (s.length < 3 || s.length > 80 || /\d{2,}/.test(s.replace(/\bA1c\b|\bB12\b/gi, ""))) return undefined
  // at least three letters (/\p{L}/gu), at most nine words (split on /\s+/)
  if ((s.match(/\p{L}/gu)?.length ?? 0) < 3 || s.split(/\s+/).length > 9) return undefined
  // a sentence end ("Fasting.", "Why?") is prose; two spaces ("Glucose  95") separate columns
  if (/[.!?;]$/.test(line.trim()) || /\s{2,}/.test(s)) return undefined
  const allCaps = s === s.toUpperCase()
  return allCaps || SECTION_WORDS.test(s) || line.trim().endsWith(":") ? s : undefined
}

/** The title a heading gives the document when it names a section ("Lipid Panel"), else undefined. */
export const headingTitle = (heading: string): string | undefined => {
  if (!SECTION_WORDS.test(heading)) return undefined
  const title = heading === heading.toUpperCase() ? titleCase(heading) : heading
  // every run of whitespace one space
  return title.replace(/\s+/g, " ").trim()
}

/** Words that only section headings have, never a test name ("Lipid Panel", "Coagulation"); whole words: not "Panels". */
export const SECTION_ONLY = /\b(?:panel|profile|chemistry|biochemistry|ha?ematology|urinalysis|serology|immunology|coagulation|differential)\b/i

/** The document's title: its section headings for lab results, the date span for vitals. */
export const makeTitle = (documentType: DocumentType, titles: ReadonlyArray<string>, vitals: ReadonlyArray<ParsedVital>): string => {
  switch (documentType) {
    case "lab_results": {
      if (titles.length === 0) return "Lab results"
      const shown = titles.slice(0, 4).join(", ")
      const title = titles.length > 4 ? `${shown} and more` : shown
      return title.length > 160 ? "Lab results" : title
    }
    case "vitals": {
      const days = vitals.map((v) => v.time.slice(0, 10)).sort()
      const first = days[0]
      const last = days[days.length - 1]
      if (first === undefined || last === undefined) return "Vital signs"
      return first === last ? `Vital signs, ${first}` : `Vital signs, ${first} to ${last}`
    }
    case "report":
      return "Medical report"
    case "other":
      return "Document"
  }
}
