/**
 * The PDF worker thread's entry as bundled for Lambda (deploy/lambda/build.ts builds it beside
 * the processor's index.mjs; pdfText.ts starts one thread per document). From the sources the
 * thread starts at pdfWorkerBootstrap.mjs instead, which registers tsx first.
 */
import { serveOneDocument } from "./pdfRead.js"

await serveOneDocument()
