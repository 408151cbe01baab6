/**
 * Lines that describe the patient, the report or the page (banner, ids, dates, addresses,
 * phone numbers, physicians, page numbers): never a result.
 */
import { anyOf } from "./text.js"

/**
 * Words of a patient's birth ("DOB", "born", "geb.", "née", "г.р.", "生年月日", "Fecha nac."): a line with one holds a
 * birth date, which dates no result or reading below it.
 */
export const BIRTH_RE =
  /(?<![\p{L}])(?:dob|d\.o\.b\.?|born|birth|geb(?:oren|\.)?|n[ée]e?|г\.\s?р\.?|рожд\p{L}*|生年月日|생년월일|出生|nasc\p{L}*|nac(?:imiento|\.)|fecha\s+nac\p{L}*|data\s+di\s+nascita|urodz\p{L}*)(?![\p{L}])/iu

/** Regex sources of the labels that start a metadata line ("Patient Name", "DOB", "Ordering Physician"). */
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
  "director", "clia", "npi", "ssn", "source", "facility",
  // the same labels in the languages reports come in
  "pacient", "pacjent", "paciente", "paziente", "patient(?:in)?", "pati[ëe]nt", "utente", "hasta(?:\\s+ad[ıi])?", "navn", "namn",
  "geb\\.?(?:datum)?", "rodn[ée]\\s+[čc][íi]slo", "pesel", "cpr", "personnummer", "tc\\s+kimlik(?:\\s+no)?", "oddělení", "[žz]adatel",
  "odb[ěe]r", "poji[šs][ťt]ovna", "zleceniodawca", "lekarz", "data\\s+(?:nasc\\.?|pobrania|urodzenia|de\\s+nacimiento|di\\s+nascita)",
  "protokol(?:\\s+no)?", "istem(?:\\s+tarihi)?", "numune(?:\\s+(?:tarihi|no))?", "onay(?:\\s+tarihi)?", "rekvirent", "afsnit",
  "provtagning", "pr[øo]vetagning", "modtaget", "entnahme", "eingang", "einsender", "auftrag", "pr[ée]l[èe]vement", "demandeur",
  "prescripteur", "m[ée]dico", "requisi[çc][ãa]o", "colheita", "valida[çc][ãa]o", "aanvrager", "afname", "uitslag(?:datum)?",
  "richiedente", "prelievo", "accettazione", "solicitante", "extracci[óo]n", "materia[lł]", "materi[áa]l", "mat[ée]riel", "probenmaterial"
]

/** A metadata label at the line start, then ":", "#" or ". ". Examples: "DOB: 01/02/1980", "MRN# 1234", "Page: 2"; not "Age 45" (no separator). */
export const METADATA_START = new RegExp(String.raw`^(?:${METADATA_KEYS.join("|")})\s*(?:[:#]|\.\s)`, "i")

/** A patient or report label anywhere on the line. Examples: "Smith, J   DOB: 01/02/1980", "... Accession# A12". */
export const METADATA_ANYWHERE = anyOf(
  [
    String.raw`patient(?:\s+name)?|dob|d\.o\.b|date\s+of\s+birth|mrn|nhs\s+(?:no|number)|accession|report\s+id`,
    String.raw`ordering(?:\s+physician)?|physician|specimen|collected|received|reported`,
    "address|phone|fax|sex|gender|account|requisition"
  ],
  (keys) => String.raw`\b(?:${keys})\s*[:#]`,
  "i"
)

/** Page numbers. Examples: "Page 2 of 3", "page 1/4", "Strana 1/2", "Seite 2 von 3", "Page 2", "- 3 -", "2 / 5"; not "Page 2 notes". */
export const PAGE_RE = /\b(?:page|strana|strona|sayfa|sida|side|seite|p[áa]gina|blatt|feuille|blad)\s*\d+\s*(?:of|\/|z|von|de|di|af|av|van)\s*\d+\b|^\s*page\s+\d+\s*$|^\s*-\s*\d+\s*-\s*$|^\s*\d+\s*\/\s*\d+\s*$/i

/** Phone numbers. Examples: "(555) 123-4567", "555.123.4567", "+1 555 123 4567", "+44 20 7946 0958"; not "5551234567". */
export const PHONE_RE = /(?:\+\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b|\+\d{1,3}(?:[\s.-]?\d{2,4}){3,}/

/** An e-mail address. Examples: "lab@example.org", "j.smith+lab@mail.co.uk". */
export const EMAIL_RE = /[\w.+-]+@[\w-]+\.[\w.]+/

/** A physician's title or degree. Examples: "Dr. Smith", "Jane Lee, MD", "MBBS", "M.D.". */
export const DR_RE = /\b(?:Dr|Drs|MD|M\.D|DO|MBBS|FRCP|MT\(ASCP\))\b\.?\s*[A-Z]?/

/** A web address. Examples: "https://lab.example", "www.example.com". */
export const URL_RE = /\bhttps?:\/\/|\bwww\./i

/** Lines that describe the patient, the report or the page, never a result. */
export const isMetadataLine = (line: string): boolean => {
  // a bullet in front: "• ", "* ", "- ", "– "
  const s = line.trim().replace(/^[•·*\-–]\s*/, "")
  return (
    METADATA_START.test(s) ||
    METADATA_ANYWHERE.test(s) ||
    PAGE_RE.test(s) ||
    PHONE_RE.test(s) ||
    EMAIL_RE.test(s) ||
    URL_RE.test(s) ||
    // a doctor's name, unless the line has a range ("3.5 - 5.1", "10 to 20"), which makes it a result row
    (DR_RE.test(s) && !/\d\s*(?:[-–]|to)\s*\d/.test(s))
  )
}
