/**
 * A PDF writer for tests: numbered objects, streams with their /Length, a classic xref table
 * and a trailer; enough structure for pdfjs. Hostile documents are built from the same parts
 * (see test/layers/llm/pdfHostile.test.ts), so every byte of them is visible in the test.
 */
import { deflateSync } from "node:zlib"

/** A stream object: its dictionary entries (without /Length, which the writer adds) and its bytes as stored. */
export interface PdfStream {
  readonly dict: string
  readonly data: Uint8Array
}

/** Object n + 1 of a document: a dictionary, array or other object as text, or a stream. */
export type PdfObject = string | PdfStream

export interface PdfOptions {
  /** The catalog's object number (default 1). */
  readonly root?: number
  /** More trailer entries, e.g. an /Encrypt dictionary. */
  readonly trailer?: string
}

const latin1 = (s: string) => Buffer.from(s, "latin1")

/** The document's bytes: header, objects 1…n, xref table, trailer. */
export const writePdf = (objects: ReadonlyArray<PdfObject>, options: PdfOptions = {}): Uint8Array => {
  const parts: Array<Uint8Array> = [latin1("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")]
  let length = parts[0]!.byteLength
  const offsets: Array<number> = []
  const push = (part: Uint8Array) => {
    parts.push(part)
    length += part.byteLength
  }
  objects.forEach((object, i) => {
    offsets.push(length)
    if (typeof object === "string") {
      push(latin1(`${i + 1} 0 obj\n${object}\nendobj\n`))
    } else {
      push(latin1(`${i + 1} 0 obj\n<< ${object.dict} /Length ${object.data.byteLength} >>\nstream\n`))
      push(object.data)
      push(latin1("\nendstream\nendobj\n"))
    }
  })
  const xref = length
  const entries = offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join("")
  push(
    latin1(
      `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${entries}` +
        `trailer\n<< /Size ${objects.length + 1} /Root ${options.root ?? 1} 0 R${options.trailer ?? ""} >>\nstartxref\n${xref}\n%%EOF\n`
    )
  )
  return new Uint8Array(Buffer.concat(parts))
}

/** Deflated bytes, as /FlateDecode stores them. */
export const flate = (data: Uint8Array | string): Uint8Array =>
  new Uint8Array(deflateSync(typeof data === "string" ? latin1(data) : data, { level: 9 }))

const escape = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`)

/** A page's content stream: lines of 9-point Courier (font /F1) from the top left down (`top`: the first line's baseline). */
export const courierLines = (lines: ReadonlyArray<string>, top = 800): string =>
  ["BT", "/F1 9 Tf", "11 TL", `40 ${top} Td`, ...lines.map((line) => `(${escape(line)}) Tj T*`), "ET"].join("\n")

/** The height of an A4-wide page that holds `count` lines of courierLines: A4's, or taller for a long page. */
export const pageHeightFor = (count: number): number => Math.max(842, 42 + 11 * count + 20)

/**
 * The usual document skeleton: catalog (1), page tree (2), Courier as /F1 (3), then one page
 * object and one content stream per entry of `contents`. `resources` replaces the pages'
 * resource dictionary's entries (default `/Font << /F1 3 0 R >>`); `extra` objects come after
 * the pages (numbered from 4 + 2 × pages); `count` is what the page tree claims; `heights` the pages' heights.
 */
export const pagesPdf = (
  contents: ReadonlyArray<PdfStream>,
  options: {
    readonly resources?: string
    readonly extra?: ReadonlyArray<PdfObject>
    readonly count?: number
    /** Each page's height in points (default A4's 842). */
    readonly heights?: ReadonlyArray<number>
  } = {}
): Uint8Array => {
  const pageId = (i: number) => 4 + 2 * i
  const objects: Array<PdfObject> = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    `<< /Type /Pages /Kids [${contents.map((_, i) => `${pageId(i)} 0 R`).join(" ")}] /Count ${options.count ?? contents.length} >>`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>"
  ]
  contents.forEach((content, i) => {
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 ${options.heights?.[i] ?? 842}] /Resources << ${options.resources ?? "/Font << /F1 3 0 R >>"} >> /Contents ${pageId(i) + 1} 0 R >>`,
      content
    )
  })
  return writePdf([...objects, ...(options.extra ?? [])])
}

/** A content stream as stored: deflated unless `raw`. */
export const contentStream = (content: string | Uint8Array, raw = false): PdfStream =>
  raw
    ? { dict: "", data: typeof content === "string" ? latin1(content) : content }
    : { dict: "/Filter /FlateDecode", data: flate(content) }
