/**
 * The PDF reader proper, run inside the PDF worker thread (pdfWorker.ts; pdfText.ts starts one
 * per document): pdfjs reads the text layer (no rendering, no eval, no fonts loaded into the
 * process) within the document's limits, page by page, and pdfLayout.ts lays each page out as
 * lines. When asked (`scans`), each page whose text layer has no letter or digit is read as the
 * image a scanner made of it: pdfjs's operator list says which images the page paints and where,
 * pdfjs decodes them (its own JPEG, Flate, CCITT and JBIG2 decoders: no canvas, no native module)
 * and pdfScan.ts paints them onto one grey raster of the page as displayed, for the OCR. Nothing
 * here touches the fiber runtime: this module, pdfjs, the layout and the composer are all a
 * worker thread loads, and all it posts back is a PdfReply (the scans' pixels transferred, not
 * copied).
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
 *   between columns) as it is built;
 * - scanned pages: the pages that give an image, at most maxScanPages (checked once a page's
 *   operator list shows it paints images, before they are fetched and composed);
 * - scan pixels: each image's /Width × /Height as its dictionary says, checked by pdfjs before
 *   the image is decoded (its maxImageSize: pdfjs drops such an image with a warning, which is
 *   how the reader learns of it, see watchWarnings); the declared pixels of all a page's images
 *   together; the page's raster (reduced to the limit rather than refused: pdfScan.ts); and the
 *   canvas pixels painted, at most SCAN_PAINT_FACTOR times the limit (a thousand full-page images);
 * - image bytes: while one page's images are decoded and composed, every typed array allocated
 *   (any element type: the JPEG decoder's coefficients are Int16Array, its output
 *   Uint8ClampedArray), in bytes, counted and refused like the decoded bytes above but against a
 *   budget of its own, per page: decoded images live outside the V8 heap, so the heap limit does
 *   not bound them, and a JPEG's own header (not the PDF's dictionary) sizes its decoder's
 *   buffers. The text budget is not charged while images are decoded, nor the image budget
 *   while text is read.
 * Time and memory are bounded from outside, by pdfText.ts: a deadline on the main thread, which
 * terminates the thread however busy it is, and the thread's V8 heap limit.
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { parentPort } from "node:worker_threads"
import type * as Pdfjs from "pdfjs-dist/legacy/build/pdf.mjs"
import { layoutText, type PositionedText, TextTooLong } from "./pdfLayout.js"
import {
  composePage,
  type ImageSource,
  luma,
  type Matrix,
  multiply,
  IDENTITY,
  type PageScan,
  PaintTooLarge,
  type Placement
} from "./pdfScan.js"

export type { PageScan } from "./pdfScan.js"

export interface PdfReadLimits {
  readonly maxPages: number
  /** Bytes of Uint8Array pdfjs may allocate while reading (decoded streams count 2–4 times their size). */
  readonly maxDecodedBytes: number
  readonly maxTextItems: number
  /** Characters of text, before and after layout. */
  readonly maxTextChars: number
  /** Pages read as images (no text layer, images painted), at most. */
  readonly maxScanPages: number
  /** Pixels of a scanned page: each image's declared size, all of a page's images together, its raster. */
  readonly maxScanPixels: number
  /** Bytes of typed arrays that may be allocated while one scanned page's images are decoded and composed. */
  readonly maxImageBytes: number
}

/** The bound a document went over, as the worker thread measures it. */
export type MeasuredLimit =
  | "pages"
  | "decoded_bytes"
  | "text_items"
  | "text_length"
  | "scan_pages"
  | "scan_pixels"
  | "image_bytes"

/** What the main thread sends, once the worker thread says it is ready. */
export interface PdfRequest {
  readonly bytes: Uint8Array
  readonly limits: PdfReadLimits
  /** Read the image of each page without a text layer (otherwise no image is ever decoded). */
  readonly scans: boolean
}

/** What the worker thread answers: `Ready` once pdfjs is loaded, then one of the others. */
export type PdfReply =
  | { readonly _tag: "Ready" }
  /**
   * The pages' laid-out text, separated by "\n\f" (a page without a text layer is an empty
   * page there), the document's page count, and the image of each page that has no text layer
   * but paints images (only when the request asked for scans; in page order).
   */
  | { readonly _tag: "Text"; readonly text: string; readonly pageCount: number; readonly scans: ReadonlyArray<PageScan> }
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

/** A budget of bytes, charged as arrays are allocated; over `max`, the allocation is refused. */
interface Budget {
  readonly max: number
  allocated: number
  exceeded: boolean
}

