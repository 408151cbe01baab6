/**
 * The local Deidentifier: a deterministic scrubber for the identifiers lab reports and vitals logs
 * print, with no service to call (the default wherever the model is Bedrock and Comprehend Medical
 * is not chosen, and what the tests use).
 *
 * Written here rather than taken from a library: the npm registry's PHI scrubbers are either
 * free-text name/number redactors that do not know a report's labelled header (and scrub result
 * values as phone numbers), or bindings to services. What a report prints is regular: a labelled
 * header (Patient:, DOB, MRN, Accession, Ordering physician, in the languages the reader knows), a
 * letterhead (address, phone, web), and a footer. The rules, line by line:
 * - a label and the value after it, up to the next column gap, checked against what the label
 *   announces (a birth date must be a date, an id must have a digit, a name must have no digit);
 * - patterns needing no label: emails, web addresses, phone numbers in shapes no result takes, street
 *   addresses with their postcode and city, titled names (Dr., Mr., Dott.ssa …) and names with a
 *   credential (MD, DO, NP, PA-C, MT(ASCP));
 * - on a line holding a birth date or record number, a column that is nothing but a name (a banner);
 * - every word of the patient's name, wherever else it is printed, in any order or case.
 * Dates of collection, ages under 90, sex, test names, values, units and ranges are kept.
 */
import { Effect, Layer } from "effect"
import { Deidentifier, type PhiKind, type PhiSpan } from "../../services/deidentifier.js"

type LabelKind = PhiKind | "PATIENT"

