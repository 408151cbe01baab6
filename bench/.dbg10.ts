import { enrichDocument } from "../src/layers/llm/reader/enrich.js"
import { InterpretedDocument, LabResult, ReferenceRange } from "../src/services/llm.js"
const cases: Array<[string, number, string]> = JSON.parse(process.argv[2]!)
const doc = new InterpretedDocument({ documentType: "lab_results", title: "t", vitals: [], summary: "s", results: cases.map(([n, v, u], i) => new LabResult({ name: n, value: v, unit: u, referenceRange: new ReferenceRange({ text: "" }), flag: "unknown", page: 1, line: i + 1 })) })
const out = enrichDocument(doc)
for (const r of out.results) console.log(r.name, r.value, r.unit, "→", r.ucumUnit, r.flag, r.loinc)
for (const u of out.unreadLines) console.log("UNREAD", u.text)
