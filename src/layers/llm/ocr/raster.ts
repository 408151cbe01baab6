/**
 * Greyscale rasters for the OCR thread: 8 bits a pixel, row-major. Pure functions over typed
 * arrays (no image library), so each step of preparing a photo for OCR is testable on its own:
 * turning it upright (quarter turns), scaling it to the size the recogniser reads best, finding
 * which way its text lines run, and encoding it as PGM, which the recogniser reads without a
 * decoder of its own.
 */

export interface Grey {
  readonly width: number
  readonly height: number
  /** width × height bytes, 0 = black, 255 = white. */
  readonly pixels: Uint8Array
}

export type QuarterTurn = 0 | 90 | 180 | 270

/** RGBA (as jimp and pdfjs hold pixels) to grey, alpha composited on white (ITU-R BT.601 luma). */
export const greyFromRgba = (width: number, height: number, rgba: Uint8Array | Buffer): Grey => {
  const pixels = new Uint8Array(width * height)
  for (let i = 0, j = 0; i < pixels.length; i++, j += 4) {
    const a = (rgba[j + 3] ?? 255) / 255
    const luma = 0.299 * (rgba[j] ?? 0) + 0.587 * (rgba[j + 1] ?? 0) + 0.114 * (rgba[j + 2] ?? 0)
    pixels[i] = Math.round(luma * a + 255 * (1 - a))
  }
  return { width, height, pixels }
}

/** The raster turned clockwise by a quarter-turn multiple. */
export const rotate = (image: Grey, turn: QuarterTurn): Grey => {
  if (turn === 0) return image
  const { width: w, height: h, pixels: src } = image
  if (turn === 180) {
    const out = new Uint8Array(src.length)
    for (let i = 0; i < src.length; i++) out[i] = src[src.length - 1 - i] ?? 255
    return { width: w, height: h, pixels: out }
  }
  // 90 clockwise: (x, y) → (h - 1 - y, x); 270: (x, y) → (y, w - 1 - x); the result is h wide, w high
  const out = new Uint8Array(src.length)
  for (let y = 0; y < h; y++) {
    const row = y * w
    for (let x = 0; x < w; x++) {
      const v = src[row + x] ?? 255
      if (turn === 90) out[x * h + (h - 1 - y)] = v
      else out[(w - 1 - x) * h + y] = v
    }
  }
  return { width: h, height: w, pixels: out }
}

/**
 * The raster scaled by `factor`: box-averaged when shrinking (every source pixel counts, so
 * thin strokes and decimal points fade rather than vanish), bilinear when enlarging.
 */
export const scale = (image: Grey, factor: number): Grey => {
  if (Math.abs(factor - 1) < 1e-3) return image
  const { width: w, height: h, pixels: src } = image
  const W = Math.max(1, Math.round(w * factor))
  const H = Math.max(1, Math.round(h * factor))
  const out = new Uint8Array(W * H)
  if (factor < 1) {
    const sx = w / W
    const sy = h / H
    for (let Y = 0; Y < H; Y++) {
      const y0 = Math.floor(Y * sy)
      const y1 = Math.max(y0 + 1, Math.min(h, Math.floor((Y + 1) * sy)))
      for (let X = 0; X < W; X++) {
        const x0 = Math.floor(X * sx)
        const x1 = Math.max(x0 + 1, Math.min(w, Math.floor((X + 1) * sx)))
        let sum = 0
        for (let y = y0; y < y1; y++) {
          const row = y * w
          for (let x = x0; x < x1; x++) sum += src[row + x] ?? 255
        }
        out[Y * W + X] = Math.round(sum / ((y1 - y0) * (x1 - x0)))
      }
    }
    return { width: W, height: H, pixels: out }
  }
  for (let Y = 0; Y < H; Y++) {
    const fy = Math.min(h - 1, Math.max(0, (Y + 0.5) / factor - 0.5))
    const y0 = Math.floor(fy)
    const y1 = Math.min(h - 1, y0 + 1)
    const dy = fy - y0
    for (let X = 0; X < W; X++) {
      const fx = Math.min(w - 1, Math.max(0, (X + 0.5) / factor - 0.5))
      const x0 = Math.floor(fx)
      const x1 = Math.min(w - 1, x0 + 1)
      const dx = fx - x0
      const a = src[y0 * w + x0] ?? 255
      const b = src[y0 * w + x1] ?? 255
      const c = src[y1 * w + x0] ?? 255
      const d = src[y1 * w + x1] ?? 255
      out[Y * W + X] = Math.round(a * (1 - dx) * (1 - dy) + b * dx * (1 - dy) + c * (1 - dx) * dy + d * dx * dy)
    }
  }
  return { width: W, height: H, pixels: out }
}

/** The raster as binary PGM (P5): a header and the bytes, which leptonica reads as it is. */
export const toPgm = (image: Grey): Uint8Array => {
  const header = new TextEncoder().encode(`P5\n${image.width} ${image.height}\n255\n`)
  const out = new Uint8Array(header.length + image.pixels.length)
  out.set(header, 0)
  out.set(image.pixels, header.length)
  return out
}