/** Labels, most specific first (a longer label wins over a shorter one at the same place). */
const LABELS: ReadonlyArray<readonly [LabelKind, string]> = [
  ["DOB", String.raw`d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|birth\s*date|born|geburtsdatum|geb\.?\s*datum|geb(?:oren)?\.?|n[ée]e?\s+le|nat[oa]\s+il|fecha\s+(?:de\s+)?nac(?:\.|imiento)?|f\.\s*nac\.?|data\s+d[ei]\s+nasc(?:imento|ita)|sz[üu]let[ée]si\s+(?:id[őo]|d[áa]tum)|geboortedatum|tgl\.?\s+lahir|tanggal\s+lahir|syntym[äa]aika|data\s+na[șs]terii|f[øo]dselsdato|f[øo]dt|f\.|nacimiento|data\s+nasc\.?|data\s+ur(?:odzenia)?\.?|do[ğg]um\s+(?:tarihi|t\.)|nacimiento|jg\.|생년월일|生年月日|出生日期|дата\s+рождения`],
  ["MRN", String.raw`患者id|病历号|mrn|nhc|nhi|ipp|resident\s+id|our\s+id|pat\.?-nr\.?|anc\s+no\.?|unit\s+no\.?|cod\s+pacient|folder|cartella\s+n\.?|no\.?\s+daftar|n\.?[º°]\s*utente(?:\s+sns)?|mr\s*(?:#|no\.?)|hosp\.?\s*(?:no\.?|number|#)|rodn[ée]\s+[čc][íi]slo|medical\s+record(?:\s+(?:no\.?|number|#))?|chart\s*(?:#|no\.?|number)?|ur(?:\s+no\.?)?|patient\s*(?:id|no\.?|number|#|ref\.?)|pat\.?\s*(?:id|no\.?)|pati[ëe]ntnr\.?|patientennummer|n\.?[º°o]\.?\s*(?:historia|processo|hc)|historia\s+cl[íi]nica|azonos[íi]t[óo]|case\s*#|hospital\s+(?:no\.?|number)|nhs\s+(?:no\.?|number)|cnp`],
  ["NAME", String.raw`ordering\s+(?:physician|provider|doctor|clinician)|ordering|physician|provider|attending|consultant|requested\s+by|ordered\s+by|referred(?:\s+by)?|referring(?:\s+(?:physician|doctor))?|copy\s+to|cc|requesting|req\.?\s+by|ref\.?\s+by|doctor|dokter|dr\.?\s+name|m[ée]dico(?:\s+(?:solicitante|curante|requisitante|tratante))?|m[ée]decin(?:\s+traitant)?|aanvrager|huisarts|pyyt[äa]j[äa]|bek[üu]ld[őo]|medic\s+trimi[țt][ăa]tor|director(?:\s+t[ée]cnico)?|dir\.?|reviewed\s+by|verified\s+by|validated\s+by|printed\s+by|signed\s+by|responsable\s+sanitario|direttore\s+tecnico|direcci[óo]n\s+t[ée]cnica|einsender|technologist|collected\s+by|drawn\s+by|nurse|clinician|pathologist|rekvirent|kopi|fastlege|prescripteur|valid[óo]|resp\.\s+sanitario|zlecaj[ąa]cy|lekarz\s+kieruj[ąa]cy|autoryzacja|autoryzowa[łl]\(?a?\)?|best[äa]llare|vidimerad|authori[sz]ed\s+by|signed|named\s+midwife|operator|seen\s+by|taken\s+by|initials|sign(?:ature)?|[žz]adatel|hausarzt|m[ée]dica?\s+(?:respons[áa]vel|assistente)(?:\s+\(usf\))?|依頼医|検査技師|確認医|记录人|disemak\s+oleh(?:\s*\/\s*reviewed\s+by)?`],
  ["ID", String.raw`accession(?:\s+(?:no\.?|#|number))?|acc\.?\s*#|specimen\s*(?:id|#|no\.?|number)|sample\s*(?:id|#|no\.?)|lab\.?\s*(?:no\.?|ref\.?|#|number|id)|no\.?\s+lab|report\s*(?:id|#|no\.?)|order\s*(?:no\.?|#|number|id)|ordernr\.?|auftrag(?:s-?nr\.?)?|n[º°o]\.?\s*petici[óo]n|folio|cod\.?\s+(?:accettazione|prob[ăa])|acct\.?|account(?:\s+(?:no\.?|#|number))?|visit\s*(?:#|no\.?|id|number)|encounter\s*(?:#|id|no\.?)|your\s+ref\.?|npi|henkil[öo]tunnus|requisition\s*(?:#|no\.?|id)?|barcode|episode(?:\s+no\.?)?|ssn|social\s+security(?:\s+no\.?)?|insurance\s+(?:id|no\.?)|member\s+id|client\s*(?:#|no\.?|id)|f[øo]dselsnr\.?|cip|nr\s+zlecenia|zlecenie|t\.c\.\s+kimlik\s+no|kimlik(?:\s+no)?|protokol\s+no|pesel|cpr|bsn|medicare|remiss|letter\s+ref|health\s+(?:id|no\.?|number)|dossier(?:\s+n[°º]\.?)?|petici[óo]n|labnummer|control\s+id|nric|codice\s+fiscale|nr\.?|n[°º]\.?|account|specimen|id`],
  ["PHONE", String.raw`phone|ph\.?|t[ée]l(?:ephone|efon[oe]?|p|\.\s*\(clinic\))?\.?|sentralbord|toll\s+free|r[üu]ckruf-nr\.?|fax|mobile|cell|enquiries|client\s+services|asiakaspalvelu|wa`],
  ["ADDRESS", String.raw`address|addr\.?|alamat|adresse|direcci[óo]n|indirizzo|endere[çc]o|anschrift`],
  ["PATIENT", String.raw`patient(?:'s)?\s+name|patient|pt\.?|name|full\s+name|surname|given\s+names?|first\s+name|last\s+name|for|nom|nome|nombre|paciente|paziente|pati[ëe]nt(?:e)?|utente|pacient|potilas|beteg\s+neve|guardian|naam|vorname|nachname|pasient|pacjent|hasta(?:\s+ad[ıi]\s+soyad[ıi])?|navn|nume|nama(?:\s*\/\s*name)?|resident|cli[ëe]nt|logged\s+in\s+as|user|owner|test\s+results\s+for|record\s+of|madame|monsieur|氏名(?:\s+name)?|姓名|이름|お名前|from|to`]
]

const LABEL_SOURCE = LABELS.map(([, source]) => `(${source})`).join("|")
/**
 * A label at the start of a line or a column (after two spaces, a tab, `|`, `·`, `*`, `/`), then
 * its separator: a colon, dots or an ellipsis, `#`, `:` after spaces, or spaces alone.
 */
const LABEL = new RegExp(
  String.raw`(?:^|(?<=\s{2}|\t|[|·*•(,;]\s?|^\s+|^#\s|[|·*•;]|\s[-–—]\s))(?:${LABEL_SOURCE})(?=[\s.:#…：;]|$)(?<sep>(?:\s*(?:\.{2,}|…+|[:#：]|-(?=\s)))+\s*|\s*[;|]\s*|\s+)`,
  "giu"
)

const COLUMN_END = /\s{2,}|\t|\s[|·*•]\s|\s\/\s(?=[\p{Lu}])| [|·]|;|$/u

/** Words that are a column's heading, never a name (a table header after a `Name` label). */
const NOT_NAME = new Set([
  "result", "results", "value", "values", "unit", "units", "reference", "range", "flag", "test", "tests", "component",
  "analyte", "specimen", "status", "final", "yes", "no", "none", "n/a", "na", "unknown", "male", "female", "sex", "age"
])

