/**
 * Scanned pages out of a PDF (pdfRead.ts, pdfScan.ts): a page without a text layer comes back as
 * the grey image of the page as displayed, for the OCR. Documents are built in the test, with
 * pdf-lib and small jimp images (a white image with a black quadrant, so that orientation shows)
 * or by hand (test/support/pdf.ts) where pdf-lib cannot say it: a DeviceGray or 1-bit image, an
 * image mask, an image that claims 10¹⁰ pixels, a thousand images on a page. The composer's
 * geometry is also checked without pdfjs, as a property over every quarter-turn and mirroring.
 *
 * Each extraction starts a reader thread (about 0.5–1.5 s on 2 cores), so cases share documents
 * where they can: one page a case.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import fc from "fast-check"
import { Jimp } from "jimp"
import { degrees, PDFDocument, StandardFonts } from "pdf-lib"
import {
  composePage,
  ImageKind,
  type Matrix,
  type PageScan,
  type Placement
} from "../../../src/layers/llm/pdfScan.js"
import { extractPdfContent, extractPdfText, type PdfContent, type PdfTextOptions } from "../../../src/layers/llm/pdfText.js"
import { contentStream, flate, pagesPdf } from "../../support/pdf.js"

// ---------------------------------------------------------------------------------------------
// Images and documents

type Quadrant = "top-left" | "top-right" | "bottom-left" | "bottom-right"

/** A white `width × height` image, black in one quadrant, in colour (a blue-grey white) or grey. */
const quadrantImage = (width: number, height: number, dark: Quadrant, options: { readonly alpha?: boolean } = {}) => {
  const image = new Jimp({ width, height, color: options.alpha === true ? 0x00000000 : 0xffffffff })
  const [x0, y0] = [dark.endsWith("left") ? 0 : width / 2, dark.startsWith("top") ? 0 : height / 2]
  for (let y = y0; y < y0 + height / 2; y++) for (let x = x0; x < x0 + width / 2; x++) image.setPixelColor(0x101020ff, x, y)
  return image
}

type JimpImage = ReturnType<typeof quadrantImage>

/** jimp's Buffers may sit at an offset in a shared ArrayBuffer, which pdf-lib's JPEG reader does not expect: a copy of its own. */
const png = async (image: JimpImage) => new Uint8Array(await image.getBuffer("image/png"))
const jpeg = async (image: JimpImage) => new Uint8Array(await image.getBuffer("image/jpeg", { quality: 90 }))

const content = async (bytes: Uint8Array, options: PdfTextOptions = {}): Promise<PdfContent> => {
  const exit = await Effect.runPromiseExit(extractPdfContent(bytes, options))
  if (Exit.isFailure(exit)) throw new Error(`expected content, got ${Cause.pretty(exit.cause)}`)
  return exit.value
}

const failure = async (read: Effect.Effect<unknown, unknown>): Promise<{ _tag?: string; limit?: string; reason?: string; message?: string }> => {
  const exit = await Effect.runPromiseExit(read)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
  if (error === undefined) throw new Error(`not a typed failure: ${Cause.pretty(exit.cause)}`)
  return error as { _tag?: string; limit?: string; reason?: string; message?: string }
}

/** The mean grey of each quadrant of a scan. */
const quadrants = (scan: Pick<PageScan, "width" | "height" | "pixels">): Record<Quadrant, number> => {
  const sums = { "top-left": 0, "top-right": 0, "bottom-left": 0, "bottom-right": 0 }
  const counts = { ...sums }
  for (let y = 0; y < scan.height; y++) {
    for (let x = 0; x < scan.width; x++) {
      const q: Quadrant = `${y < scan.height / 2 ? "top" : "bottom"}-${x < scan.width / 2 ? "left" : "right"}`
      sums[q] += scan.pixels[y * scan.width + x] ?? 0
      counts[q]++
    }
  }
  return {
    "top-left": sums["top-left"] / counts["top-left"],
    "top-right": sums["top-right"] / counts["top-right"],
    "bottom-left": sums["bottom-left"] / counts["bottom-left"],
    "bottom-right": sums["bottom-right"] / counts["bottom-right"]
  }
}

