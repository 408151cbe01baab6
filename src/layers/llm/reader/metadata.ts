/**
 * Lines that describe the patient, the report or the page (banner, ids, dates, addresses,
 * phone numbers, physicians, page numbers): never a result.
 */
import { anyOf } from "./text.js"

export const METADATA_KEYS = [
  "patient(?:\\s+(?:name|id|no\\.?|number))?", "name", "surname", "first\\s+name", "dob", "d\\.o\\.b\\.?",
  "date\\s+of\\s+birth", "birth\\s*date", "age", "sex", "gender", "mrn", "nhs\\s+(?:no\\.?|number)",
  "hospital\\s+(?:no\\.?|number)", "medical\\s+record(?:\\s+(?:no\\.?|number))?", "account(?:\\s+(?:no\\.?|number))?",
  "acct", "accession(?:\\s+(?:no\\.?|number))?", "specimen(?:\\s+(?:id|type|no\\.?|number|source))?",
  "sample(?:\\s+(?:id|type|no\\.?|number))?", "lab(?:oratory)?(?:\\s+(?:id|no\\.?|number|ref(?:erence)?))?",
  "report(?:\\s+(?:id|date|status|no\\.?|number))?", "requisition(?:\\s+(?:id|no\\.?|number))?", "order(?:ing)?(?:\\s+(?:physician|provider|doctor|clinician|number|no\\.?|id|#))?",
  "physician", "provider", "doctor", "consultant", "gp", "clinician", "referr(?:ing|ed\\s+by)(?:\\s+(?:physician|doctor|clinician))?",
  "requested\\s+by", "collected(?:\\s+(?:on|at|by|date))?", "collection(?:\\s+(?:date|time|site))?",
  "received", "reported", "printed", "verified", "released", "resulted", "authori[sz]ed(?:\\s+by)?",
  "reviewed(?:\\s+by)?", "date(?:\\s+(?:of\\s+service|collected|received|reported|drawn))?", "time",
  "address", "phone", "tel(?:ephone)?", "mobile", "fax", "e-?mail", "insurance", "policy", "id", "client",
  "location", "ward", "department", "clinic", "page", "comments?", "notes?", "interpretation", "method",
  "fasting", "status", "performed(?:\\s+(?:at|by))?", "performing\\s+(?:lab(?:oratory)?|site)", "lab(?:oratory)?\\s+director",
  "director", "clia", "npi", "ssn", "source", "facility"
]

export const METADATA_START = new RegExp(String.raw`^(?:${METADATA_KEYS.join("|")})\s*(?:[:#]|\.\s)`, "i")

export const METADATA_ANYWHERE = anyOf(
  [
    String.raw`patient(?:\s+name)?|dob|d\.o\.b|date\s+of\s+birth|mrn|nhs\s+(?:no|number)|accession|report\s+id`,
    String.raw`ordering(?:\s+physician)?|physician|specimen|collected|received|reported`,
    "address|phone|fax|sex|gender|account|requisition"
  ],
  (keys) => String.raw`\b(?:${keys})\s*[:#]`,
  "i"
)

export const PAGE_RE = /\bpage\s*\d+\s*(?:of|\/)\s*\d+\b|^\s*page\s+\d+\s*$|^\s*-\s*\d+\s*-\s*$|^\s*\d+\s*\/\s*\d+\s*$/i

export const PHONE_RE = /(?:\+\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b|\+\d{1,3}(?:[\s.-]?\d{2,4}){3,}/

export const EMAIL_RE = /[\w.+-]+@[\w-]+\.[\w.]+/

export const DR_RE = /\b(?:Dr|Drs|MD|M\.D|DO|MBBS|FRCP|MT\(ASCP\))\b\.?\s*[A-Z]?/

export const URL_RE = /\bhttps?:\/\/|\bwww\./i

/** Lines that describe the patient, the report or the page, never a result. */
export const isMetadataLine = (line: string): boolean => {
  const s = line.trim().replace(/^[•·*\-–]\s*/, "")
  return (
    METADATA_START.test(s) ||
    METADATA_ANYWHERE.test(s) ||
    PAGE_RE.test(s) ||
    PHONE_RE.test(s) ||
    EMAIL_RE.test(s) ||
    URL_RE.test(s) ||
    (DR_RE.test(s) && !/\d\s*(?:[-–]|to)\s*\d/.test(s))
  )
}
