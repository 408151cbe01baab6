/**
 * Hostile PDFs (issue 15 #7: a 122 KB PDF that inflated to 40 MB timed /health out, took the
 * process to 1 GB and overflowed the stack in the layout). fast-check generates documents built
 * by hand (test/support/pdf.ts): Flate bombs in a page's content, in a chain of two filters and
 * in an embedded font program; page trees of thousands of pages; content streams of tens of
 * thousands of text-show operators; and valid documents truncated or with bytes, the xref table
 * or startxref garbled. Whatever the document, reading it ends in text or a typed, permanent
 * failure (DocumentUnreadable, DocumentTooComplex), never a defect, and the main thread's event
 * loop keeps ticking meanwhile (the reading happens in a worker thread).
 *
 * PDF_HOSTILE_RUNS documents (default 10; each starts a reader thread: about 2–5 s on 2 cores).
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import fc from "fast-check"
import { layoutText, MAX_COLUMN, type PositionedText } from "../../../src/layers/llm/pdfLayout.js"
import { extractPdfText, PDF_MAX_DECODED_BYTES, type PdfTextOptions } from "../../../src/layers/llm/pdfText.js"
import { isTransient } from "../../../src/services/errors.js"
import { contentStream, courierLines, flate, pagesPdf } from "../../support/pdf.js"

const RUNS = Number(process.env.PDF_HOSTILE_RUNS ?? 10)
const MIB = 1024 * 1024
/** How long the main thread may go without running a 10 ms timer while a document is read. */
const MAX_EVENT_LOOP_GAP_MS = 1_000
/** Floods are generated against a lower item limit than the default, so that each run takes seconds, not ten. */
const FLOOD_ITEM_LIMIT = 20_000

const LAB_LINES = [
  "COMPLETE BLOOD COUNT",
  "Hemoglobin                 11.2   L   g/dL      12.0 - 16.0",
  "Sodium                     139        mmol/L    135 - 145",
  "Potassium                  4.1        mmol/L    3.5 - 5.1"
]

// ---------------------------------------------------------------------------------------------
// What a reading may end in, and how the main thread fared meanwhile

interface Reading {
  readonly exit: Exit.Exit<string, unknown>
  /** The longest the main thread's 10 ms interval went without firing, in ms. */
  readonly maxGapMs: number
}

const read = async (bytes: Uint8Array, options: PdfTextOptions = {}): Promise<Reading> => {
  let last = performance.now()
  let maxGapMs = 0
  const timer = setInterval(() => {
    const now = performance.now()
    maxGapMs = Math.max(maxGapMs, now - last)
    last = now
  }, 10)
  try {
    const exit = await Effect.runPromiseExit(extractPdfText(bytes, options))
    maxGapMs = Math.max(maxGapMs, performance.now() - last)
    return { exit, maxGapMs }
  } finally {
    clearInterval(timer)
  }
}