/** The scan is dark in its top-left quadrant and white elsewhere (JPEG blurs the edges a little). */
const expectDarkTopLeft = (scan: PageScan, label: string) => {
  const means = quadrants(scan)
  expect(means["top-left"], `${label}: top-left ${JSON.stringify(means)}`).toBeLessThan(40)
  for (const q of ["top-right", "bottom-left", "bottom-right"] as const) {
    expect(means[q], `${label}: ${q} ${JSON.stringify(means)}`).toBeGreaterThan(235)
  }
}

const scanOf = (read: PdfContent, page: number) => {
  const scan = read.scans.find((s) => s.page === page)
  if (scan === undefined) throw new Error(`no scan of page ${page}: ${read.scans.map((s) => s.page).join(", ")}`)
  return scan
}

/** An image XObject, as pagesPdf writes it. */
const imageObject = (dict: string, data: Uint8Array) => ({ dict: `/Type /XObject /Subtype /Image ${dict}`, data })

/** `content` paints XObject /Im<i> (object `first + i`) on an A4 page. */
const xobjects = (count: number, first: number) =>
  `/Font << /F1 3 0 R >> /XObject << ${Array.from({ length: count }, (_, i) => `/Im${i} ${first + i} 0 R`).join(" ")} >>`

const A4 = "595 0 0 842 0 0 cm"

// ---------------------------------------------------------------------------------------------
// The composer's geometry, without pdfjs

