/**
 * OCR proper, run inside the OCR worker thread (ocrWorker.ts; ocrText.ts starts it and keeps it
 * for further documents): decodes a photo (jimp, which also applies its EXIF orientation) or takes a scanned
 * page's raster, prepares it for the recogniser and reads it with tesseract.js, offline: the
 * English model comes from the installed @tesseract.js-data/eng package (LSTM "best_int" data,
 * 2.9 MB), never from a CDN, and nothing is cached on disk.
 *
 * Preparing a page:
 * - scale: the recogniser reads best when a page of print is about 300 dpi, so a page's long
 *   edge is brought to about 3,300 px (a 150-dpi scan is enlarged twice; a 12 MP photo shrunk);
 * - quarter turns: which way the lines run is measured from the ink's row and column profiles
 *   (raster.ts), and which of the two turns is upright is the one the recogniser reads with more
 *   confidence on a band across the middle of the page;
 * - skew: tesseract measures the lines' gradient and reads the page turned straight (rotateAuto);
 * - light: tesseract binarises with Sauvola's local threshold (thresholding_method 2), so a
 *   shadow across a corner does not turn the corner's text black.
 * The words come back with their boxes (in the upright, straightened page), the baseline of the
 * line each belongs to, and tesseract's confidence, for the reader to lay out by geometry.
 *
 * When asked (OcrRequest.read), the thread also reads the pages as a lab report
 * (reader/ocrReading.ts) and posts back the report: laying out and judging a photo's words
 * costs 50–120 ms, which on the main thread would be the API's latency.
 *
 * Nothing here touches the fiber runtime; all the thread posts back is an OcrReply.
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { parentPort } from "node:worker_threads"
import type * as Tesseract from "tesseract.js"
import { documentPages, readOcrText } from "../reader/ocrReading.js"
import type { OcrInput, OcrLimits, OcrPage, OcrReply, OcrRequest, OcrWord } from "./ocrTypes.js"
import { graininess, type Grey, greyFromRgba, inkiestBand, lineDirection, type QuarterTurn, rotate, scale, toPgm } from "./raster.js"

export type { OcrDocumentReading, OcrInput, OcrLimits, OcrPage, OcrReply, OcrRequest, OcrWord } from "./ocrTypes.js"
import { lowerThreadPriority } from "./threadPriority.js"

/** A page of print at about 300 dpi: US letter's long edge (11 in) is 3,300 px, A4's 3,508. */
export const TARGET_LONG_EDGE = 3300
/** Enlarged only below this (a 200-dpi scan is read as it is), shrunk only above this. */
const ENLARGE_BELOW = 2000
const SHRINK_ABOVE = 4200
/** Lines run across when the row profile varies this much more than the column profile (and the reverse). */
const DIRECTION_RATIO = 1.3

const require = createRequire(import.meta.url)

/** The English model shipped in the npm package, LSTM-only "best_int" (the integer-quantised best model). */
export const languageDataPath = (): string =>
  path.join(path.dirname(require.resolve("@tesseract.js-data/eng/package.json")), "4.0.0_best_int")

type Recogniser = Tesseract.Worker

let recogniser: Promise<Recogniser> | undefined

/** tesseract.js's worker (a thread of its own, under this one), with the English model loaded from disk. */
export const loadRecogniser = (): Promise<Recogniser> =>
  (recogniser ??= (async () => {
    // CommonJS, resolved from node_modules (or, in Lambda, the layer's /opt/nodejs/node_modules)
    const tesseract = require("tesseract.js") as typeof Tesseract
    const worker = await tesseract.createWorker("eng", tesseract.OEM.LSTM_ONLY, {
      langPath: languageDataPath(),
      gzip: true,
      // nothing written next to the process (the default caches the model in the working directory)
      cacheMethod: "none",
      logger: () => undefined,
      errorHandler: () => undefined
    })
    await worker.setParameters({
      preserve_interword_spaces: "1",
      // the page is prepared at about 300 dpi (TARGET_LONG_EDGE); saying so spares tesseract's guess
      user_defined_dpi: "300",
      // Sauvola's local threshold: uneven light (a phone's shadow) is binarised region by region
      thresholding_method: "2"
    })
    return worker
  })())

/** The image's size from its header, before anything is decoded (image-size). */
const headerSize = async (bytes: Uint8Array): Promise<{ width: number; height: number } | undefined> => {
  const { imageSize } = await import("image-size")
  try {
    const { width, height } = imageSize(bytes)
    return width > 0 && height > 0 ? { width, height } : undefined
  } catch {
    return undefined
  }
}

