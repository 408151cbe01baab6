/**
 * The image of a scanned PDF page, as the OCR reads it: the page's images, decoded by pdfjs
 * (pdfRead.ts fetches them), painted onto one 8-bit grey canvas the size of the page as it is
 * displayed, upright. Pure (no pdfjs, no canvas, no native module), so the geometry can be
 * tested without a PDF; the PDF reader's worker thread runs it on each page without a text layer.
 *
 * Geometry. PDF paints an image by mapping the unit square through the current transformation
 * matrix (CTM): image column u ∈ [0, 1] runs left to right, and row 0 of the image data is at
 * v = 1 (image space is flipped against PDF's y-up user space). pdfRead.ts composes each
 * image's CTM with pdfjs's viewport transform (which adds the page's /Rotate and its crop box and
 * flips y downwards), so a Placement's matrix maps the unit square straight into display space:
 * points, origin top left, y down, as the page is shown. Every canvas pixel then takes the image
 * pixel whose area its centre falls in (nearest neighbour), whatever the rotation, mirroring or
 * skew; for an image turned by a quarter-turn multiple and covering the page, which is what a
 * scanner writes, that is an exact permutation of the image's pixels (rotate, flip), no
 * resampling.
 *
 * Resolution: the canvas has the pixel density of the page's largest image (by pixel count), per
 * axis when that image is not skewed, so a one-image scan comes out at its own size. It is
 * reduced to at most `maxPixels` (a small image stretched over a huge page would otherwise ask
 * for billions of pixels).
 *
 * Grey is ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B); RGBA is composited over what is on
 * the canvas (white where nothing was painted); a 1-bit image is black (0) or white (1), most
 * significant bit first, rows padded to a byte, as pdfjs hands it over; an image mask paints the
 * fill colour where its (decoded) bit is 0 and leaves the canvas alone where it is 1.
 */

/** A PDF transformation matrix [a b c d e f]: (x, y) ↦ (a x + c y + e, b x + d y + f). */
export type Matrix = readonly [number, number, number, number, number, number]

export const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0]

/** `outer` after `inner`: the matrix that applies `inner` first (as PDF's `cm` concatenates onto the CTM). */
export const multiply = (outer: Matrix, inner: Matrix): Matrix => [
  outer[0] * inner[0] + outer[2] * inner[1],
  outer[1] * inner[0] + outer[3] * inner[1],
  outer[0] * inner[2] + outer[2] * inner[3],
  outer[1] * inner[2] + outer[3] * inner[3],
  outer[0] * inner[4] + outer[2] * inner[5] + outer[4],
  outer[1] * inner[4] + outer[3] * inner[5] + outer[5]
]

export const applyMatrix = (m: Matrix, x: number, y: number): readonly [number, number] => [
  m[0] * x + m[2] * y + m[4],
  m[1] * x + m[3] * y + m[5]
]

/** pdfjs's ImageKind (pdfjs-dist 4.10: src/shared/util.js). */
export const ImageKind = { GRAYSCALE_1BPP: 1, RGB_24BPP: 2, RGBA_32BPP: 3 } as const

/** An image's pixels as pdfjs decodes them (`{ width, height, kind, data }`), or an image mask with its fill grey. */
export type ImageSource =
  | {
    readonly _tag: "Image"
    readonly width: number
    readonly height: number
    readonly kind: number
    readonly data: ArrayLike<number>
  }
  | {
    readonly _tag: "Mask"
    readonly width: number
    readonly height: number
    /** 1 bit a pixel, most significant first, rows padded to a byte; 0 paints. */
    readonly data: ArrayLike<number>
    /** The grey the mask paints with (the fill colour's luma). */
    readonly fill: number
  }

/** An image and where it lands: the unit square's map into display space (points, y down). */
export interface Placement {
  readonly image: ImageSource
  readonly matrix: Matrix
}

/** One scanned page's image: grey, 8 bits a pixel (0 black, 255 white), row-major, `width × height` bytes. */
export interface PageScan {
  /** The page's number, from 1. */
  readonly page: number
  readonly width: number
  readonly height: number
  readonly pixels: Uint8Array
}

export interface GreyRaster {
  readonly width: number
  readonly height: number
  readonly pixels: Uint8Array
}

/** The canvas is reduced, or the work refused, past these. */
export interface ComposeLimits {
  /** Pixels of the canvas at most. */
  readonly maxPixels: number
  /** Canvas pixels painted over all the page's images at most (overlapping images paint some twice). */
  readonly maxPaintedPixels: number
}

/** Composing the page would paint more pixels than `maxPaintedPixels` (many images, each over much of the page). */
export class PaintTooLarge extends Error {
  constructor(readonly painted: number, readonly max: number) {
    super(`Composing the page would paint more than ${max} pixels`)
    this.name = "PaintTooLarge"
  }
}

/** BT.601 luma of 0–255 components, rounded. */
export const luma = (r: number, g: number, b: number): number => Math.round(0.299 * r + 0.587 * g + 0.114 * b)