describe("composePage", () => {
  /**
   * A display raster R, stored the way a scanner might (turned a quarter, mirrored), with the
   * matrix that shows it upright again: the stored image is built forwards (where each stored
   * pixel's centre lands), the composer maps backwards (where each canvas pixel's centre comes
   * from), so agreeing means both directions agree.
   */
  const stored = (r: { width: number; height: number; pixels: Uint8Array }, swap: boolean, flipX: boolean, flipY: boolean, k: number) => {
    const ws = swap ? r.height : r.width
    const hs = swap ? r.width : r.height
    // stored fractional position (su right, sv down) → display fractional position (y down)
    const toDisplay = (su: number, sv: number): readonly [number, number] => {
      let [dx, dy] = swap ? [sv, su] : [su, sv]
      if (flipX) dx = 1 - dx
      if (flipY) dy = 1 - dy
      return [dx, dy]
    }
    const pixels = new Uint8Array(ws * hs * 3)
    for (let row = 0; row < hs; row++) {
      for (let col = 0; col < ws; col++) {
        const [dx, dy] = toDisplay((col + 0.5) / ws, (row + 0.5) / hs)
        const v = r.pixels[Math.floor(dy * r.height) * r.width + Math.floor(dx * r.width)] ?? 0
        pixels.set([v, v, v], (row * ws + col) * 3)
      }
    }
    // the unit square: u = su, v = 1 − sv (row 0 of the data is at the top, v = 1)
    const W = r.width * k
    const H = r.height * k
    const at = (u: number, v: number) => {
      const [dx, dy] = toDisplay(u, 1 - v)
      return [dx * W, dy * H] as const
    }
    const [e, f] = at(0, 0)
    const [ux, uy] = at(1, 0)
    const [vx, vy] = at(0, 1)
    const matrix: Matrix = [ux - e, uy - f, vx - e, vy - f, e, f]
    return { placement: { image: { _tag: "Image", width: ws, height: hs, kind: ImageKind.RGB_24BPP, data: pixels }, matrix } as Placement, W, H }
  }

  const raster = fc
    .record({ width: fc.integer({ min: 1, max: 12 }), height: fc.integer({ min: 1, max: 12 }) })
    .chain(({ width, height }) =>
      fc.uint8Array({ minLength: width * height, maxLength: width * height }).map((pixels) => ({ width, height, pixels }))
    )

  it("property: every quarter-turn and mirroring of a stored image comes out upright, pixel for pixel, at any page scale", () => {
    fc.assert(
      fc.property(raster, fc.boolean(), fc.boolean(), fc.boolean(), fc.constantFrom(0.24, 1, 2.5, 72 / 300), (r, swap, flipX, flipY, k) => {
        const { placement, W, H } = stored(r, swap, flipX, flipY, k)
        const page = composePage([placement], W, H, { maxPixels: 1e6, maxPaintedPixels: 1e6 })
        expect(page).toBeDefined()
        expect({ width: page?.width, height: page?.height }).toEqual({ width: r.width, height: r.height })
        expect(Array.from(page?.pixels ?? [])).toEqual(Array.from(r.pixels))
      }),
      { numRuns: 300 }
    )
  })

  it("property: 1-bit images and masks unpack most significant bit first, rows padded to a byte", () => {
    const bits = fc
      .record({ width: fc.integer({ min: 1, max: 20 }), height: fc.integer({ min: 1, max: 6 }) })
      .chain(({ width, height }) =>
        fc.uint8Array({ minLength: ((width + 7) >> 3) * height, maxLength: ((width + 7) >> 3) * height }).map((data) => ({ width, height, data }))
      )
    fc.assert(
      fc.property(bits, ({ width, height, data }) => {
        const bit = (x: number, y: number) => ((data[y * ((width + 7) >> 3) + (x >> 3)] ?? 0) >> (7 - (x & 7))) & 1
        const matrix: Matrix = [width, 0, 0, -height, 0, height]
        const limits = { maxPixels: 1e6, maxPaintedPixels: 1e6 }
        const grey = composePage([{ image: { _tag: "Image", width, height, kind: ImageKind.GRAYSCALE_1BPP, data }, matrix }], width, height, limits)
        const mask = composePage([{ image: { _tag: "Mask", width, height, data, fill: 40 }, matrix }], width, height, limits)
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            expect(grey?.pixels[y * width + x]).toBe(bit(x, y) === 1 ? 255 : 0)
            // a mask paints where its bit is 0 and leaves the (white) canvas where it is 1
            expect(mask?.pixels[y * width + x]).toBe(bit(x, y) === 0 ? 40 : 255)
          }
        }
      }),
      { numRuns: 100 }
    )
  })

  it("RGBA is composited over the canvas; the canvas takes the largest image's resolution and stays within maxPixels", () => {
    const rgba = new Uint8Array([0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128, 255, 255, 255, 255])
    const page = composePage([{ image: { _tag: "Image", width: 4, height: 1, kind: ImageKind.RGBA_32BPP, data: rgba }, matrix: [4, 0, 0, -1, 0, 1] }], 4, 1, {
      maxPixels: 100,
      maxPaintedPixels: 100
    })
    expect(Array.from(page?.pixels ?? [])).toEqual([0, 255, 127, 255])

    // a 100×50 image over the left half of a 200 × 50 point page: 1 pixel a point, the right half white
    const half = composePage(
      [{ image: { _tag: "Image", width: 100, height: 50, kind: ImageKind.RGB_24BPP, data: new Uint8Array(100 * 50 * 3) }, matrix: [100, 0, 0, -50, 0, 50] }],
      200,
      50,
      { maxPixels: 1e6, maxPaintedPixels: 1e6 }
    )
    expect({ width: half?.width, height: half?.height }).toEqual({ width: 200, height: 50 })
    expect(half?.pixels[0]).toBe(0)
    expect(half?.pixels[199]).toBe(255)

    // a 1000×1000 image squeezed into 1 point of a 1000-point page would ask for 10¹² pixels
    const tiny = composePage(
      [{ image: { _tag: "Image", width: 1000, height: 1000, kind: ImageKind.RGB_24BPP, data: new Uint8Array(3e6) }, matrix: [1, 0, 0, -1, 0, 1] }],
      1000,
      1000,
      { maxPixels: 10_000, maxPaintedPixels: 40_000 }
    )
    expect((tiny?.width ?? 0) * (tiny?.height ?? 0)).toBeLessThanOrEqual(10_000)
  })
})

// ---------------------------------------------------------------------------------------------
// Scanned pages out of PDFs

