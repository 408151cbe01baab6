import { readVitalsHeader, readVitalsRow } from "../src/layers/llm/reader/vitals.js"
const h = readVitalsHeader(process.argv[2]!)!
for (const l of process.argv.slice(3)) console.log(JSON.stringify(readVitalsRow(l, h, "dmy", "2026-03-01", "2026-03-31")))