class Unreadable extends Error {}
class OverLimit extends Error {
  constructor(readonly limit: "scan_pixels" | "scan_pages", readonly found: number, readonly max: number) {
    super(`${limit}: ${found} > ${max}`)
  }
}

const decode = async (input: OcrInput, limits: OcrLimits): Promise<Grey> => {
  if (input._tag === "Raster") {
    if (input.width * input.height > limits.maxPixels) throw new OverLimit("scan_pixels", input.width * input.height, limits.maxPixels)
    return { width: input.width, height: input.height, pixels: input.pixels }
  }
  const size = await headerSize(input.bytes)
  if (size === undefined) throw new Unreadable()
  if (size.width * size.height > limits.maxPixels) throw new OverLimit("scan_pixels", size.width * size.height, limits.maxPixels)
  const { Jimp } = await import("jimp")
  let image: Awaited<ReturnType<typeof Jimp.fromBuffer>>
  try {
    image = await Jimp.fromBuffer(Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength))
  } catch {
    throw new Unreadable()
  }
  const { width, height, data } = image.bitmap
  return greyFromRgba(width, height, data)
}

/** Brings the page to about 300 dpi of print (see TARGET_LONG_EDGE). */
const normalise = (image: Grey): Grey => {
  const long = Math.max(image.width, image.height)
  if (long < ENLARGE_BELOW || long > SHRINK_ABOVE) return scale(image, TARGET_LONG_EDGE / long)
  return image
}

const wordsOf = (page: Tesseract.Page): Array<OcrWord> => {
  const words: Array<OcrWord> = []
  for (const block of page.blocks ?? []) {
    for (const paragraph of block.paragraphs) {
      for (const line of paragraph.lines) {
        const { x0, y0, x1, y1 } = line.baseline
        const slope = x1 === x0 ? 0 : (y1 - y0) / (x1 - x0)
        for (const word of line.words) {
          const text = word.text.trim()
          if (text === "") continue
          const middle = (word.bbox.x0 + word.bbox.x1) / 2
          // the line's baseline under the word; a line without one (x0 = x1 = 0) falls back to the word's bottom
          const baseline = x0 === 0 && x1 === 0 ? word.bbox.y1 : y0 + slope * (middle - x0)
          // a number is as sure as its least sure digit: one doubtful digit ("79" for 75) is the number in doubt
          const symbols = /\d/.test(text) ? (word.symbols ?? []).map((symbol) => symbol.confidence) : []
          words.push({
            text,
            left: word.bbox.x0,
            top: word.bbox.y0,
            right: word.bbox.x1,
            bottom: word.bbox.y1,
            baseline,
            confidence: Math.min(word.confidence, ...symbols)
          })
        }
      }
    }
  }
  return words
}

/** How well a trial reading went: the letters and digits of the words read with some confidence. */
const readingScore = (page: Tesseract.Page): number =>
  wordsOf(page).reduce((score, word) => {
    const alnum = word.text.replace(/[^\p{L}\p{N}]/gu, "").length
    return word.confidence >= 50 && alnum >= 2 ? score + alnum * (word.confidence / 100) : score
  }, 0)

/** A trial reading this good (and confident overall) is upright: the other turns are not tried. */
const CONFIDENT_PROBE_SCORE = 150

/** A trial reading that finds less than this (letters and digits read with confidence) finds no print on the page. */
const MIN_PROBE_SCORE = 12

/**
 * The quarter turn that makes the page upright (see the header), or undefined when no turn
 * reads as print at all (a photo of something else, noise): then the page is not read in full,
 * which on such an image is the slowest thing the recogniser does.
 */
const uprightTurn = async (worker: Recogniser, image: Grey): Promise<QuarterTurn | undefined> => {
  const small = scale(image, Math.min(1, 900 / Math.max(image.width, image.height)))
  const ratio = lineDirection(small)
  const candidates: ReadonlyArray<QuarterTurn> =
    ratio >= DIRECTION_RATIO ? [0, 180] : ratio <= 1 / DIRECTION_RATIO ? [90, 270] : [0, 90, 180, 270]
  // the probes read a band across the middle at half the size: enough to tell print from noise, and upright from not
  const half = scale(image, 0.5)
  let best: { turn: QuarterTurn; score: number } | undefined
  for (const turn of candidates) {
    const turned = rotate(half, turn)
    // a third of the page's height holds a dozen lines of a report: the third with the most ink (a short
    // report's lines are all at the top)
    const band = inkiestBand(turned, 3)
    const { data } = await worker.recognize(Buffer.from(toPgm(band)), {}, { text: false, blocks: true })
    const score = readingScore(data)
    if (best === undefined || score > best.score) best = { turn, score }
    // text upside down never reads this well: an upright page (most uploads) costs one probe
    if (score >= CONFIDENT_PROBE_SCORE && data.confidence >= 80) break
  }
  return best !== undefined && best.score >= MIN_PROBE_SCORE ? best.turn : undefined
}