describe("extractPdfContent", () => {
  it("each page's image comes out upright as the page displays: PNG and JPEG, drawn turned, on a turned page, with alpha", async () => {
    const doc = await PDFDocument.create()
    // 1: a PNG (Flate, RGB) over a 400 × 200 point page
    doc.addPage([400, 200]).drawImage(await doc.embedPng(await png(quadrantImage(200, 100, "top-left"))), { x: 0, y: 0, width: 400, height: 200 })
    // 2: the same as a JPEG (DCT)
    doc.addPage([400, 200]).drawImage(await doc.embedJpg(await jpeg(quadrantImage(200, 100, "top-left"))), { x: 0, y: 0, width: 400, height: 200 })
    // 3: stored sideways and drawn turned 90° counter-clockwise: its top-right corner lands top-left
    doc.addPage([200, 400]).drawImage(await doc.embedJpg(await jpeg(quadrantImage(200, 100, "top-right"))), {
      x: 200,
      y: 0,
      width: 400,
      height: 200,
      rotate: degrees(90)
    })
    // 4: a page shown turned 90° clockwise (/Rotate 90): the image's bottom-left corner is shown top-left
    const turned = doc.addPage([200, 400])
    turned.setRotation(degrees(90))
    turned.drawImage(await doc.embedPng(await png(quadrantImage(100, 200, "bottom-left"))), { x: 0, y: 0, width: 200, height: 400 })
    // 5: /Rotate 180 and the image drawn turned 180° as well: upright again
    const twice = doc.addPage([400, 200])
    twice.setRotation(degrees(180))
    twice.drawImage(await doc.embedPng(await png(quadrantImage(200, 100, "top-left"))), { x: 400, y: 200, width: 400, height: 200, rotate: degrees(180) })
    // 6: a PNG with transparency (pdf-lib gives it a soft mask): composited on white
    doc.addPage([400, 200]).drawImage(await doc.embedPng(await png(quadrantImage(200, 100, "top-left", { alpha: true }))), { x: 0, y: 0, width: 400, height: 200 })

    const read = await content(await doc.save())
    expect(read.pageCount).toBe(6)
    expect(read.text).toBe("\n\f\n\f\n\f\n\f\n\f")
    expect(read.scans.map((s) => [s.page, s.width, s.height])).toEqual([
      [1, 200, 100],
      [2, 200, 100],
      [3, 100, 200],
      [4, 200, 100],
      [5, 200, 100],
      [6, 200, 100]
    ])
    for (const scan of read.scans) {
      expect(scan.pixels).toBeInstanceOf(Uint8Array)
      expect(scan.pixels.length).toBe(scan.width * scan.height)
      expectDarkTopLeft(scan, `page ${scan.page}`)
    }
  }, 60_000)

  it("grey (8-bit DeviceGray, Flate), 1-bit and image-mask scans, mirrored placements, several images on one page", async () => {
    const [w, h] = [60, 40]
    // upright grey: dark top-left quadrant, rows from the top
    const grey = new Uint8Array(w * h).fill(250)
    for (let y = 0; y < h / 2; y++) grey.fill(10, y * w, y * w + w / 2)
    // 1 bit a pixel, 1 = white: black top-left quadrant
    const bytesPerRow = (w + 7) >> 3
    const bits = new Uint8Array(bytesPerRow * h).fill(0xff)
    for (let y = 0; y < h / 2; y++) for (let x = 0; x < w / 2; x++) bits[y * bytesPerRow + (x >> 3)]! &= ~(0x80 >> (x & 7))
    // a mask paints where its bit is 0: the same bits
    const objects = [
      imageObject(`/Width ${w} /Height ${h} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode`, flate(grey)),
      imageObject(`/Width ${w} /Height ${h} /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /FlateDecode`, flate(bits)),
      imageObject(`/Width ${w} /Height ${h} /ImageMask true /Filter /FlateDecode`, flate(bits))
    ]
    const pages = [
      `q ${A4} /Im0 Do Q`,
      `q ${A4} /Im1 Do Q`,
      `q 0.1 g ${A4} /Im2 Do Q`,
      // mirrored left to right (drawn from the right edge): the stored top-left shows top-right
      `q -595 0 0 842 595 0 cm /Im0 Do Q`,
      // the top half and the bottom half of the page as two images (a scanner writing strips)
      `q 595 0 0 421 0 421 cm /Im0 Do Q q 595 0 0 421 0 0 cm /Im1 Do Q`
    ].map((c) => contentStream(c, true))
    const read = await content(pagesPdf(pages, { resources: xobjects(3, 4 + 2 * pages.length), extra: objects }))
    expect(read.scans.map((s) => [s.page, s.width, s.height])).toEqual([
      [1, 60, 40],
      [2, 60, 40],
      [3, 60, 40],
      [4, 60, 40],
      [5, 60, 80]
    ])
    expectDarkTopLeft(scanOf(read, 1), "grey")
    expectDarkTopLeft(scanOf(read, 2), "1-bit")
    const mask = scanOf(read, 3)
    expect(mask.pixels[0]).toBe(26) // 0.1 g: the fill's grey
    expectDarkTopLeft(mask, "mask")
    const mirrored = quadrants(scanOf(read, 4))
    expect(mirrored["top-right"]).toBeLessThan(40)
    expect(mirrored["top-left"]).toBeGreaterThan(200)
    // two images, each over half the page at their own resolution: 60 × 80 pixels, dark in each half's top-left
    const strips = scanOf(read, 5)
    const at = (x: number, y: number) => strips.pixels[y * strips.width + x]
    expect([at(5, 5), at(45, 5), at(5, 45), at(45, 45), at(5, 75)]).toEqual([10, 250, 0, 255, 255])
  }, 60_000)

  it("text pages keep their text and give no scan; in a mixed document the scanned page is an empty page of the text", async () => {
    const doc = await PDFDocument.create()
    const font = await doc.embedFont(StandardFonts.Helvetica)
    doc.addPage([400, 300]).drawText("Hemoglobin 11.2 g/dL", { x: 20, y: 250, size: 12, font })
    doc.addPage([400, 200]).drawImage(await doc.embedPng(await png(quadrantImage(200, 100, "top-left"))), { x: 0, y: 0, width: 400, height: 200 })
    doc.addPage([400, 300]).drawText("Sodium 139 mmol/L", { x: 20, y: 250, size: 12, font })
    const bytes = await doc.save()
    const read = await content(bytes)
    expect(read.pageCount).toBe(3)
    const pages = read.text.split("\n\f")
    expect(pages).toHaveLength(3)
    expect(pages[0]).toContain("Hemoglobin 11.2 g/dL")
    expect(pages[1]).toBe("")
    expect(pages[2]).toContain("Sodium 139 mmol/L")
    expect(read.scans.map((s) => s.page)).toEqual([2])
    expectDarkTopLeft(scanOf(read, 2), "mixed")

    // extractPdfText is as it was: the text, pages separated the same way, no image read
    const text = await Effect.runPromise(extractPdfText(bytes))
    expect(text).toBe(read.text)
  }, 60_000)

  it("a document with no text layer and no image (text drawn as paths) is NO_TEXT_LAYER; a scan without text is NO_TEXT_LAYER for extractPdfText", async () => {
    // "H" drawn as three filled rectangles, and a blank page
    const vector = pagesPdf([contentStream("0 g 100 700 10 60 re f 140 700 10 60 re f 110 725 30 10 re f"), contentStream("", true)])
    expect(await failure(extractPdfContent(vector))).toMatchObject({ _tag: "DocumentUnreadable", reason: "NO_TEXT_LAYER" })

    const doc = await PDFDocument.create()
    doc.addPage([400, 200]).drawImage(await doc.embedPng(await png(quadrantImage(200, 100, "top-left"))), { x: 0, y: 0, width: 400, height: 200 })
    const scan = await doc.save()
    expect(await failure(extractPdfText(scan))).toMatchObject({ _tag: "DocumentUnreadable", reason: "NO_TEXT_LAYER" })
    // the scan limits do not apply to extractPdfText, which decodes no image
    expect(await failure(extractPdfText(scan, { maxScanPixels: 1, maxImageBytes: 1 }))).toMatchObject({ reason: "NO_TEXT_LAYER" })
  }, 60_000)

  it("bounds: scanned pages, pixels a page (declared, before decoding), image buffers a page, paint work", async () => {
    const doc = await PDFDocument.create()
    const image = await doc.embedPng(await png(quadrantImage(200, 100, "top-left")))
    for (let i = 0; i < 3; i++) doc.addPage([400, 200]).drawImage(image, { x: 0, y: 0, width: 400, height: 200 })
    const three = await doc.save()
    expect((await content(three, { maxScanPages: 3 })).scans).toHaveLength(3)
    expect(await failure(extractPdfContent(three, { maxScanPages: 2 }))).toMatchObject({ _tag: "DocumentTooComplex", limit: "scan_pages" })
    // 200 × 100 = 20 000 pixels a page
    expect(await failure(extractPdfContent(three, { maxScanPixels: 19_999 }))).toMatchObject({ _tag: "DocumentTooComplex", limit: "scan_pixels" })
    expect((await content(three, { maxScanPixels: 20_000 })).scans).toHaveLength(3)
    // decoding and composing one page costs a few hundred kB of buffers
    const overBuffers = await failure(extractPdfContent(three, { maxImageBytes: 50_000 }))
    expect(overBuffers).toMatchObject({ _tag: "DocumentTooComplex", limit: "decoded_bytes" })
    expect(overBuffers.message).toMatch(/image buffers/)

    // an image that claims 100 000 × 100 000 pixels (10 bytes of data): refused before pdfjs decodes it
    const huge = pagesPdf([contentStream(`q ${A4} /Im0 Do Q`, true)], {
      resources: xobjects(1, 6),
      extra: [imageObject("/Width 100000 /Height 100000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode", flate(new Uint8Array(10)))]
    })
    expect(await failure(extractPdfContent(huge))).toMatchObject({ _tag: "DocumentTooComplex", limit: "scan_pixels" })

    // a JPEG whose own header is 200 × 100 in a dictionary that says 20 × 10: its decoder's buffers are counted all the same
    const lying = pagesPdf([contentStream(`q ${A4} /Im0 Do Q`, true)], {
      resources: xobjects(1, 6),
      extra: [imageObject("/Width 20 /Height 10 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", await jpeg(quadrantImage(200, 100, "top-left")))]
    })
    expect(await failure(extractPdfContent(lying, { maxImageBytes: 100_000 }))).toMatchObject({ limit: "decoded_bytes" })
  }, 90_000)

  it("hostile pages: a thousand tiny images read; a thousand full-page paintings are refused; an image mask alone reads", async () => {
    // 1000 distinct 4×4 grey images in a 40 × 25 grid
    const tile = flate(new Uint8Array(16).fill(0))
    const tiles = Array.from({ length: 1000 }, () => imageObject("/Width 4 /Height 4 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", tile))
    const grid = Array.from({ length: 1000 }, (_, i) => `q 10 0 0 10 ${20 + (i % 40) * 14} ${100 + Math.floor(i / 40) * 25} cm /Im${i} Do Q`).join("\n")
    const many = pagesPdf([contentStream(grid)], { resources: xobjects(1000, 6), extra: tiles })
    const started = performance.now()
    const read = await content(many)
    expect(performance.now() - started).toBeLessThan(20_000)
    expect(read.scans).toHaveLength(1)
    expect(scanOf(read, 1).pixels.some((p) => p === 0)).toBe(true)

    // a 1000 × 1000 scan (which sets the canvas at a million pixels), then a 2 × 2 image painted
    // over the whole page 1000 times: a billion pixels to paint, over SCAN_PAINT_FACTOR × maxScanPixels
    const again = pagesPdf([contentStream(`q ${A4} /Im0 Do Q\n${Array.from({ length: 1000 }, () => `q ${A4} /Im1 Do Q`).join("\n")}`)], {
      resources: xobjects(2, 6),
      extra: [
        imageObject("/Width 1000 /Height 1000 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", flate(new Uint8Array(1_000_000).fill(200))),
        imageObject("/Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", flate(new Uint8Array(4).fill(128)))
      ]
    })
    const painting = await failure(extractPdfContent(again))
    expect(painting).toMatchObject({ _tag: "DocumentTooComplex", limit: "scan_pixels" })

    // a page that is only an image mask (a 1-bit scan written as a stencil painted black)
    // decoded, 0 paints: the top-left quadrant; stored inverted, as /Decode [1 0] says
    const bytesPerRow = (100 + 7) >> 3
    const stencil = new Uint8Array(bytesPerRow * 50).fill(0xff)
    for (let y = 0; y < 25; y++) for (let x = 0; x < 50; x++) stencil[y * bytesPerRow + (x >> 3)]! &= ~(0x80 >> (x & 7))
    const maskOnly = pagesPdf([contentStream(`q 0 g ${A4} /Im0 Do Q`, true)], {
      resources: xobjects(1, 6),
      extra: [imageObject("/Width 100 /Height 50 /ImageMask true /Decode [1 0] /Filter /FlateDecode", flate(stencil.map((b) => 255 - b)))]
    })
    const stencilScan = scanOf(await content(maskOnly), 1)
    expect([stencilScan.width, stencilScan.height]).toEqual([100, 50])
    expectDarkTopLeft(stencilScan, "mask with /Decode [1 0]")
  }, 90_000)
})
