/**
 * Text out of a PDF's text layer with pdfjs (no rendering, no eval, no fonts loaded into the
 * process), laid out again as lines: items are grouped by baseline, sorted by x, and wide gaps
 * become runs of spaces proportional to the distance, so that column layouts survive and the
 * same line parser reads a PDF and its plain-text twin.
 */
import { Duration, Effect } from "effect"
import { createRequire } from "node:module"
import * as path from "node:path"
import type * as Pdfjs from "pdfjs-dist/legacy/build/pdf.mjs"
import { DocumentUnreadable } from "../../services/llm.js"

/** PDFs with more pages than this are refused rather than read. */
export const PDF_MAX_PAGES = 50
/** Extraction of a whole document is abandoned after this long. */
export const PDF_EXTRACTION_TIMEOUT: Duration.DurationInput = "20 seconds"

export interface PdfTextOptions {
  readonly maxPages?: number
  readonly timeout?: Duration.DurationInput
}

/** One run of text as pdfjs places it: baseline origin (x, y) in page space, advance width, glyph height. */
export interface PositionedText {
  readonly text: string
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

const packageDir = path.dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json"))
// pdfjs in Node reads these through the file system; the trailing separator is required.
const standardFontDataUrl = path.join(packageDir, "standard_fonts") + path.sep
const cMapUrl = path.join(packageDir, "cmaps") + path.sep

/**
 * Built-ins pdfjs's legacy build (core-js inside) replaces on Node 20 although Node's own are
 * fine for it: `Array.prototype.push` (a JavaScript loop instead of the engine's), `JSON.parse`,
 * `Function.prototype.toString` and `Iterator.prototype.constructor`. Left replaced they slow
 * every array push in the process — the fiber runtime, the database driver — measured as a
 * tenth of the CPU of a timeline request. What core-js only adds (Set methods, iterator
 * helpers, Promise.withResolvers) stays: pdfjs needs it.
 */
const builtinsOwners = (): ReadonlyArray<object> => [
  Array.prototype,
  JSON,
  Function.prototype,
  Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object
]

/** Runs `load` and puts back every built-in it replaced (additions are kept). */
export const keepingBuiltins = async <A>(load: () => Promise<A>): Promise<A> => {
  const before = builtinsOwners().map((owner) => [owner, Object.getOwnPropertyDescriptors(owner)] as const)
  try {
    return await load()
  } finally {
    for (const [owner, descriptors] of before) {
      for (const key of Reflect.ownKeys(descriptors)) {
        const was = descriptors[key as keyof typeof descriptors]!
        const now = Object.getOwnPropertyDescriptor(owner, key)
        if (now === undefined || now.value !== was.value || now.get !== was.get || now.set !== was.set) {
          Object.defineProperty(owner, key, was)
        }
      }
    }
  }
}

let pdfjs: Promise<typeof Pdfjs> | undefined

/**
 * pdfjs and its worker module, loaded on the first PDF (not at start: it is large, and nothing
 * else needs it). The worker module is handed to pdfjs through `globalThis.pdfjsWorker`, its
 * documented hook, so that pdfjs does not import it again later outside the guard.
 */
const loadPdfjs = (): Promise<typeof Pdfjs> =>
  (pdfjs ??= keepingBuiltins(async () => {
    const worker: unknown = await import("pdfjs-dist/legacy/build/pdf.worker.mjs")
    ;(globalThis as { pdfjsWorker?: unknown }).pdfjsWorker = worker
    return await import("pdfjs-dist/legacy/build/pdf.mjs")
  }).catch((error: unknown) => {
    pdfjs = undefined
    throw error
  }))

const median = (values: ReadonlyArray<number>): number | undefined => {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

const charCount = (s: string) => [...s].length

interface Line {
  readonly y: number
  readonly items: Array<PositionedText>
}

/**
 * Lays text items out as lines of characters. Pure, so it can be tested without a PDF.
 * Columns land at (x - left margin) / median character width, which reproduces monospaced
 * layouts exactly and keeps proportional ones aligned closely enough for column parsing.
 */
export const layoutText = (items: ReadonlyArray<PositionedText>): string => {
  const visible = items.filter(
    (item) => item.text.trim() !== "" && Number.isFinite(item.x) && Number.isFinite(item.y)
  )
  if (visible.length === 0) return ""
  const charWidth =
    median(visible.filter((i) => i.width > 0).map((i) => i.width / Math.max(1, charCount(i.text)))) ?? 5
  const fallbackHeight = charWidth * 1.8
  const heightOf = (item: PositionedText) => (item.height > 0 ? item.height : fallbackHeight)
  const left = Math.min(...visible.map((i) => i.x))

  const sorted = [...visible].sort((a, b) => b.y - a.y || a.x - b.x)
  const lines: Array<Line> = []
  for (const item of sorted) {
    const line = lines[lines.length - 1]
    // superscripts and slightly shifted runs belong to the line whose baseline is within half a glyph
    if (line !== undefined && Math.abs(line.y - item.y) <= 0.5 * Math.max(heightOf(item), heightOf(line.items[0] ?? item))) {
      line.items.push(item)
    } else {
      lines.push({ y: item.y, items: [item] })
    }
  }

  const spacings: Array<number> = []
  for (let i = 1; i < lines.length; i++) {
    const prev = lines[i - 1]
    const cur = lines[i]
    if (prev !== undefined && cur !== undefined) spacings.push(prev.y - cur.y)
  }
  const lineSpacing = median(spacings) ?? fallbackHeight

  const out: Array<string> = []
  lines.forEach((line, index) => {
    const prev = lines[index - 1]
    // a gap of well over one line's spacing was an empty line (or a paragraph break) on the page
    if (prev !== undefined && prev.y - line.y > 1.6 * lineSpacing) out.push("")
    const runs = [...line.items].sort((a, b) => a.x - b.x)
    const base = line.items.reduce((a, b) => (heightOf(b) > heightOf(a) ? b : a))
    const baseHeight = heightOf(base)
    let text = ""
    let end = left
    for (const run of runs) {
      const column = Math.max(0, Math.round((run.x - left) / charWidth))
      const gap = run.x - end
      let spaces = 0
      if (text === "") spaces = column
      else if (gap >= 1.5 * charWidth) spaces = Math.max(2, column - charCount(text))
      else if (gap > 0.2 * charWidth) spaces = 1
      const raised = heightOf(run) < 0.8 * baseHeight && run.y > base.y + 0.15 * baseHeight && text !== ""
      text += " ".repeat(spaces) + (raised && spaces === 0 ? "^" : "") + run.text
      end = Math.max(end, run.x + Math.max(run.width, 0))
    }
    out.push(text.trimEnd())
  })
  return out.join("\n")
}

const unreadable = (message: string, reason: string) => new DocumentUnreadable({ message, reason })

const pdfUnreadable = () =>
  unreadable("The PDF could not be read: it is damaged, encrypted or not a PDF.", "PDF_UNREADABLE")

interface TextItemLike {
  readonly str: string
  readonly transform: ReadonlyArray<unknown>
  readonly width: number
  readonly height: number
}

const isTextItem = (item: unknown): item is TextItemLike =>
  typeof item === "object" && item !== null && "str" in item && "transform" in item

const positioned = (item: TextItemLike): PositionedText => ({
  text: item.str,
  x: Number(item.transform[4]),
  y: Number(item.transform[5]),
  width: item.width,
  height: item.height
})

/**
 * Extracts the text of every page, laid out as lines; pages are separated by a blank line.
 * Fails with DocumentUnreadable: PDF_UNREADABLE (damaged, encrypted, not a PDF), PDF_TOO_MANY_PAGES,
 * PDF_TIMEOUT, or NO_TEXT_LAYER (a scan: only the Bedrock provider can read it).
 */
export const extractPdfText = (
  bytes: Uint8Array,
  options: PdfTextOptions = {}
): Effect.Effect<string, DocumentUnreadable> => {
  const maxPages = options.maxPages ?? PDF_MAX_PAGES
  const timeout = options.timeout ?? PDF_EXTRACTION_TIMEOUT
  const timedOut = () => unreadable(`Reading the PDF took longer than ${Duration.format(timeout)}.`, "PDF_TIMEOUT")
  return Effect.acquireUseRelease(
    Effect.flatMap(Effect.promise(loadPdfjs), ({ getDocument }) => Effect.try({
      // pdfjs may take ownership of the buffer it is given, so it gets a copy
      try: () =>
        getDocument({
          data: new Uint8Array(bytes),
          isEvalSupported: false,
          disableFontFace: true,
          useSystemFonts: false,
          verbosity: 0,
          standardFontDataUrl,
          cMapUrl,
          cMapPacked: true
        }),
      catch: pdfUnreadable
    })),
    (task) =>
      Effect.gen(function* () {
        // pdfjs works in this thread and mostly through microtasks, which starve timers: wall time is checked between pages too
        const deadline = performance.now() + Duration.toMillis(timeout)
        const doc = yield* Effect.tryPromise({ try: () => task.promise, catch: pdfUnreadable })
        if (doc.numPages > maxPages) {
          return yield* Effect.fail(
            unreadable(
              `The PDF has ${doc.numPages} pages; at most ${maxPages} can be read.`,
              "PDF_TOO_MANY_PAGES"
            )
          )
        }
        const pages: Array<string> = []
        for (let n = 1; n <= doc.numPages; n++) {
          const items = yield* Effect.tryPromise({
            try: async () => {
              const page = await doc.getPage(n)
              try {
                return (await page.getTextContent()).items
              } finally {
                page.cleanup()
              }
            },
            catch: pdfUnreadable
          })
          pages.push(layoutText(items.flatMap((item) => (isTextItem(item) ? [positioned(item)] : []))))
          if (performance.now() > deadline) return yield* Effect.fail(timedOut())
          // let other fibers (requests, the worker's heartbeat) run between pages
          yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
        }
        const text = pages.join("\n\n")
        if (!/[\p{L}\p{N}]/u.test(text)) {
          return yield* Effect.fail(
            unreadable(
              "The PDF has no text layer (it looks scanned); reading it needs the Bedrock provider (LLM_PROVIDER=bedrock).",
              "NO_TEXT_LAYER"
            )
          )
        }
        return text
      }),
    // destroying the loading task also destroys the document and its fake worker
    (task) => Effect.promise(() => task.destroy().catch(() => undefined))
  ).pipe(
    Effect.timeoutFail({ duration: timeout, onTimeout: timedOut })
  )
}