/** Above this (see graininess) a picture is not print on paper. */
const MAX_GRAININESS = 28

/** A picture smaller than this on its long edge is not a page of print (a 3-inch receipt at 100 dpi is 300 px). */
const MIN_LONG_EDGE = 200

/** A page narrower than this (after scaling) holds no line of print: it is not sent to the recogniser (whose binarisation needs room). */
const MIN_SIDE = 48

/** A page on which there is nothing to read (see readPage). */
const nothingRead = (page: number, image: Grey, started: number): OcrPage => ({
  page,
  width: image.width,
  height: image.height,
  turn: 0,
  skewDegrees: 0,
  confidence: 0,
  words: [],
  elapsedMs: Math.round(performance.now() - started)
})

const readPage = async (worker: Recogniser, input: OcrInput, limits: OcrLimits): Promise<OcrPage> => {
  const started = performance.now()
  const decoded = await decode(input, limits)
  // an icon-sized picture holds no page of print: not enlarged 20 times to find that out
  if (Math.max(decoded.width, decoded.height) < MIN_LONG_EDGE) {
    return nothingRead(input.page, decoded, started)
  }
  const normalised = normalise(decoded)
  // a page too thin to hold a line, or grain no print has (noise, a photo of a surface): nothing to read,
  // and on noise the recogniser is at its slowest
  if (Math.min(normalised.width, normalised.height) < MIN_SIDE || graininess(decoded) > MAX_GRAININESS) {
    return nothingRead(input.page, normalised, started)
  }
  const turn = await uprightTurn(worker, normalised)
  if (turn === undefined) {
    return nothingRead(input.page, normalised, started)
  }
  const upright = rotate(normalised, turn)
  const { data } = await worker.recognize(Buffer.from(toPgm(upright)), { rotateAuto: true }, { text: false, blocks: true })
  const radians = data.rotateRadians ?? 0
  return {
    page: input.page,
    width: upright.width,
    height: upright.height,
    turn,
    skewDegrees: Math.round((radians * 180 / Math.PI) * 100) / 100,
    confidence: data.confidence,
    words: wordsOf(data),
    elapsedMs: Math.round(performance.now() - started)
  }
}

/** Reads every input in turn. Never rejects for the document's sake: unreadable or over a limit is an answer. */
export const readImages = async (request: OcrRequest): Promise<OcrReply> => {
  if (request.inputs.length > request.limits.maxPages) {
    return { _tag: "TooComplex", limit: "scan_pages", found: request.inputs.length, max: request.limits.maxPages }
  }
  const worker = await loadRecogniser()
  const pages: Array<OcrPage> = []
  try {
    for (const input of request.inputs) pages.push(await readPage(worker, input, request.limits))
  } catch (error) {
    if (error instanceof Unreadable) return { _tag: "Unreadable" }
    if (error instanceof OverLimit) return { _tag: "TooComplex", limit: error.limit, found: error.found, max: error.max }
    // leptonica refusing the prepared page ("Error attempting to read image") is the image's fault too
    if (error instanceof Error && /read image/i.test(error.message)) return { _tag: "Unreadable" }
    // anything else the recogniser throws (its own thread failing on a strange page): said, not swallowed
    return { _tag: "Failed", message: (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 200) }
  }
  if (request.read === undefined || !pages.some((page) => page.words.length > 0)) return { _tag: "Pages", pages }
  return { _tag: "Pages", pages, reading: readOcrText(documentPages(request.read.textPages, pages), request.read.options) }
}

/**
 * The worker thread's side of the conversation with ocrText.ts: loads the recogniser, says
 * `Ready`, then reads each request it is sent, one at a time, and posts each answer. The main
 * thread keeps the thread for further documents or terminates it (with tesseract's own).
 */
export const serveRequests = async (): Promise<void> => {
  const port = parentPort
  if (port === null) throw new Error("The OCR reader runs in a worker thread (see ocrText.ts)")
  // before the recogniser's thread starts, which inherits it (threadPriority.ts)
  lowerThreadPriority()
  await loadRecogniser()
  port.on("message", (request: OcrRequest) => {
    void readImages(request).then((reply) => port.postMessage(reply))
  })
  port.postMessage({ _tag: "Ready" } satisfies OcrReply)
}