const newBudget = (max: number): Budget => ({ max, allocated: 0, exceeded: false })

/** The typed arrays counted while a page's images are decoded (Uint8Array is counted always). */
const IMAGE_ARRAYS = [
  "Uint8ClampedArray",
  "Int8Array",
  "Uint16Array",
  "Int16Array",
  "Uint32Array",
  "Int32Array",
  "Float32Array",
  "Float64Array"
] as const

type TypedArrayName = "Uint8Array" | (typeof IMAGE_ARRAYS)[number]

interface AllocationMeter {
  /** The document's budget for decoded bytes (Uint8Array while text is read). */
  readonly text: Budget
  /** Charges every typed array to `budget` until the returned function is called (one page's images). */
  readonly imagesTo: (budget: Budget) => () => void
  /** Puts the thread's own constructors back. */
  readonly release: () => void
}

/**
 * Counts what pdfjs allocates as typed arrays, by standing a Proxy of each constructor in for
 * the global while the document is read (pdfjs looks the constructors up at each `new`). `new
 * Uint8Array(n)` counts n bytes (an Int16Array of n elements 2n), a copy of an array-like counts
 * its length the same way, a view on an existing buffer counts nothing. While text is read, only
 * Uint8Array counts, against `text`; while a page's images are decoded, every typed array counts
 * against that page's image budget instead. Over a budget, the allocation is refused with a
 * RangeError, and so is every one after it charged to the same budget.
 */
