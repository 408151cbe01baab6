/**
 * The OCR thread's raster steps, without OCR: quarter turns compose like rotations, scaling
 * keeps proportions, the line-direction measure tells rows of text from columns, PGM is what
 * leptonica reads.
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  crop,
  type Grey,
  greyFromRgba,
  inkiestBand,
  lineDirection,
  otsuThreshold,
  type QuarterTurn,
  rotate,
  scale,
  toPgm
} from "../../../../src/layers/llm/ocr/raster.js"

const raster = fc
  .record({ width: fc.integer({ min: 1, max: 12 }), height: fc.integer({ min: 1, max: 12 }) })
  .chain(({ width, height }) =>
    fc.uint8Array({ minLength: width * height, maxLength: width * height }).map((pixels): Grey => ({ width, height, pixels }))
  )
const turn = fc.constantFrom<QuarterTurn>(0, 90, 180, 270)

/** Text-like stripes: `lines` dark rows (or columns) of `thickness`, on white. */
const stripes = (width: number, height: number, across: boolean): Grey => {
  const pixels = new Uint8Array(width * height).fill(250)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const along = across ? y : x
      const other = across ? x : y
      // lines of "words": dark in bands of 6 every 16, broken by gaps (spaces) that fall differently on each line
      const line = Math.floor(along / 16)
      if (along % 16 < 6 && (other + line * 7) % 13 > 3) pixels[y * width + x] = 20
    }
  }
  return { width, height, pixels }
}

describe("raster", () => {
  it("four quarter turns are the identity, and 90 then 270 undoes itself", () => {
    fc.assert(
      fc.property(raster, (image) => {
        const four = rotate(rotate(rotate(rotate(image, 90), 90), 90), 90)
        expect(four).toEqual(image)
        expect(rotate(rotate(image, 90), 270)).toEqual(image)
        expect(rotate(rotate(image, 180), 180)).toEqual(image)
      })
    )
  })

  it("a quarter turn swaps the sides, keeps every pixel, and 90° clockwise puts the top-left corner top-right", () => {
    fc.assert(
      fc.property(raster, turn, (image, t) => {
        const turned = rotate(image, t)
        const swapped = t === 90 || t === 270
        expect([turned.width, turned.height]).toEqual(swapped ? [image.height, image.width] : [image.width, image.height])
        expect([...turned.pixels].sort()).toEqual([...image.pixels].sort())
      })
    )
    const corner: Grey = { width: 3, height: 2, pixels: Uint8Array.from([0, 255, 255, 255, 255, 255]) }
    expect(rotate(corner, 90).pixels[1]).toBe(0) // 2 wide now: top-right is index 1
    expect(rotate(corner, 270).pixels[2 * 2]).toBe(0) // bottom-left of a 2×3
  })

  it("scaling gives the rounded size, and a uniform image stays uniform (box average and bilinear)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0.2, max: 3, noNaN: true }),
        fc.integer({ min: 0, max: 255 }),
        (width, height, factor, level) => {
          const image: Grey = { width, height, pixels: new Uint8Array(width * height).fill(level) }
          const scaled = scale(image, factor)
          if (Math.abs(factor - 1) >= 1e-3) {
            expect(scaled.width).toBe(Math.max(1, Math.round(width * factor)))
            expect(scaled.height).toBe(Math.max(1, Math.round(height * factor)))
          }
          expect(scaled.pixels.every((v) => v === level)).toBe(true)
        }
      )
    )
  })

  it("shrinking keeps a decimal point's ink (averaged, not dropped)", () => {
    const image: Grey = { width: 8, height: 8, pixels: new Uint8Array(64).fill(255) }
    image.pixels[3 * 8 + 3] = 0
    const half = scale(image, 0.5)
    expect(Math.min(...half.pixels)).toBeLessThan(255)
  })

  it("RGBA becomes luma, composited on white", () => {
    const rgba = Uint8Array.from([255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 255])
    expect([...greyFromRgba(3, 1, rgba).pixels]).toEqual([76, 255, 0])
  })

  it("PGM is a P5 header and the bytes", () => {
    const pgm = toPgm({ width: 2, height: 1, pixels: Uint8Array.from([7, 9]) })
    expect(new TextDecoder().decode(pgm.subarray(0, 11))).toBe("P5\n2 1\n255\n")
    expect([...pgm.subarray(11)]).toEqual([7, 9])
  })

  it("Otsu's threshold falls between ink and paper", () => {
    const pixels = new Uint8Array(100).fill(230)
    pixels.fill(30, 0, 20)
    const t = otsuThreshold({ width: 10, height: 10, pixels })
    expect(t).toBeGreaterThanOrEqual(30)
    expect(t).toBeLessThan(230)
  })

  it("line direction: rows of text read as across, the same turned a quarter as down", () => {
    const across = stripes(200, 160, true)
    expect(lineDirection(across)).toBeGreaterThan(1.3)
    expect(lineDirection(rotate(across, 90))).toBeLessThan(1 / 1.3)
    // a shadow across the page is not structure
    const shaded = { ...across, pixels: across.pixels.map((v, i) => Math.max(0, v - Math.floor((i % 200) / 4))) }
    expect(lineDirection(shaded)).toBeGreaterThan(1.3)
  })

  it("the inkiest band is where the lines are, not the middle", () => {
    const page = stripes(100, 300, true)
    // only the top fifth printed
    const pixels = page.pixels.map((v, i) => (i < 100 * 60 ? v : 250))
    const band = inkiestBand({ ...page, pixels }, 3)
    expect(band.height).toBe(100)
    expect(Math.min(...band.pixels)).toBeLessThan(100)
    expect(band.pixels.subarray(0, 100 * 40).some((v) => v < 100)).toBe(true)
  })

  it("crop is clamped to the raster", () => {
    const image: Grey = { width: 4, height: 4, pixels: Uint8Array.from({ length: 16 }, (_, i) => i) }
    expect(crop(image, 1, 1, 2, 2)).toEqual({ width: 2, height: 2, pixels: Uint8Array.from([5, 6, 9, 10]) })
    expect(crop(image, 3, 3, 10, 10)).toEqual({ width: 1, height: 1, pixels: Uint8Array.from([15]) })
  })
})
