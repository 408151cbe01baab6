/**
 * The file the OCR worker thread starts from. From the sources it is ocrWorkerBootstrap.mjs
 * (which registers tsx, then loads ocrRead.ts); the Lambda build replaces this module with one
 * naming the worker's own bundle beside the function's (deploy/lambda/build.ts).
 */
export const ocrWorkerUrl: URL = new URL("./ocrWorkerBootstrap.mjs", import.meta.url)
