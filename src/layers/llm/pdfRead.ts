/**
 * The PDF reader proper, run inside the PDF worker thread (pdfWorker.ts; pdfText.ts starts one
 * per document): pdfjs reads the text layer (no rendering, no eval, no fonts loaded into the
 * process) within the document's limits, page by page, and pdfLayout.ts lays each page out as
 * lines. Nothing here touches the fiber runtime: this module, pdfjs and the layout are all a
 * worker thread loads, and all it posts back is a PdfReply.
 *
 * What is measured while reading, and where the reading stops:
 * - pages: the document's page count, before any page is read;
 * - decoded bytes: every byte buffer (Uint8Array) pdfjs allocates while the document is read,
 *   counted at the allocation, before it happens. pdfjs's decoders (Flate, LZW, predictors,
 *   decryption) grow their output buffers by doubling, so a stream that decodes to N bytes
 *   costs between 2N and 4N here; fonts and CMaps count too. (pdfjs does not decode images to
 *   read text: they cost nothing here.) Not counted: other typed arrays (Huffman and glyph
 *   tables, small or short-lived) and JavaScript objects (the heap, bounded by the thread's
 *   resourceLimits). Over the budget, every later allocation throws, so that pdfjs stops even
 *   where it would swallow one error and go on;
 * - text items: counted as pdfjs streams them out of each page (in chunks of a few dozen), so a
 *   page of a million text-show operators stops at the limit, not after;
 * - text length: the characters pdfjs hands over, then the laid-out text (which adds the spaces
 *   between columns) as it is built.
 * Time and memory are bounded from outside, by pdfText.ts: a deadline on the main thread, which
 * terminates the thread however busy it is, and the thread's V8 heap limit.
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { parentPort } from "node:worker_threads"
import type * as Pdfjs from "pdfjs-dist/legacy/build/pdf.mjs"
import { layoutText, type PositionedText, TextTooLong } from "./pdfLayout.js"

export interface PdfReadLimits {
  readonly maxPages: number
  /** Bytes of Uint8Array pdfjs may allocate while reading (decoded streams count 2–4 times their size). */
  readonly maxDecodedBytes: number
  readonly maxTextItems: number
  /** Characters of text, before and after layout. */
  readonly maxTextChars: number
}

/** The bound a document went over, as the worker thread measures it. */
export type MeasuredLimit = "pages" | "decoded_bytes" | "text_items" | "text_length"

/** What the main thread sends, once the worker thread says it is ready. */
export interface PdfRequest {
  readonly bytes: Uint8Array
  readonly limits: PdfReadLimits
}

/** What the worker thread answers: `Ready` once pdfjs is loaded, then one of the others. */
export type PdfReply =
  | { readonly _tag: "Ready" }
  /** The pages' laid-out text, separated by a blank line. */
  | { readonly _tag: "Text"; readonly text: string }
  /** Damaged, encrypted with a password, or not a PDF. */
  | { readonly _tag: "Unreadable" }
  | { readonly _tag: "TooComplex"; readonly limit: MeasuredLimit; readonly found: number; readonly max: number }

const packageDir = path.dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json"))
// pdfjs in Node reads these through the file system; the trailing separator is required.
const standardFontDataUrl = path.join(packageDir, "standard_fonts") + path.sep
const cMapUrl = path.join(packageDir, "cmaps") + path.sep

let pdfjs: Promise<typeof Pdfjs> | undefined

/**
 * pdfjs and its worker module (pdfjs's own "worker", run here in the same thread: the thread is
 * ours already), handed to pdfjs through `globalThis.pdfjsWorker`, its documented hook.
 *
 * pdfjs's legacy build (core-js inside) replaces built-ins such as `Array.prototype.push` with
 * slower JavaScript. When pdfjs ran on the main thread they had to be put back after loading
 * it, or every push of the fiber runtime and the database driver paid for it; a worker thread
 * has built-ins of its own, so here they are left as pdfjs wants them (reading a 150 000-item
 * page took the same time either way).
 */