/** Below this, a matrix entry is taken for 0 (cos 90° in floating point is 6e-17). */
const EPSILON = 1e-9

const isFiniteMatrix = (m: Matrix) => m.every((v) => Number.isFinite(v))

/**
 * Pixels per point along the canvas's x and y axes for an image placed by `m`: the image's own
 * density where it is axis-aligned (a quarter-turn multiple, mirrored or not), the geometric mean
 * of both otherwise.
 */
export const densityOf = (placement: Placement): { readonly x: number; readonly y: number } | undefined => {
  const { image, matrix: m } = placement
  const [a, b, c, d] = m
  const det = Math.abs(a * d - b * c)
  if (!(det > EPSILON) || !isFiniteMatrix(m)) return undefined
  const scale = Math.max(Math.abs(a), Math.abs(b), Math.abs(c), Math.abs(d))
  const tiny = (v: number) => Math.abs(v) <= EPSILON * scale
  // columns along x, rows along y
  if (tiny(b) && tiny(c)) return { x: image.width / Math.abs(a), y: image.height / Math.abs(d) }
  // columns along y, rows along x (turned a quarter)
  if (tiny(a) && tiny(d)) return { x: image.height / Math.abs(c), y: image.width / Math.abs(b) }
  const uniform = Math.sqrt((image.width * image.height) / det)
  return { x: uniform, y: uniform }
}

/**
 * The canvas for a page `pageWidth × pageHeight` points holding `placements`: its size in
 * pixels and its scale (pixels per point) on each axis, or undefined when nothing can be placed.
 */
export const canvasFor = (
  placements: ReadonlyArray<Placement>,
  pageWidth: number,
  pageHeight: number,
  maxPixels: number
): { readonly width: number; readonly height: number; readonly sx: number; readonly sy: number } | undefined => {
  if (!(pageWidth > 0 && pageHeight > 0 && Number.isFinite(pageWidth) && Number.isFinite(pageHeight))) return undefined
  let largest: Placement | undefined
  for (const p of placements) {
    if (densityOf(p) === undefined) continue
    if (largest === undefined || p.image.width * p.image.height > largest.image.width * largest.image.height) largest = p
  }
  const density = largest === undefined ? undefined : densityOf(largest)
  if (density === undefined || !(density.x > 0 && density.y > 0) || !Number.isFinite(density.x) || !Number.isFinite(density.y)) {
    return undefined
  }
  let sx = density.x
  let sy = density.y
  let width = Math.max(1, Math.round(pageWidth * sx))
  let height = Math.max(1, Math.round(pageHeight * sy))
  if (width * height > maxPixels) {
    const f = Math.sqrt(maxPixels / (width * height))
    width = Math.max(1, Math.floor(width * f))
    height = Math.max(1, Math.floor(height * f))
    // a page 10⁵ times wider than high cannot keep both sides at 1 pixel or more within maxPixels
    if (width * height > maxPixels) return undefined
    sx = width / pageWidth
    sy = height / pageHeight
  } else {
    // the exact ratio of the rounded sizes, so that an image covering the page maps pixel to pixel
    sx = width / pageWidth
    sy = height / pageHeight
  }
  return { width, height, sx, sy }
}

/**
 * Paints one image onto the canvas. The canvas pixel (x, y) has its centre at ((x + ½)/sx,
 * (y + ½)/sy) in display space; the inverse of the placement takes that to (u, v) in the unit
 * square, and the image pixel is column ⌊u·w⌋, row ⌊(1 − v)·h⌋. Only the pixels within the
 * image's bounding box are visited; the caller has counted them (`paintedArea`). Each canvas row
 * is mapped first (which image pixel, if any, lands on each of its pixels), then painted by a
 * loop of the image's kind.
 */