const failureOf = (exit: Exit.Exit<string, unknown>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

const describeExit = (exit: Exit.Exit<string, unknown>) =>
  Exit.isSuccess(exit) ? `text (${exit.value.length} characters)` : Cause.pretty(exit.cause).split("\n")[0]

/** Text, or a typed failure that is not worth retrying; never a defect or an interruption. */
const expectSettled = ({ exit, maxGapMs }: Reading, label: string) => {
  expect(maxGapMs, `${label}: the main thread's event loop stalled`).toBeLessThan(MAX_EVENT_LOOP_GAP_MS)
  if (Exit.isSuccess(exit)) {
    expect(typeof exit.value).toBe("string")
    return
  }
  const error = failureOf(exit) as { _tag?: string } | undefined
  expect(error === undefined ? `not a typed failure: ${Cause.pretty(exit.cause)}` : error._tag, label).toMatch(
    /^(DocumentUnreadable|DocumentTooComplex)$/
  )
  expect(isTransient(error), `${label}: ${error?._tag} must not be retried`).toBe(false)
}

const expectTooComplex = (reading: Reading, limit: string, label: string) => {
  expectSettled(reading, label)
  expect(
    { outcome: describeExit(reading.exit), limit: (failureOf(reading.exit) as { limit?: string } | undefined)?.limit },
    label
  ).toMatchObject({ limit })
}

// ---------------------------------------------------------------------------------------------
// Hostile documents

const bombs = new Map<number, Uint8Array>()
/** A page's worth of real text, then `mib` MiB of spaces: deflated, about 1 KB per MiB. */
const bombBytes = (mib: number) => {
  let deflated = bombs.get(mib)
  if (deflated === undefined) {
    const text = Buffer.from(`${courierLines(LAB_LINES)}\n`, "latin1")
    deflated = flate(Buffer.concat([text, Buffer.alloc(mib * MIB, 0x20)]))
    bombs.set(mib, deflated)
  }
  return deflated
}

type Hostile =
  | { readonly kind: "bomb"; readonly where: "content" | "chained" | "font"; readonly mib: number }
  | { readonly kind: "pages"; readonly count: number }
  | { readonly kind: "flood"; readonly operators: number }
  | { readonly kind: "garbled"; readonly damage: Damage }

type Damage =
  | { readonly _tag: "truncate"; readonly at: number }
  | { readonly _tag: "bytes"; readonly writes: ReadonlyArray<{ readonly at: number; readonly byte: number }> }
  | { readonly _tag: "xref"; readonly junk: Uint8Array }
  | { readonly _tag: "startxref"; readonly offset: number }

/** A TrueType font whose program (FontFile2) is the bomb: pdfjs decodes it to map the page's glyphs. */
const fontBomb = (mib: number) =>
  pagesPdf([contentStream("BT /F2 9 Tf 40 800 Td (Sodium 139 mmol/L) Tj ET")], {
    resources: "/Font << /F1 3 0 R /F2 6 0 R >>",
    extra: [
      "<< /Type /Font /Subtype /TrueType /BaseFont /Bomb /FirstChar 32 /LastChar 126 /FontDescriptor 7 0 R >>",
      "<< /Type /FontDescriptor /FontName /Bomb /Flags 32 /FontBBox [0 0 1000 1000] /ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 /FontFile2 8 0 R >>",
      { dict: "/Filter /FlateDecode", data: bombBytes(mib) }
    ]
  })

/** `n` text-show operators, each at a place of its own, so that each is a text item of its own. */
const floodContent = (n: number) =>
  Array.from({ length: n }, (_, i) => `BT /F1 9 Tf ${40 + (i % 40) * 13} ${800 - (Math.floor(i / 40) % 70) * 11} Td (v) Tj ET`).join("\n")

const validDocument = pagesPdf([contentStream(courierLines(LAB_LINES)), contentStream(courierLines(LAB_LINES), true)])

const lastIndexOf = (bytes: Uint8Array, text: string) => Buffer.from(bytes).lastIndexOf(Buffer.from(text, "latin1"))

const damaged = (damage: Damage): Uint8Array => {
  const bytes = new Uint8Array(validDocument)
  switch (damage._tag) {
    case "truncate":
      return bytes.slice(0, damage.at % bytes.length)
    case "bytes":
      for (const { at, byte } of damage.writes) bytes[at % bytes.length] = byte
      return bytes
    case "xref": {
      const xref = lastIndexOf(bytes, "xref\n0 ")
      const startxref = lastIndexOf(bytes, "startxref")
      bytes.set(damage.junk.subarray(0, Math.max(0, startxref - xref)), xref)
      return bytes
    }
    case "startxref": {
      const at = lastIndexOf(bytes, "startxref")
      return new Uint8Array(Buffer.concat([Buffer.from(bytes.subarray(0, at)), Buffer.from(`startxref\n${damage.offset}\n%%EOF\n`, "latin1")]))
    }
  }
}

const build = (hostile: Hostile): Uint8Array => {
  switch (hostile.kind) {
    case "bomb":
      switch (hostile.where) {
        case "content":
          return pagesPdf([{ dict: "/Filter /FlateDecode", data: bombBytes(hostile.mib) }])
        case "chained":
          return pagesPdf([{ dict: "/Filter [/FlateDecode /FlateDecode]", data: flate(bombBytes(hostile.mib)) }])
        case "font":
          return fontBomb(hostile.mib)
      }
      break
    case "pages":
      return pagesPdf(Array.from({ length: hostile.count }, (_, i) => contentStream(courierLines([`Page ${i + 1}`]), true)))
    case "flood":
      return pagesPdf([contentStream(floodContent(hostile.operators))])
    case "garbled":
      return damaged(hostile.damage)
  }
}

// Decoded sizes well over the budget (a stream of N decoded bytes costs 2N–4N of it).
const overBudgetMib = Math.ceil(PDF_MAX_DECODED_BYTES / MIB / 2) + 8

const hostileArbitrary: fc.Arbitrary<Hostile> = fc.oneof(
  fc.record({
    kind: fc.constant("bomb" as const),
    where: fc.constantFrom("content" as const, "chained" as const, "font" as const),
    mib: fc.constantFrom(overBudgetMib, overBudgetMib * 2)
  }),
  fc.record({ kind: fc.constant("pages" as const), count: fc.integer({ min: 51, max: 3_000 }) }),
  fc.record({ kind: fc.constant("flood" as const), operators: fc.integer({ min: FLOOD_ITEM_LIMIT + 1, max: 3 * FLOOD_ITEM_LIMIT }) }),
  fc.record({
    kind: fc.constant("garbled" as const),
    damage: fc.oneof(
      fc.record({ _tag: fc.constant("truncate" as const), at: fc.nat() }),
      fc.record({
        _tag: fc.constant("bytes" as const),
        writes: fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 40 })
      }),
      fc.record({ _tag: fc.constant("xref" as const), junk: fc.uint8Array({ minLength: 1, maxLength: 400 }) }),
      fc.record({ _tag: fc.constant("startxref" as const), offset: fc.oneof(fc.nat(), fc.integer({ min: -1_000, max: -1 })) })
    )
  })
)