export const loadPdfjs = (): Promise<typeof Pdfjs> =>
  (pdfjs ??= (async () => {
    const worker: unknown = await import("pdfjs-dist/legacy/build/pdf.worker.mjs")
    ;(globalThis as { pdfjsWorker?: unknown }).pdfjsWorker = worker
    return await import("pdfjs-dist/legacy/build/pdf.mjs")
  })())

interface ByteBudget {
  readonly allocated: () => number
  readonly exceeded: () => boolean
  /** Puts the thread's own Uint8Array back. */
  readonly release: () => void
}

/**
 * Counts what pdfjs allocates as Uint8Array, by standing a Proxy of the constructor in for the
 * global while the document is read (pdfjs looks `Uint8Array` up at each `new`). `new
 * Uint8Array(n)` counts n, a copy of an array-like counts its length, a view on an existing
 * buffer counts nothing. Over `max`, the allocation is refused with a RangeError, and so is
 * every one after it.
 */
const installByteBudget = (max: number): ByteBudget => {
  const global = globalThis as { Uint8Array: Uint8ArrayConstructor }
  const native = global.Uint8Array
  let allocated = 0
  let exceeded = false
  const charge = (bytes: number) => {
    allocated += bytes
    if (allocated > max) exceeded = true
    if (exceeded) throw new RangeError(`The document's decoded data is over ${max} bytes`)
  }
  const counted: Uint8ArrayConstructor = new Proxy(native, {
    construct(target, args, newTarget) {
      const first: unknown = args[0]
      if (typeof first === "number") charge(first)
      else if (
        typeof first === "object" &&
        first !== null &&
        !(first instanceof ArrayBuffer) &&
        !(first instanceof SharedArrayBuffer) &&
        typeof (first as { length?: unknown }).length === "number"
      ) {
        charge((first as { length: number }).length)
      }
      return Reflect.construct(target, args, newTarget === counted ? target : newTarget) as object
    }
  })
  global.Uint8Array = counted
  return {
    allocated: () => allocated,
    exceeded: () => exceeded,
    release: () => {
      if (global.Uint8Array === counted) global.Uint8Array = native
    }
  }
}

interface TextItemLike {
  readonly str: string
  readonly transform: ReadonlyArray<unknown>
  readonly width: number
  readonly height: number
}

const isTextItem = (item: unknown): item is TextItemLike =>
  typeof item === "object" && item !== null && "str" in item && typeof item.str === "string" && "transform" in item &&
  Array.isArray(item.transform)

const positioned = (item: TextItemLike): PositionedText => ({
  text: item.str,
  x: Number(item.transform[4]),
  y: Number(item.transform[5]),
  width: Number(item.width),
  height: Number(item.height)
})

/** One chunk of a page's text content as pdfjs streams it. */
interface TextChunk {
  readonly items: ReadonlyArray<unknown>
}

/**
 * Reads the text of every page within `limits`. Never rejects: a document pdfjs cannot read is
 * `Unreadable`, one over a limit is `TooComplex` (which limit, how much was found, the bound).
 *
 * pdfjs can also fail outside any promise of ours: on some damaged or over-budget documents it
 * throws from its own callbacks (a stream controller closed twice, a message for a destroyed
 * page), which would end the thread as an uncaught exception. While a document is read, such an
 * error is that document's: the answer is `Unreadable` (or `TooComplex` when the byte budget
 * was what broke it). Only the thread's own failures (pdfjs not loading) stay errors of the thread.
 */
