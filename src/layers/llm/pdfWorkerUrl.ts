/**
 * The file the PDF worker thread starts from. From the sources it is pdfWorkerBootstrap.mjs
 * (which registers tsx, then loads pdfWorker.ts); the Lambda build replaces this module with one
 * naming the worker's own bundle beside the function's (deploy/lambda/build.ts, PDF_WORKER_FILE).
 */
export const pdfWorkerUrl: URL = new URL("./pdfWorkerBootstrap.mjs", import.meta.url)