const installAllocationMeter = (maxDecodedBytes: number): AllocationMeter => {
  const global = globalThis as unknown as Record<TypedArrayName, new(...args: Array<unknown>) => object>
  const text = newBudget(maxDecodedBytes)
  let images: Budget | undefined
  const charge = (budget: Budget, bytes: number) => {
    budget.allocated += bytes
    if (budget.allocated > budget.max) budget.exceeded = true
    if (budget.exceeded) throw new RangeError(`The document's decoded data is over ${budget.max} bytes`)
  }
  const lengthOf = (args: ReadonlyArray<unknown>): number | undefined => {
    const first = args[0]
    if (typeof first === "number") return first
    if (
      typeof first === "object" &&
      first !== null &&
      !(first instanceof ArrayBuffer) &&
      !(first instanceof SharedArrayBuffer) &&
      typeof (first as { length?: unknown }).length === "number"
    ) {
      return (first as { length: number }).length
    }
    return undefined
  }
  const natives = new Map<TypedArrayName, new(...args: Array<unknown>) => object>()
  const install = (name: TypedArrayName) => {
    const native = global[name]
    const bytesPerElement = (native as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT
    const counted: typeof native = new Proxy(native, {
      construct(target, args, newTarget) {
        const budget = images ?? (name === "Uint8Array" ? text : undefined)
        const length = budget === undefined ? undefined : lengthOf(args)
        if (budget !== undefined && length !== undefined) charge(budget, length * bytesPerElement)
        return Reflect.construct(target, args, newTarget === counted ? target : newTarget) as object
      }
    })
    natives.set(name, native)
    global[name] = counted
  }
  install("Uint8Array")
  for (const name of IMAGE_ARRAYS) install(name)
  return {
    text,
    imagesTo: (budget) => {
      images = budget
      return () => {
        if (images === budget) images = undefined
      }
    },
    release: () => {
      for (const [name, native] of natives) global[name] = native
    }
  }
}

/** pdfjs drops an image over its maxImageSize with this warning (pdfjs-dist 4.10, evaluator.js). */
const OVERSIZED_IMAGE_WARNING = "Image exceeded maximum allowed size"

/**
 * pdfjs's warnings, while a document is read for scans: pdfjs says nothing else when it drops an
 * image whose dictionary claims more pixels than maxImageSize (it goes on without it), so the
 * reader counts those warnings. pdfjs prints them with `console.log("Warning: …")` (at verbosity
 * WARNINGS); in this thread nothing else logs, and they are swallowed rather than printed.
 */
const watchWarnings = () => {
  const target = globalThis.console
  const original = target.log
  let oversized = 0
  const watching = (...args: Array<unknown>) => {
    const first = args[0]
    if (typeof first === "string" && (first.startsWith("Warning: ") || first.startsWith("Info: "))) {
      if (first.includes(OVERSIZED_IMAGE_WARNING)) oversized++
      return
    }
    original.apply(target, args)
  }
  target.log = watching
  return {
    oversized: () => oversized,
    release: () => {
      if (target.log === watching) target.log = original
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

type PdfjsModule = typeof Pdfjs
type PdfPage = Awaited<ReturnType<Awaited<ReturnType<PdfjsModule["getDocument"]>["promise"]>["getPage"]>>

/**
 * Canvas pixels the composer may paint on one page, as a multiple of maxScanPixels: a scan and a
 * mask over it, or a page in strips, paint each pixel once or twice; a thousand full-page images
 * would paint it a thousand times.
 */
export const SCAN_PAINT_FACTOR = 4

/** A page's text "has text" when it has a letter or digit (the same test pdfText.ts applies to the document). */
const hasText = (text: string) => /[\p{L}\p{N}]/u.test(text)

/** An image the operator list paints: where its pixels come from, and where it lands (display space). */
interface Painted {
  readonly source:
    | { readonly _tag: "Object"; readonly id: string; readonly mask: boolean }
    | { readonly _tag: "Ready"; readonly image: ImageSource }
  /** Its width × height as the operator list declares it. */
  readonly declaredPixels: number
  readonly fill: number
  readonly matrix: Matrix
}

const isMatrix = (value: unknown): value is Matrix =>
  (Array.isArray(value) || ArrayBuffer.isView(value)) &&
  (value as ArrayLike<unknown>).length === 6 &&
  Array.from(value as ArrayLike<unknown>).every((v) => typeof v === "number" && Number.isFinite(v))

const isPixelData = (value: unknown): value is ArrayLike<number> =>
  ArrayBuffer.isView(value) && typeof (value as unknown as { length?: unknown }).length === "number"

const dimension = (value: unknown) => (typeof value === "number" && Number.isInteger(value) && value > 0 ? value : 0)

/** pdfjs's decoded image (`{ width, height, kind, data }`) as the composer takes it; undefined for anything else. */
const imageOf = (value: unknown, mask: boolean, fill: number): ImageSource | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const { width, height, kind, data } = value as { width?: unknown; height?: unknown; kind?: unknown; data?: unknown }
  const w = dimension(width)
  const h = dimension(height)
  if (w === 0 || h === 0 || !isPixelData(data)) return undefined
  if (mask) return { _tag: "Mask", width: w, height: h, data, fill }
  if (kind !== 1 && kind !== 2 && kind !== 3) return undefined
  return { _tag: "Image", width: w, height: h, kind, data }
}

/**
 * The images a page's operator list paints, in order, each with its matrix into display space
 * (the CTM, tracked through save/restore, transform and form XObjects, then the viewport's
 * transform, which brings /Rotate and the crop box) and, for image masks, the fill colour's grey.
 * Clipping, blend modes and optional content are not followed: a scanner's page paints its
 * images whole.
 */
const paintedImages = (
  OPS: PdfjsModule["OPS"],
  operators: { readonly fnArray: ReadonlyArray<number>; readonly argsArray: ReadonlyArray<unknown> },
  viewport: Matrix
): Array<Painted> => {
  const found: Array<Painted> = []
  const stack: Array<{ readonly ctm: Matrix; readonly fill: number }> = []
  let ctm = IDENTITY
  let fill = 0
  const place = () => multiply(viewport, ctm)
  for (let i = 0; i < operators.fnArray.length; i++) {
    const args = operators.argsArray[i]
    const arg = (n: number): unknown => (Array.isArray(args) ? args[n] : undefined)
    switch (operators.fnArray[i]) {
      case OPS.save:
      case OPS.beginGroup:
        stack.push({ ctm, fill })
        break
      case OPS.restore:
      case OPS.endGroup:
      case OPS.paintFormXObjectEnd: {
        const state = stack.pop()
        if (state !== undefined) ({ ctm, fill } = state)
        break
      }
      case OPS.transform:
        if (isMatrix(args)) ctm = multiply(ctm, args)
        break
      case OPS.paintFormXObjectBegin: {
        stack.push({ ctm, fill })
        const matrix = arg(0)
        if (isMatrix(matrix)) ctm = multiply(ctm, matrix)
        break
      }
      case OPS.setFillRGBColor:
        // [r, g, b] (0–255): pdfjs turns gray and CMYK fills into RGB
        if ((Array.isArray(args) || ArrayBuffer.isView(args)) && (args as ArrayLike<unknown>).length >= 3) {
          const [r, g, b] = Array.from(args as ArrayLike<unknown>, Number)
          if (Number.isFinite(r) && Number.isFinite(g) && Number.isFinite(b)) fill = luma(r ?? 0, g ?? 0, b ?? 0)
        }
        break
      case OPS.paintImageXObject: {
        const id = arg(0)
        if (typeof id === "string") {
          found.push({
            source: { _tag: "Object", id, mask: false },
            declaredPixels: dimension(arg(1)) * dimension(arg(2)),
            fill,
            matrix: place()
          })
        }
        break
      }
      case OPS.paintImageMaskXObject: {
        const image = arg(0) as { data?: unknown; width?: unknown; height?: unknown } | undefined
        if (typeof image?.data === "string") {
          found.push({
            source: { _tag: "Object", id: image.data, mask: true },
            declaredPixels: dimension(image.width) * dimension(image.height),
            fill,
            matrix: place()
          })
        }
        break
      }
      case OPS.paintInlineImageXObject: {
        // small inline images come decoded in the operator list (RGBA)
        const image = imageOf(arg(0), false, fill)
        if (image !== undefined) {
          found.push({ source: { _tag: "Ready", image }, declaredPixels: image.width * image.height, fill, matrix: place() })
        }
        break
      }
      case OPS.paintSolidColorImageMask:
        // a 1×1 image mask that paints: the unit square in the fill colour
        found.push({
          source: { _tag: "Ready", image: { _tag: "Mask", width: 1, height: 1, data: [0], fill } },
          declaredPixels: 1,
          fill,
          matrix: place()
        })
        break
    }
  }
  return found
}

/** A page's decoded image, from the page's objects (or the document's, for ids pdfjs caches across pages: "g_…"). */
const fetchImage = (page: PdfPage, id: string): Promise<unknown> =>
  new Promise((resolve) => {
    ;(id.startsWith("g_") ? page.commonObjs : page.objs).get(id, resolve)
  })

/** A page went over a limit while its image was read. */
class OverLimit extends Error {
  constructor(readonly limit: MeasuredLimit, readonly found: number, readonly max: number) {
    super(`over the ${limit} limit`)
    this.name = "OverLimit"
  }
}

/**
 * Reads the text of every page within `limits`, and (`scans`) the image of each page without a
 * text layer. Never rejects: a document pdfjs cannot read is `Unreadable`, one over a limit is
 * `TooComplex` (which limit, how much was found, the bound).
 *
 * pdfjs can also fail outside any promise of ours: on some damaged or over-budget documents it
 * throws from its own callbacks (a stream controller closed twice, a message for a destroyed
 * page), which would end the thread as an uncaught exception. While a document is read, such an
 * error is that document's: the answer is `Unreadable` (or `TooComplex` when the byte budget
 * was what broke it). Only the thread's own failures (pdfjs not loading) stay errors of the thread.
 */
export const readPdf = async (bytes: Uint8Array, limits: PdfReadLimits, scans = false): Promise<PdfReply> => {
  const pdfjs = await loadPdfjs()
  const { getDocument } = pdfjs
  const meter = installAllocationMeter(limits.maxDecodedBytes)
  const budget = meter.text
  // only a reading for scans decodes images and listens to pdfjs's warnings: one for text is as it always was
  const warnings = scans ? watchWarnings() : undefined
  /** The image budget of the page whose images are being (or were last) decoded. */
  let imageBudget: Budget | undefined
  const tooComplex = (limit: MeasuredLimit, found: number, max: number): PdfReply => ({ _tag: "TooComplex", limit, found, max })
  const overBytes = () => tooComplex("decoded_bytes", budget.allocated, limits.maxDecodedBytes)
  const overImageBytes = (page: Budget) => tooComplex("image_bytes", page.allocated, page.max)
  const failed = (error: unknown): PdfReply =>
    budget.exceeded ? overBytes()
    : imageBudget?.exceeded === true ? overImageBytes(imageBudget)
    : error instanceof OverLimit ? tooComplex(error.limit, error.found, error.max)
    : error instanceof TextTooLong ? tooComplex("text_length", limits.maxTextChars + 1, limits.maxTextChars)
    : { _tag: "Unreadable" }
  let task: ReturnType<typeof getDocument> | undefined
  const pageScans: Array<PageScan> = []

  /**
   * The image of a page without a text layer, or undefined when it paints no image (a blank
   * page, text drawn as paths). Throws OverLimit.
   */
  const scanPage = async (page: PdfPage, pageNumber: number): Promise<PageScan | undefined> => {
    const pageBudget = newBudget(limits.maxImageBytes)
    imageBudget = pageBudget
    const stopCounting = meter.imagesTo(pageBudget)
    try {
      const oversizedBefore = warnings?.oversized() ?? 0
      const operators = await page.getOperatorList({ annotationMode: pdfjs.AnnotationMode.DISABLE })
      if (pageBudget.exceeded) throw new OverLimit("image_bytes", pageBudget.allocated, pageBudget.max)
      // pdfjs dropped an image whose dictionary claims more than maxScanPixels, before decoding it
      if ((warnings?.oversized() ?? 0) > oversizedBefore) {
        throw new OverLimit("scan_pixels", limits.maxScanPixels + 1, limits.maxScanPixels)
      }
      const viewport = page.getViewport({ scale: 1 })
      const viewportMatrix = viewport.transform as unknown
      if (!isMatrix(viewportMatrix)) return undefined
      const painted = paintedImages(pdfjs.OPS, operators, viewportMatrix)
      if (painted.length === 0) return undefined
      if (pageScans.length >= limits.maxScanPages) {
        throw new OverLimit("scan_pages", pageScans.length + 1, limits.maxScanPages)
      }
      let declared = 0
      for (const p of painted) declared += p.declaredPixels
      if (declared > limits.maxScanPixels) throw new OverLimit("scan_pixels", declared, limits.maxScanPixels)
      const placements: Array<Placement> = []
      for (const p of painted) {
        const image =
          p.source._tag === "Ready" ? p.source.image : imageOf(await fetchImage(page, p.source.id), p.source.mask, p.fill)
        // an image pdfjs could not decode (damaged, or refused by the budget: checked below) is left out
        if (image !== undefined) placements.push({ image, matrix: p.matrix })
      }
      if (pageBudget.exceeded) throw new OverLimit("image_bytes", pageBudget.allocated, pageBudget.max)
      const raster = composePage(placements, viewport.width, viewport.height, {
        maxPixels: limits.maxScanPixels,
        maxPaintedPixels: SCAN_PAINT_FACTOR * limits.maxScanPixels
      })
      return raster === undefined ? undefined : { page: pageNumber, ...raster }
    } catch (error) {
      if (error instanceof PaintTooLarge) throw new OverLimit("scan_pixels", error.painted, error.max)
      throw error
    } finally {
      stopCounting()
    }
  }

  const readPages = async (): Promise<PdfReply> => {
    task = getDocument({
      data: bytes,
      isEvalSupported: false,
      disableFontFace: true,
      useSystemFonts: false,
      // warnings are how a dropped oversized image is noticed (watchWarnings); never printed
      verbosity: scans ? pdfjs.VerbosityLevel.WARNINGS : pdfjs.VerbosityLevel.ERRORS,
      standardFontDataUrl,
      cMapUrl,
      cMapPacked: true,
      // decoded images as plain pixel arrays ({ width, height, kind, data }), never ImageBitmaps,
      // whatever the runtime offers; pdfjs's own JPEG decoder, not the platform's
      isOffscreenCanvasSupported: false,
      isImageDecoderSupported: false,
      // an image whose dictionary claims more pixels is dropped before it is decoded
      ...(scans ? { maxImageSize: limits.maxScanPixels } : {})
    })
    const doc = await task.promise
    if (budget.exceeded) return overBytes()
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
            budget.exceeded ? overBytes()
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
      if (budget.exceeded) return overBytes()
      const text = layoutText(runs, limits.maxTextChars - laidOut)
      laidOut += text.length + 2
      pages.push(text)
      if (scans && !hasText(text)) {
        try {
          const scan = await scanPage(page, n)
          if (scan !== undefined) pageScans.push(scan)
        } finally {
          // frees the page's decoded images on this side (pdfjs's objects); the raster is ours
          page.cleanup()
        }
      }
    }
    return { _tag: "Text", text: pages.join("\n\f"), pageCount: doc.numPages, scans: pageScans }
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
    meter.release()
    warnings?.release()
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
  // the scans' pixels are transferred (moved), not copied: the thread is done with them
  const reply = (message: PdfReply) =>
    port.postMessage(message, message._tag === "Text" ? message.scans.map((scan) => scan.pixels.buffer as ArrayBuffer) : [])
  await loadPdfjs()
  port.once("message", (request: PdfRequest) => {
    // readPdf answers every document; what it cannot answer (a defect) surfaces as the thread's error
    void readPdf(request.bytes, request.limits, request.scans === true).then(reply)
  })
  reply({ _tag: "Ready" })
}