export const readPdf = async (bytes: Uint8Array, limits: PdfReadLimits): Promise<PdfReply> => {
  const { getDocument } = await loadPdfjs()
  const budget = installByteBudget(limits.maxDecodedBytes)
  const tooComplex = (limit: MeasuredLimit, found: number, max: number): PdfReply => ({ _tag: "TooComplex", limit, found, max })
  const overBytes = () => tooComplex("decoded_bytes", budget.allocated(), limits.maxDecodedBytes)
  const failed = (error: unknown): PdfReply =>
    budget.exceeded() ? overBytes()
    : error instanceof TextTooLong ? tooComplex("text_length", limits.maxTextChars + 1, limits.maxTextChars)
    : { _tag: "Unreadable" }
  let task: ReturnType<typeof getDocument> | undefined

  const readPages = async (): Promise<PdfReply> => {
    task = getDocument({
      data: bytes,
      isEvalSupported: false,
      disableFontFace: true,
      useSystemFonts: false,
      verbosity: 0,
      standardFontDataUrl,
      cMapUrl,
      cMapPacked: true
    })
    const doc = await task.promise
    if (budget.exceeded()) return overBytes()
    if (doc.numPages > limits.maxPages) return tooComplex("pages", doc.numPages, limits.maxPages)
    const pages: Array<string> = []
    let items = 0
    let rawChars = 0
    let laidOut = 0
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n)
      const runs: Array<PositionedText> = []
      try {
        const reader = (page.streamTextContent() as ReadableStream<TextChunk>).getReader()
        for (;;) {
          const chunk = await reader.read()
          if (chunk.done) break
          // everything pdfjs hands over counts, the end-of-line markers it puts between runs too
          items += chunk.value.items.length
          for (const item of chunk.value.items) {
            if (!isTextItem(item)) continue
            rawChars += item.str.length
            runs.push(positioned(item))
          }
          const over =
            budget.exceeded() ? overBytes()
            : items > limits.maxTextItems ? tooComplex("text_items", items, limits.maxTextItems)
            : rawChars > limits.maxTextChars ? tooComplex("text_length", rawChars, limits.maxTextChars)
            : undefined
          if (over !== undefined) {
            // stops pdfjs's work on the page; the thread is terminated once the answer is posted anyway
            reader.cancel().catch(() => undefined)
            return over
          }
        }
      } finally {
        page.cleanup()
      }
      // pdfjs ends a page early, as if it were complete, on errors it tolerates: a refused allocation is one
      if (budget.exceeded()) return overBytes()
      const text = layoutText(runs, limits.maxTextChars - laidOut)
      laidOut += text.length + 2
      pages.push(text)
    }
    return { _tag: "Text", text: pages.join("\n\f") }
  }

  let onStrayError: (error: unknown) => void = () => undefined
  const strayError = new Promise<PdfReply>((resolve) => {
    onStrayError = (error) => resolve(failed(error))
  })
  // They stay installed after the answer: the thread reads one document and is terminated once
  // it has answered, and an error in between must not become the thread's error instead.
  process.on("uncaughtException", onStrayError)
  process.on("unhandledRejection", onStrayError)
  try {
    return await Promise.race([readPages().catch(failed), strayError])
  } finally {
    budget.release()
    // Not awaited: after a cancelled page, destroying can wait forever on pdfjs's side of the
    // stream, and the answer must not wait for it (the thread is terminated once it is posted).
    void (task as ReturnType<typeof getDocument> | undefined)?.destroy().catch(() => undefined)
  }
}

/**
 * The worker thread's side of the conversation with pdfText.ts: loads pdfjs, says `Ready`, reads
 * the one document it is then sent and posts the answer. The main thread terminates the thread
 * once it has the answer, or earlier (deadline, shutdown), so nothing here cleans up after itself.
 */
export const serveOneDocument = async (): Promise<void> => {
  const port = parentPort
  if (port === null) throw new Error("The PDF reader runs in a worker thread (see pdfText.ts)")
  const reply = (message: PdfReply) => port.postMessage(message)
  await loadPdfjs()
  port.once("message", (request: PdfRequest) => {
    // readPdf answers every document; what it cannot answer (a defect) surfaces as the thread's error
    void readPdf(request.bytes, request.limits).then(reply)
  })
  reply({ _tag: "Ready" })
}
