/**
 * The OCR worker thread's entry as bundled for Lambda (deploy/lambda/build.ts builds it beside
 * the processor's index.mjs; ocrText.ts starts the thread and keeps it between documents). From the sources the
 * thread starts at ocrWorkerBootstrap.mjs instead, which registers tsx first.
 */
import { serveRequests } from "./ocrRead.js"

await serveRequests()
