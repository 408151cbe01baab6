// The OCR worker thread as started from the sources (npm start, the worker process, vitest, Bun).
// A new Node thread does not inherit the main thread's tsx loader, so it registers tsx for the
// reader's TypeScript, and unregisters it once that is loaded; Bun runs TypeScript itself.
// The Lambda bundle starts its compiled entry instead (ocr-worker.mjs, built from ocrWorker.ts).
const loadReader = async () => {
  if (typeof process.versions.bun === "string") return await import("./ocrRead.ts")
  const { register } = await import("tsx/esm/api")
  const unregister = register()
  try {
    return await import("./ocrRead.ts")
  } finally {
    await unregister()
  }
}

const { serveRequests } = await loadReader()
await serveRequests()
