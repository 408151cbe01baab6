/** pdfjs's worker module ships without types; pdfRead.ts only hands it back to pdfjs. */
declare module "pdfjs-dist/legacy/build/pdf.worker.mjs" {
  export const WorkerMessageHandler: unknown
}