const DATE = new RegExp(
  [
    String.raw`\d{4}[./-]\d{1,2}[./-]\d{1,2}\.?`,
    String.raw`\d{1,2}[./-]\d{1,2}[./-]\d{2,4}`,
    String.raw`\d{1,2}[\s.-]+\p{L}{3,9}\.?[\s.,-]+\d{2,4}`,
    String.raw`\p{L}{3,9}\.?\s+\d{1,2},?\s+\d{4}`
  ].join("|"),
  "u"
)

const MONTH_WORD = /^\p{L}{3,9}$/u

/** Labels of a row of a chart whose every column is a name or initials (who took each reading). */
const ROW_LABEL = /^(?:initials|taken\s+by|seen\s+by|signed|sign(?:ature)?)$/iu

interface Found {
  kind: PhiKind
  start: number
  end: number
}

/** The value after a label: to the next column gap or the line's end. */
const valueExtent = (line: string, from: number): { readonly start: number; readonly end: number } => {
  const rest = line.slice(from)
  const gap = COLUMN_END.exec(rest)
  return { start: from, end: from + (gap === null ? rest.length : gap.index) }
}

/** The part of a value that is a name: before the first digit or bracket; none when it is a heading word. */
const nameIn = (value: string): { readonly start: number; readonly end: number } | undefined => {
  const stop = value.search(/[\d(]/u)
  let end = stop < 0 ? value.length : stop
  while (end > 0 && /[\s,;:/-]/u.test(value[end - 1]!)) end--
  const name = value.slice(0, end)
  if (!/\p{L}{2,}|\p{Lu}\.|[\p{Script=Han}\p{Script=Hangul}\p{Script=Hiragana}\p{Script=Katakana}]/u.test(name)) return undefined
  const words = name.toLowerCase().split(/[\s,]+/u).filter((w) => w !== "")
  if (words.length === 0 || words.every((w) => NOT_NAME.has(w.replace(/[.:]$/u, "")))) return undefined
  return { start: 0, end }
}

const idIn = (value: string): { readonly start: number; readonly end: number } | undefined => {
  // an id has a digit (or is masked, `xxxxxx-xxxx`); spaces inside it (`3107 6642 18`) are kept
  const match = /^[\p{L}\d#][\p{L}\d#/._-]*(?:\s\d[\d/._-]*)*/u.exec(value)
  if (match === null) return undefined
  const id = match[0]
  if ((!/\d/u.test(id) && !/^[xX*]{3,}[-xX*]*$/u.test(id)) || id.length < 3) return undefined
  return { start: 0, end: id.length }
}

const phoneIn = (value: string): { readonly start: number; readonly end: number } | undefined => {
  const match = /^[+(]?\d[\d\s().\/-]{4,}\d/u.exec(value)
  return match === null || match[0].replace(/\D/gu, "").length < 6 ? undefined : { start: 0, end: match[0].length }
}

const dateIn = (value: string): { readonly start: number; readonly end: number } | undefined => {
  const match = DATE.exec(value)
  if (match === null || match.index > 12) {
    // a birth month and year, or a year alone (`03/1958`, `Jg. 1951`, `Doğum t.: 1958`)
    const year = /^(?:\d{1,2}[./-])?(?:19|20)\d{2}\b/u.exec(value)
    return year === null ? undefined : { start: 0, end: year[0].length }
  }
  // "Nov 5, 2026" needs a real month word; a bare number (`0048217`) is not a date
  const word = /\p{L}{3,9}/u.exec(match[0])
  if (word !== null && !MONTH_WORD.test(word[0])) return undefined
  return { start: match.index, end: match.index + match[0].length }
}

const labelKind = (match: RegExpExecArray): LabelKind => {
  for (let i = 0; i < LABELS.length; i++) if (match[i + 1] !== undefined) return LABELS[i]![0]
  return "ID"
}

// ---------------------------------------------------------------------------------------------
// Patterns that need no label

const NAME_WORD = String.raw`(?:(?:\p{Lu}\.){1,3}|\p{Lu}[\p{L}'’-]*\.?)`
const PARTICLE = String.raw`(?:de|da|del|della|di|dos|das|do|van|von|der|den|la|le|lo|Lo|y|e|bin|al)`
const NAME_RUN = String.raw`${NAME_WORD}(?: (?:${PARTICLE} )?${NAME_WORD}){0,4}`
const TITLE = String.raw`(?:Dr\.\s+rer\.\s+nat|Dr\.\s+med|Dr\.ª|Dr|Dra|Drs|drs|dr|Dott(?:\.ssa)?|Prof|Mr|Mrs|Ms|Miss|Mx|Mme|Mlle|Madame|Monsieur|Docteur|Tn|Ny|Nn|Sr|Sra|Herr|Frau|Fr|Hr|mw|dhr|Q\.F\.B|QFB|Enf|DR|MRS|MR|MS|MUDr|RNDr|Lege|lege|lek|L[äa]k|mgr|SN|RN|LPN|MLT|BMA|Staff Nurse|fastlege|overl[æa]ge|[ÖO]verl[äa]kare)`

/** A title before a labelled name (`Physician: Dr. R. Alvarez`), and a column that is nothing but a name. */
const LEADING_TITLE = new RegExp(String.raw`^${TITLE}\.?[ \t]+`, "u")
const BANNER_NAME = new RegExp(String.raw`^${NAME_WORD}(?:,?[ \t]+${NAME_WORD}){1,4}$`, "u")

const PATTERNS: ReadonlyArray<readonly [PhiKind, RegExp, number]> = [
  ["EMAIL", /[\p{L}\d._%+-]+@[\p{L}\d-]+(?:\.[\p{L}\d-]+)+/gu, 0],
  ["URL", /\b(?:https?:\/\/|www\.)[^\s|·,;()]+/giu, 0],
  ["URL", /\b[a-z\d-]+(?:\.[a-z\d-]+)*\.(?:com|org|net|example|health|io|gov|edu|co\.uk|de|fr|nl|it|es|pt|hu|ro|fi|id|ph|au)\b(?:\/[^\s|·]*)?/gu, 0],
  ["PHONE", /\(\+?\d{2,5}\)\s?\d{2,4}(?:[\s.-]\d{2,4}){1,3}/gu, 0],
  ["PHONE", /\b1-\d{3}-\d{3}-\d{4}\b/gu, 0],
  ["PHONE", /\b\d{3}[-.]\d{3}[-.]\d{4}\b/gu, 0],
  ["PHONE", /\+\d{1,3}(?:[\s-]\d{1,4}){2,5}\b/gu, 0],
  ["PHONE", /\b0\d{2,4}[\s-]\d{3}[\s-]\d{2,4}(?:[\s-]\d{1,2})?\b/gu, 0],
  // titled names: Dr. R. Alvarez, Dott.ssa Ornella Pizzighetti Gambaro, Mr. ARVIND KUMAR RAO, drs. J.K. Stellingwerf
  ["NAME", new RegExp(String.raw`\b${TITLE}\.?(?:[ \t]+med\.)?[ \t]+(${NAME_RUN})`, "gu"), 1],
  // an initial and a surname: T. Vu, W.T. Cho, T. van Hasselt (not E. coli: the surname is capitalised)
  ["NAME", new RegExp(String.raw`(?<![\p{L}\p{N}.°/])(?:\p{Lu}\.[ ]?){1,3}(?:${PARTICLE} )?\p{Lu}[\p{L}'’-]+`, "gu"), 0],
  // names with a credential: Ferreira-Stokes, Hollis MD; M. Chen, MT(ASCP); Wen-Li Castellano, PA-C
  [
    "NAME",
    new RegExp(String.raw`(${NAME_WORD}(?:(?:, ?| )${NAME_WORD}){0,3})(?=,? (?:MD|DO|NP|PA-C|RN|PhD|MBBS|FRCPA|LPN|MT\s?\(ASCP\)|MLS|MLT|CNP|FNP|DNP|BMS|Sp\.\p{L}+)(?![\p{L}]))`, "gu"),
    1
  ]
]

const CHAT_SENDER = /^\s*\[?\d{1,2}[./-]\d{1,2}[./-]\d{2,4},?\s+\d{1,2}:\d{2}(?::\d{2})?\]?\s*-?\s*((?![^:]*\b(?:Clinic|Hospital|Lab|Laboratory|Centre|Center|Pharmacy|Practice|Surgery|UBS|Health)\b)[^:\d]{2,40}?):/gu

/** Identifiers found from their surroundings rather than a label (group 1 is the identifier). */
const CONTEXT_PATTERNS: ReadonlyArray<readonly [PhiKind, RegExp]> = [
  // initials of who called, typed or checked: `by LT`, `by J.P.`, `- JLB`, `(TK)` after a time, `(J.M.)`
  ["NAME", /\bby\s+(?:[\p{L}-]+\s+){0,2}?((?:\p{Lu}\.){2,3}|\p{Lu}{2,10})(?![\p{L}.])/gu],
  ["NAME", /\s-\s(\p{Lu}{2,4}|(?:\p{Lu}\.){2,3})\s*\**\s*$/gu],
  ["NAME", /(?:\d{1,2}[:.]\d{2}|bioing\S*|bioanalytiker|tech\.?|reception|front desk|typed\S*|\d{4})\s*\(((?:\p{L}\.){2,3}|\p{L}{2,3})\)/gu],
  // a chat export's sender (its words scrubbed wherever else they are printed): `14/11/2026, 09:41 - Grace Kamau: …`
  ["NAME", CHAT_SENDER],
  // a greeting or a sign-off's name: `Hi Siobhan,`, `Dear Mrs Paterson`
  ["NAME", /^\s*(?:Hi|Hello|Dear|Hey|Bonjour|Hallo|Hola|Beste|Kære|Hej)\s+((?:\p{Lu}[\p{L}'’-]+\.?\s?){1,3})/gu],
  // a possessive name at the start of a diary's title: `MAYA'S FEVER LOG`
  ["NAME", /^\s*(\p{Lu}[\p{L}-]+)['’]S\s+(?:FEVER|BP|BLOOD|SUGAR|WEIGHT|HEALTH|SICK|DIARY|LOG)/gu],
  // ids: letters and digits mixed (`CR-0884-2026-31577`, `KLM-88213`, `H26-0412-0098`, `CS09114`), not a test's name
  ["ID", /(?<![\p{L}\d.,/-])((?=[\p{L}\d/-]*\d{4})(?=[\p{L}\d/-]*\p{Lu})\p{Lu}[\p{Lu}\d]{0,5}[-/]?\d[\p{Lu}\d]*(?:[-/][\p{Lu}\d]+)*)(?![\p{L}\d])/gu],
  ["ID", /(?<![\p{L}\d])(\p{Lu}{1,4}\d{5,})(?![\p{L}\d])/gu],
  // ids in three groups of digits that no date takes: `26-0714-3381`
  ["ID", /(?<![\d.,/-])(\d{2,4}-\d{3,4}-\d{3,5})(?![\d,/-]|\.\d)/gu],
  // a birth year in the forms diaries and apps print it: `1969년생`, `1958 г.р.`, `"birthYear": 1987`
  ["DOB", /(?<!\d)((?:19|20)\d{2})(?:\s*년생|\s*г\.\s*р\.)/gu],
  ["DOB", /"birth_?year"\s*:\s*"?((?:19|20)\d{2})/giu],
  // ids: long digit runs with a dash or slash that are not dates or ranges (`260214-0377`, `2026/118734`, `0412/2025`)
  ["ID", /(?<![\d.,/-])(\d{5,}[-/]\d{2,}(?:[-/]\d+)*|\d{2,4}[-/]\d{5,}(?:[-/]\d+)*|\d{4}\/\d{4})(?![\d.,/-])/gu],
  // ids: seven or more digits in a row, never a value with a decimal point
  ["ID", /(?<![\p{L}\d.,])(\d{7,})(?![\d.,])/gu],
  // masked ids: `5**********8`, `020346-XXXX`, `ORLL540311****`, `***.***.*12`
  ["ID", /(?<![\p{L}\d])([\p{Lu}\d]*\d[\p{Lu}\d]*[-.]?[*X]{3,}[-.*X\d]*|[*X]{3,}[-.*X\d]*\d[\d*]*|\d{4,}-X{4})(?![\p{L}\d])/gu]
]

const STREET_WORDS = ["Street", "St.", "St", "Avenue", "Ave.", "Ave", "Road", "Rd.", "Rd", "Parade", "Terrace", "Crescent", "Crossing", "Bend", "Lane", "Ln.", "Ln", "Drive", "Dr.", "Dr", "Way", "Boulevard", "Blvd.", "Blvd", "Court", "Ct.", "Ct", "Place", "Pl.", "Pl", "Highway", "Hwy.", "Hwy", "Square", "Sq.", "Close", "Row", "Circle", "Cir.", "Plaza", "Trail", "Pike", "Parkway", "Pkwy.", "Pkwy", "Extension"]
const STREET_SUFFIX = `(?:${[...STREET_WORDS, ...STREET_WORDS.map((w) => w.toUpperCase())].map((w) => w.replace(".", "\\.")).join("|")})`
const STREETS: ReadonlyArray<RegExp> = [
  // 310 Tidewater Parade; 12/B Rivergate Road; 2291 Old Mill Rd
  new RegExp(String.raw`\b\d{1,5}[A-Za-z]?(?:\/[A-Z])?[ \t]+(?:${NAME_WORD}[ \t]+){0,4}${STREET_SUFFIX}(?![\p{L}])`, "gu"),
  // Via dei Cordai 18; Rua das Amendoeiras, 17; Avda. de los Almendros 112; Jl. Kenanga Raya No. 27; Str. Teilor nr. 7
  new RegExp(String.raw`\b(?:Via|Viale|Rua|Avda\.|Av\.|Avenida|Calle|C\/|Str\.|Strada|Jl\.|Jalan|Rue|Perum|Praça|Largo|Piazza|Corso|Calea|Bulevardul|Bd\.|Travessa|Paseo|Carrer)[ \t]+[^|·\n\t]*?\d+[A-Za-z]?\b`, "gu"),
  // 7 rue des Tanneurs; 4 impasse des Tilleuls; 12 rue Jean-Jaurès
  /(?<![\d.,])\b\d{1,4}(?: ?(?:bis|ter))?,? (?:rue|impasse|place|avenue|allée|chemin|boulevard|quai|route) (?:des |du |de la |de l'|de |d'|\p{Lu})[^|·\n\t,;]+/gu,
  // ul. Kasztanowa 17; Am Güterbahnhof 3; Calz. de los Fresnos 1180; Çınarlı Mah. Fidan Sok. No:42
  /\b(?:ul\.|Am|Calz\.|Mah\.|Sok\.)\s+\p{Lu}[^|·\n\t;]*?\d+[A-Za-z]?\b/gu,
  // Dunmore Road; NSUKKA ROAD; Rizal Street (no number)
  new RegExp(String.raw`\b\p{Lu}[\p{L}'-]+[ \t]+(?:Road|ROAD|Street|STREET|Avenue|AVENUE|Lane|LANE|Drive|DRIVE|Parade|Crescent|Terrace|Boulevard)\b`, "gu"),
  // Rosenauer Straße 41; Gasthuisdreef 41; Fenyő utca 14.; Kuusilahdentie 3 B
  new RegExp(String.raw`\b(?:\p{Lu}[\p{L}-]*[ \t]+(?:Straße|Strasse|Weg|Gasse|Allee|Platz|Ring|utca|út|tér)|\p{Lu}[\p{L}-]*(?:straße|strasse|weg|gasse|allee|platz|dreef|laan|straat|plein|singel|gracht|kade|tie|katu|vej|gatan|gade|väg))[ \t]+\d+(?:[ \t]?[A-Za-z]\b)?\.?`, "gu")
]
/** Postcodes with their city, in the shapes reports print them. */
const POSTCODES: ReadonlyArray<RegExp> = [
  /\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b/gu,
  /(?<![\p{L}\d.,-])\d{4} ?[A-Z]{2} \p{Lu}\p{Ll}+/gu,
  /(?<![\p{L}\d.,-])\d{2}-\d{3} \p{Lu}\p{Ll}+/gu,
  /(?<![\p{L}\d.,/-])\d{3} \d{2} \p{Lu}\p{Ll}+(?=\s{2}|,|$)/gu,
  /(?<![\p{L}\d.,/-])\d{5,6} \p{Lu}\p{Ll}[\p{L}'-]*(?:[ -]\p{L}[\p{L}'-]*){0,3}(?=\s{2}|\s?[,·|*]|$)/gu,
  /\b(?:P\.?\s?O\.?\s+Box|Postboks|Postbus|Apartado|Casella\s+postale)\s+\d+/giu,
  /\b(?:Plot|Unit|Building|Level|Floor|Suite)\s+[\p{L}\d]{1,4},\s+\p{L}/gu,
  /\b\d{1,2}(?:st|nd|rd|th)\s+Floor\b/gu
]

/** The column (between column gaps, `|`, `·`, `*`, `;`) that holds start..end. */
const columnAround = (line: string, start: number, end: number): { readonly start: number; readonly end: number } => {
  const separators = /\s{2,}|\t|\s[|·*•—]\s|[|;]/gu
  let from = 0
  let to = line.length
  for (let match = separators.exec(line); match !== null; match = separators.exec(line)) {
    if (match.index + match[0].length <= start) from = match.index + match[0].length
    else if (match.index >= end) {
      to = match.index
      break
    }
  }
  return { start: from, end: to }
}

/** After a street on the same column: `, Suite 2, Ferndell, WA 98999`, ` · 94031 Passau-Ost`, `, 7311 ZX Ommerveld`, ` - 99099 Borgoverde (XX)`. */
const ADDRESS_TAIL = new RegExp(
  String.raw`^(?:(?:,|[ \t]+[-–·][ \t]+|[ \t]*,[ \t]*|[ \t]+)(?:(?:Suite|SUITE|Ste\.?|STE\.?|Unit|UNIT|Level|Floor|Apt\.?|Building|Bldg\.?|Sector|Col\.|Blok|No\.?|nr\.?)[ \t]+[\p{L}\d-]+|\d{4,5}(?:-\d{3,4})?(?:[ \t]?[A-Z]{2}\b)?(?:[ \t]+\p{Lu}[\p{L}-]*){1,3}(?:[ \t]+\([A-Z]{2}\))?|\p{Lu}[\p{L}'-]+(?:[ \t]+\p{Lu}[\p{L}'-]+){0,2},?[ \t]+[A-Z]{2,3}[ \t]+\d{4,5}(?:-\d{4})?|\p{Lu}[\p{L}'-]+(?:[ \t]+\p{Lu}[\p{L}'-]+){0,2}(?=,|[ \t]*$|\s{2})|\d+(?:[.,][ \t]*\p{L}+\.?)?))+`,
  "u"
)
/** A city, state and ZIP (or Australian state and postcode) standing alone: `Dalesford, MN 55999`, `Ridgeford, KS 66999`. */
const CITY_STATE_ZIP = /\b\p{Lu}[\p{L}'-]+(?:[ \t]+\p{Lu}[\p{L}'-]+){0,2}(?:,[ \t]+[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?|[ \t]+(?!ID|NO|PT|DR)[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?|,?[ \t]+(?:QLD|NSW|VIC|TAS|ACT|SA|WA|NT)[ \t]+\d{4})\b/gu

const lineSpans = (line: string): Array<Found & { patient?: boolean }> => {
  const found: Array<Found & { patient?: boolean }> = []
  let anchored = false
  let personal = false
  const unlabelledNames: Array<Found> = []
  LABEL.lastIndex = 0
  for (let match = LABEL.exec(line); match !== null; match = LABEL.exec(line)) {
    if (match[0].length === 0) {
      LABEL.lastIndex++
      continue
    }
    const kind = labelKind(match)
    const sep = match.groups?.["sep"] ?? ""
    // a name after a label with nothing but one space between is prose ("Patient on warfarin"), not a field
    if ((kind === "PATIENT" || kind === "NAME" || kind === "ADDRESS") && /^\s$/u.test(sep)) continue
    const from = match.index + match[0].length
    const { end } = valueExtent(line, from)
    const value = line.slice(from, end)
    const labelText = match[0].slice(0, match[0].length - sep.length)
    // a chart's row of initials or names: every column after the label
    if (kind === "NAME" && ROW_LABEL.test(labelText)) {
      if (/\p{L}/u.test(line.slice(from))) found.push({ kind: "NAME", start: from, end: line.length })
      LABEL.lastIndex = line.length
      continue
    }
    const part =
      kind === "DOB" ? dateIn(value)
      : kind === "MRN" || kind === "ID" ? idIn(value)
      : kind === "PHONE" ? phoneIn(value)
      : kind === "ADDRESS" ? (value.trim() === "" ? undefined : { start: 0, end: value.length })
      : nameIn(value.replace(LEADING_TITLE, (t) => " ".repeat(t.length)))
    if (part === undefined) {
      // an id label holding a name (`Account: Lachlan Petrakis`): the patient's, if the line is theirs
      const named = kind === "ID" || kind === "MRN" ? nameIn(value) : undefined
      if (named !== undefined) unlabelledNames.push({ kind: "NAME", start: from + named.start, end: from + named.end })
      continue
    }
    if (kind === "DOB" || kind === "MRN" || kind === "ID") anchored = true
    if (kind === "DOB" || kind === "MRN") personal = true
    const spanKind: PhiKind = kind === "PATIENT" ? "NAME" : kind
    found.push({ kind: spanKind, start: from + part.start, end: from + part.end, ...(kind === "PATIENT" ? { patient: true } : {}) })
    LABEL.lastIndex = Math.max(LABEL.lastIndex, from + part.end)
  }
  for (const [kind, pattern, group] of PATTERNS) {
    pattern.lastIndex = 0
    for (let match = pattern.exec(line); match !== null; match = pattern.exec(line)) {
      const text = match[group] ?? match[0]
      const start = match.index + match[0].indexOf(text)
      found.push({ kind, start, end: start + text.length })
    }
  }
  for (const [kind, pattern] of CONTEXT_PATTERNS) {
    pattern.lastIndex = 0
    for (let match = pattern.exec(line); match !== null; match = pattern.exec(line)) {
      const text = match[1]!
      const start = match.index + match[0].indexOf(text)
      found.push({ kind, start, end: start + text.length, ...(pattern === CHAT_SENDER ? { patient: true } : {}) })
    }
  }
  // an address column: a postcode (UK, Dutch, Polish, French/German/Indian with a city) makes its whole column an address
  for (const postcode of POSTCODES) {
    postcode.lastIndex = 0
    for (let match = postcode.exec(line); match !== null; match = postcode.exec(line)) {
      const { start, end } = columnAround(line, match.index, match.index + match[0].length)
      found.push({ kind: "ADDRESS", start, end })
    }
  }
  for (const street of STREETS) {
    street.lastIndex = 0
    for (let match = street.exec(line); match !== null; match = street.exec(line)) {
      const tail = ADDRESS_TAIL.exec(line.slice(match.index + match[0].length))
      found.push({ kind: "ADDRESS", start: match.index, end: match.index + match[0].length + (tail?.[0].length ?? 0) })
    }
  }
  CITY_STATE_ZIP.lastIndex = 0
  for (let match = CITY_STATE_ZIP.exec(line); match !== null; match = CITY_STATE_ZIP.exec(line)) {
    found.push({ kind: "ADDRESS", start: match.index, end: match.index + match[0].length })
  }
  // a banner: on a line with a birth date or record number, a column that is only a name
  if (anchored) {
    const column = /(?:^|\s{2,}|\t)([^\s][^\t]*?)(?=\s{2,}|\t|$)/gu
    for (let match = column.exec(line); match !== null; match = column.exec(line)) {
      const text = match[1]!
      const start = match.index + match[0].indexOf(text)
      if (found.some((f) => f.start < start + text.length && start < f.end)) continue
      const labelled = /^\s*[:：]/u.test(line.slice(start + text.length))
      if (!labelled && BANNER_NAME.test(text) && !/\d/u.test(text)) {
        LABEL.lastIndex = 0
        // beside a birth date or record number it is the patient's name: its words are scrubbed wherever else they are printed
        if (!LABEL.test(text)) found.push({ kind: "NAME", start, end: start + text.length, ...(personal ? { patient: true } : {}) })
      }
    }
  }
  // on a line with a birth date or record number, every name is taken for the patient's: its words are scrubbed wherever else they are printed
  if (personal) {
    found.push(...unlabelledNames)
    for (const span of found) if (span.kind === "NAME") span.patient = true
  }
  return found
}

const SIGN_OFF = /^\s*(?:(?:kind|best|warm|many)\s+(?:regards|wishes|thanks)|regards|thanks|thank\s+you|yours(?:\s+(?:sincerely|faithfully|truly))?|sincerely|cheers|best|met\s+vriendelijke\s+groet|mit\s+freundlichen\s+gr[üu][ßs]en|cordialement|saludos|atentamente|cordiali\s+saluti|med\s+venlig\s+hilsen|vennlig\s+hilsen|med\s+v[äa]nliga\s+h[äa]lsningar),?\s*$/iu
const SIGNATURE = /^\s*((?:Dr\.?\s+)?\p{Lu}[\p{L}'’.-]+(?:\s+\p{Lu}[\p{L}'’.-]+){0,3})(?=\s*(?:,|$))/u

const NAME_TOKEN = /[\p{L}][\p{L}'’-]{2,}/gu

/** Finds a document's identifiers (spans of `text`). Deterministic; no I/O. */
export const detectIdentifiers = (text: string): Array<PhiSpan> => {
  const found: Array<Found & { patient?: boolean }> = []
  let offset = 0
  let signOff = -1
  const lines = text.split("\n")
  lines.forEach((line, i) => {
    for (const span of lineSpans(line)) found.push({ ...span, start: span.start + offset, end: span.end + offset })
    // a letter's or e-mail's signature: the name on the first line with text after the sign-off
    if (SIGN_OFF.test(line)) signOff = i
    else if (signOff >= 0 && line.trim() !== "") {
      const name = SIGNATURE.exec(line)
      if (name !== null && i - signOff <= 2) found.push({ kind: "NAME", start: offset + name.index + name[0].indexOf(name[1]!), end: offset + name.index + name[0].indexOf(name[1]!) + name[1]!.length })
      signOff = -1
    }
    offset += line.length + 1
  })
  // the patient's name wherever else it is printed, word by word, in any case or order
  const tokens = new Set<string>()
  for (const span of found) {
    if (!span.patient) continue
    for (const token of text.slice(span.start, span.end).match(NAME_TOKEN) ?? []) {
      if (/^\p{Lu}/u.test(token) && !NOT_NAME.has(token.toLowerCase())) tokens.add(token.toLowerCase())
    }
  }
  if (tokens.size > 0) {
    const escaped = [...tokens].map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).sort((a, b) => b.length - a.length)
    const repeat = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join("|")})(?![\\p{L}\\p{N}])`, "giu")
    for (let match = repeat.exec(text); match !== null; match = repeat.exec(text)) {
      found.push({ kind: "NAME", start: match.index, end: match.index + match[0].length })
    }
  }
  return found.map(({ kind, start, end }) => ({ kind, start, end }))
}

export const makeLocalDeidentifier = (): (typeof Deidentifier)["Service"] => ({
  provider: "local",
  detect: (texts) => Effect.sync(() => texts.map(detectIdentifiers))
})

export const DeidentifierLocal: Layer.Layer<Deidentifier> = Layer.succeed(Deidentifier, makeLocalDeidentifier())