const label = (hostile: Hostile) => JSON.stringify(hostile, (_, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))

describe("hostile PDFs", () => {
  it("property: text or a typed, permanent failure, never a defect; over-limit documents fail with the limit they broke; the event loop keeps ticking", async () => {
    await fc.assert(
      fc.asyncProperty(hostileArbitrary, async (hostile) => {
        const reading = await read(build(hostile), { maxTextItems: FLOOD_ITEM_LIMIT })
        const name = label(hostile)
        switch (hostile.kind) {
          case "bomb":
            return expectTooComplex(reading, "decoded_bytes", name)
          case "pages":
            return expectTooComplex(reading, "pages", name)
          case "flood":
            return expectTooComplex(reading, "text_items", name)
          case "garbled":
            return expectSettled(reading, name)
        }
      }),
      { numRuns: RUNS }
    )
  }, 60_000 + RUNS * 20_000)

  it("at the default limits, hundreds of thousands of text-show operators stop at the item limit while the event loop keeps ticking", async () => {
    const reading = await read(pagesPdf([contentStream(floodContent(250_000))]))
    expectTooComplex(reading, "text_items", "250 000 operators")
  }, 90_000)

  it("the documents it is for still read: the valid document, a 10 MiB stream (within the budget), a page with a 48 MiB image", async () => {
    const valid = await read(validDocument)
    expectSettled(valid, "valid")
    expect(Exit.isSuccess(valid.exit) && valid.exit.value).toContain("Hemoglobin                 11.2   L   g/dL")
    const within = await read(pagesPdf([{ dict: "/Filter /FlateDecode", data: bombBytes(10) }]))
    expectSettled(within, "10 MiB")
    expect(Exit.isSuccess(within.exit) && within.exit.value).toContain("Sodium")
    // a scan with a text layer: pdfjs does not decode images to read text, so they cost nothing of the budget
    const side = 4096
    const image = {
      dict: `/Type /XObject /Subtype /Image /Width ${side} /Height ${side} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode`,
      data: flate(Buffer.alloc(side * side * 3, 0x80))
    }
    const scanned = await read(
      pagesPdf([contentStream(`q 500 0 0 500 40 200 cm /Im1 Do Q\n${courierLines(LAB_LINES)}`)], {
        resources: "/Font << /F1 3 0 R >> /XObject << /Im1 6 0 R >>",
        extra: [image]
      })
    )
    expectSettled(scanned, "image")
    expect(Exit.isSuccess(scanned.exit) && scanned.exit.value).toContain("Potassium")
  }, 60_000)

  it("a thread that runs out of its heap ends in DocumentTooComplex memory, not a crash of the process", async () => {
    // 24 MB hold pdfjs (about 12 MB do not), not a quarter of a million text items
    const reading = await read(pagesPdf([contentStream(floodContent(250_000))]), {
      heapMb: 24,
      maxTextItems: Number.MAX_SAFE_INTEGER,
      maxTextChars: Number.MAX_SAFE_INTEGER,
      timeout: "60 seconds"
    })
    expectTooComplex(reading, "memory", "24 MB heap")
  }, 90_000)
})

describe("layoutText on hostile items", () => {
  const item = (text: string, x: number, y: number): PositionedText => ({ text, x, y, width: 5 * text.length, height: 9 })

  it("200 000 items on one page: no spread into Math.min (which overflows the stack)", () => {
    const items = Array.from({ length: 200_000 }, (_, i) => item("v", 40 + (i % 40) * 13, 800 - Math.floor(i / 40) * 11))
    const text = layoutText(items)
    expect(text.split("\n")).toHaveLength(5_000)
  })

  it("text placed absurdly far right is indented by at most MAX_COLUMN, and the text stops at maxChars", () => {
    const far = layoutText([item("a", 0, 700), item("b", 1e12, 700), item("c", 1e15, 680)])
    expect(far.split("\n").map((line) => line.length)).toEqual([1 + MAX_COLUMN, 1 + MAX_COLUMN])
    const lines = Array.from({ length: 1_000 }, (_, i) => item("x".repeat(50), 0, 800 - i * 11))
    expect(() => layoutText(lines, 10_000)).toThrow(/longer than 10000 characters/)
    expect(layoutText(lines, 100_000).length).toBeLessThanOrEqual(100_000)
  })
})