/** Otsu's threshold of the raster's histogram: the grey level that best splits ink from paper. */
export const otsuThreshold = (image: Grey): number => {
  const histogram = new Array<number>(256).fill(0)
  for (const v of image.pixels) histogram[v] = (histogram[v] ?? 0) + 1
  const total = image.pixels.length
  let sumAll = 0
  for (let t = 0; t < 256; t++) sumAll += t * (histogram[t] ?? 0)
  let sumBelow = 0
  let countBelow = 0
  let best = 127
  let bestVariance = -1
  for (let t = 0; t < 256; t++) {
    countBelow += histogram[t] ?? 0
    if (countBelow === 0) continue
    const countAbove = total - countBelow
    if (countAbove === 0) break
    sumBelow += t * (histogram[t] ?? 0)
    const meanBelow = sumBelow / countBelow
    const meanAbove = (sumAll - sumBelow) / countAbove
    const variance = countBelow * countAbove * (meanBelow - meanAbove) ** 2
    if (variance > bestVariance) {
      bestVariance = variance
      best = t
    }
  }
  return best
}

/**
 * Which way the text lines run: a page of horizontal lines has rows of ink and rows of paper, so
 * the ink per row varies far more than the ink per column; turned a quarter, the other way round.
 * Each row and column is compared with its local surroundings (a moving average), so a shadow or
 * a gradient across the page does not count as structure. Returns the ratio of the two variations
 * (> 1: lines run across; < 1: lines run down).
 */
export const lineDirection = (image: Grey): number => {
  const { width: w, height: h, pixels } = image
  // dark relative to a local background: a block mean over a window about the size of a few lines
  const threshold = otsuThreshold(image)
  const rows = new Float64Array(h)
  const cols = new Float64Array(w)
  for (let y = 0; y < h; y++) {
    const row = y * w
    for (let x = 0; x < w; x++) {
      if ((pixels[row + x] ?? 255) <= threshold) {
        rows[y] = (rows[y] ?? 0) + 1
        cols[x] = (cols[x] ?? 0) + 1
      }
    }
  }
  const structure = (profile: Float64Array, window: number): number => {
    let total = 0
    const prefix = new Float64Array(profile.length + 1)
    for (let i = 0; i < profile.length; i++) prefix[i + 1] = (prefix[i] ?? 0) + (profile[i] ?? 0)
    for (let i = 0; i < profile.length; i++) {
      const lo = Math.max(0, i - window)
      const hi = Math.min(profile.length, i + window + 1)
      const mean = ((prefix[hi] ?? 0) - (prefix[lo] ?? 0)) / (hi - lo)
      total += ((profile[i] ?? 0) - mean) ** 2
    }
    return total / Math.max(1, profile.length)
  }
  const window = Math.max(4, Math.round(Math.min(w, h) / 40))
  const across = structure(rows, window)
  const down = structure(cols, window)
  return (across + 1e-9) / (down + 1e-9)
}

/** A rectangle of the raster (clamped to it), e.g. the middle band the orientation is probed on. */
export const crop = (image: Grey, left: number, top: number, width: number, height: number): Grey => {
  const x0 = Math.max(0, Math.min(image.width - 1, Math.round(left)))
  const y0 = Math.max(0, Math.min(image.height - 1, Math.round(top)))
  const W = Math.max(1, Math.min(image.width - x0, Math.round(width)))
  const H = Math.max(1, Math.min(image.height - y0, Math.round(height)))
  const out = new Uint8Array(W * H)
  for (let y = 0; y < H; y++) out.set(image.pixels.subarray((y0 + y) * image.width + x0, (y0 + y) * image.width + x0 + W), y * W)
  return { width: W, height: H, pixels: out }
}

/**
 * How grainy the raster is: the mean absolute difference between horizontal neighbours over a
 * window at its centre (at most 512 × 512). Print on paper is mostly flat with sharp strokes
 * (under 20 even in a noisy phone photo); noise, or a photo of a textured surface, is far above
 * (uniform noise: about 85).
 */
export const graininess = (image: Grey): number => {
  const size = 512
  const w = Math.min(size, image.width)
  const h = Math.min(size, image.height)
  const x0 = Math.floor((image.width - w) / 2)
  const y0 = Math.floor((image.height - h) / 2)
  let total = 0
  let count = 0
  for (let y = y0; y < y0 + h; y++) {
    const row = y * image.width
    for (let x = x0 + 1; x < x0 + w; x++) {
      total += Math.abs((image.pixels[row + x] ?? 255) - (image.pixels[row + x - 1] ?? 255))
      count++
    }
  }
  return count === 0 ? 0 : total / count
}

/**
 * The band across the raster, 1/`parts` of its height, that holds the most ink (dark by Otsu's
 * threshold): where a short report's lines are, when the middle of the page is blank.
 */
export const inkiestBand = (image: Grey, parts: number): Grey => {
  const threshold = otsuThreshold(image)
  const rows = new Float64Array(image.height + 1)
  for (let y = 0; y < image.height; y++) {
    let dark = 0
    const row = y * image.width
    for (let x = 0; x < image.width; x++) if ((image.pixels[row + x] ?? 255) <= threshold) dark++
    rows[y + 1] = (rows[y] ?? 0) + dark
  }
  const height = Math.max(1, Math.round(image.height / parts))
  let best = 0
  let bestInk = -1
  for (let top = 0; top + height <= image.height; top += Math.max(1, Math.floor(height / 4))) {
    const ink = (rows[top + height] ?? 0) - (rows[top] ?? 0)
    if (ink > bestInk) {
      bestInk = ink
      best = top
    }
  }
  return crop(image, 0, best, image.width, height)
}
