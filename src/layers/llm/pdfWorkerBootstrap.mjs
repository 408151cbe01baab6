// The PDF worker thread as started from the sources (npm start, the worker process, vitest, Bun).
// A new Node thread does not inherit the main thread's tsx loader, so it registers tsx for the
// reader's TypeScript, and unregisters it once that is loaded; Bun runs TypeScript itself.
// pdfjs is imported first, before any loader exists: through a loader its 3 MB take several
// times longer, for every document (the modules are cached: pdfRead.ts's imports get these).
// The Lambda bundle starts its compiled entry instead (pdf-worker.mjs, built from pdfWorker.ts).
await import("pdfjs-dist/legacy/build/pdf.worker.mjs")
await import("pdfjs-dist/legacy/build/pdf.mjs")

const loadReader = async () => {
  if (typeof process.versions.bun === "string") return await import("./pdfRead.ts")
  const { register } = await import("tsx/esm/api")
  const unregister = register()
  try {
    return await import("./pdfRead.ts")
  } finally {
    await unregister()
  }
}

const { serveOneDocument } = await loadReader()
await serveOneDocument()