const paint = (canvas: Uint8Array, cw: number, ch: number, sx: number, sy: number, placement: Placement) => {
  const { image, matrix: m } = placement
  const box = boxOf(m, cw, ch, sx, sy)
  if (box === undefined) return
  const [a, b, c, d, e, f] = m
  const det = a * d - b * c
  // inverse of the linear part: (u, v) = inv · (X − e, Y − f)
  const ia = d / det
  const ib = -b / det
  const ic = -c / det
  const id = a / det
  const w = image.width
  const h = image.height
  const data = image.data
  const dataLength = data.length
  // (u, v) change by these for each step of x on the canvas
  const du = ia / sx
  const dv = ib / sx
  const span = box.x1 - box.x0
  // for each pixel of the row within the box: the image pixel's index (row × w + column), or -1
  const source = new Int32Array(span)
  const bytesPerRow = (w + 7) >> 3
  /** A 1-bit image's bit for image pixel `s` (row-major), or undefined past the end of short data. */
  const bitOf = (s: number): number | undefined => {
    const row = Math.floor(s / w)
    const col = s - row * w
    const index = row * bytesPerRow + (col >> 3)
    return index < dataLength ? ((data[index] ?? 0) >> (7 - (col & 7))) & 1 : undefined
  }
  for (let y = box.y0; y < box.y1; y++) {
    const Y = (y + 0.5) / sy - f
    const X0 = (box.x0 + 0.5) / sx - e
    let u = ia * X0 + ic * Y
    let v = ib * X0 + id * Y
    for (let k = 0; k < span; k++, u += du, v += dv) {
      if (u >= 0 && u < 1 && v > 0 && v <= 1) {
        source[k] = Math.min(h - 1, Math.floor((1 - v) * h)) * w + Math.min(w - 1, Math.floor(u * w))
      } else {
        source[k] = -1
      }
    }
    const start = y * cw + box.x0
    if (image._tag === "Mask") {
      const fill = image.fill
      for (let k = 0; k < span; k++) {
        const s = source[k] ?? -1
        // pdfjs treats mask data past the end as 1 (nothing painted)
        if (s >= 0 && bitOf(s) === 0) canvas[start + k] = fill
      }
      continue
    }
    switch (image.kind) {
      case ImageKind.GRAYSCALE_1BPP:
        for (let k = 0; k < span; k++) {
          const s = source[k] ?? -1
          // past the end of short data pdfjs paints nothing (transparent)
          const bit = s < 0 ? undefined : bitOf(s)
          if (bit !== undefined) canvas[start + k] = bit === 0 ? 0 : 255
        }
        break
      case ImageKind.RGB_24BPP:
        for (let k = 0; k < span; k++) {
          const s = (source[k] ?? -1) * 3
          if (s >= 0 && s + 2 < dataLength) canvas[start + k] = luma(data[s] ?? 0, data[s + 1] ?? 0, data[s + 2] ?? 0)
        }
        break
      case ImageKind.RGBA_32BPP:
        for (let k = 0; k < span; k++) {
          const s = (source[k] ?? -1) * 4
          if (s < 0 || s + 3 >= dataLength) continue
          const alpha = (data[s + 3] ?? 255) / 255
          const grey = luma(data[s] ?? 0, data[s + 1] ?? 0, data[s + 2] ?? 0)
          canvas[start + k] = Math.round(grey * alpha + (canvas[start + k] ?? 255) * (1 - alpha))
        }
        break
    }
  }
}

/** The canvas pixels (half-open ranges) the image's bounding box covers, clipped to the canvas. */
const boxOf = (m: Matrix, cw: number, ch: number, sx: number, sy: number) => {
  if (!isFiniteMatrix(m) || !(Math.abs(m[0] * m[3] - m[1] * m[2]) > 0)) return undefined
  const corners = [applyMatrix(m, 0, 0), applyMatrix(m, 1, 0), applyMatrix(m, 0, 1), applyMatrix(m, 1, 1)]
  let minX = Number.POSITIVE_INFINITY
  let minY = Number.POSITIVE_INFINITY
  let maxX = Number.NEGATIVE_INFINITY
  let maxY = Number.NEGATIVE_INFINITY
  for (const [x, y] of corners) {
    minX = Math.min(minX, x)
    maxX = Math.max(maxX, x)
    minY = Math.min(minY, y)
    maxY = Math.max(maxY, y)
  }
  const x0 = Math.max(0, Math.floor(minX * sx))
  const y0 = Math.max(0, Math.floor(minY * sy))
  const x1 = Math.min(cw, Math.ceil(maxX * sx))
  const y1 = Math.min(ch, Math.ceil(maxY * sy))
  if (!(x1 > x0 && y1 > y0)) return undefined
  return { x0, y0, x1, y1 }
}

/** Canvas pixels an image's bounding box covers (what painting it costs). */
const paintedArea = (m: Matrix, cw: number, ch: number, sx: number, sy: number) => {
  const box = boxOf(m, cw, ch, sx, sy)
  return box === undefined ? 0 : (box.x1 - box.x0) * (box.y1 - box.y0)
}

/**
 * The page as displayed, `pageWidth × pageHeight` points, with `placements` painted in order on
 * white: grey, at the resolution of its largest image (at most `limits.maxPixels`). Undefined when
 * no image can be placed (none, or all degenerate). Throws PaintTooLarge before painting anything
 * when the images' bounding boxes add up to more than `limits.maxPaintedPixels` canvas pixels.
 */
export const composePage = (
  placements: ReadonlyArray<Placement>,
  pageWidth: number,
  pageHeight: number,
  limits: ComposeLimits
): GreyRaster | undefined => {
  const canvas = canvasFor(placements, pageWidth, pageHeight, limits.maxPixels)
  if (canvas === undefined) return undefined
  const { width, height, sx, sy } = canvas
  let painted = 0
  for (const p of placements) {
    if (!(p.image.width > 0 && p.image.height > 0)) continue
    painted += paintedArea(p.matrix, width, height, sx, sy)
    if (painted > limits.maxPaintedPixels) throw new PaintTooLarge(painted, limits.maxPaintedPixels)
  }
  const pixels = new Uint8Array(width * height).fill(255)
  for (const p of placements) {
    if (p.image.width > 0 && p.image.height > 0) paint(pixels, width, height, sx, sy, p)
  }
  return { width, height, pixels }
}
