/**
 * Text items laid out again as lines: items are grouped by baseline, sorted by x, and wide gaps
 * become runs of spaces proportional to the distance, so that column layouts survive and the
 * same line parser reads a PDF and its plain-text twin. Pure (no pdfjs), so it can be tested
 * without a PDF; the PDF reader's worker thread runs it on each page.
 *
 * It is written for hostile input too: no spread of an item array into Math.min/max (a page of
 * 100 000 items overflowed the stack), a line starts no further right than MAX_COLUMN whatever x
 * a document gives, and the text it builds stops at `maxChars`.
 */

/** One run of text as pdfjs places it: baseline origin (x, y) in page space, advance width, glyph height. */
export interface PositionedText {
  readonly text: string
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
  /** How sure the reader is of the text, 0–100 (OCR's words; absent for a text layer). */
  readonly confidence?: number
}

/**
 * No line is indented or padded beyond this column. A page 842 points wide in a 5-point font is
 * about 170 columns; a document that places text at x = 10⁹ would otherwise ask for 10⁸ spaces.
 */
export const MAX_COLUMN = 1000

/** The laid-out text would be longer than the `maxChars` it was given. */
export class TextTooLong extends Error {
  constructor(readonly maxChars: number) {
    super(`The text is longer than ${maxChars} characters.`)
    this.name = "TextTooLong"
  }
}

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

/** A laid-out line and the items it was made of (none for a blank line). */
export interface LaidOutLine {
  readonly text: string
  readonly items: ReadonlyArray<PositionedText>
}

/**
 * Lays text items out as lines of characters. Columns land at (x - left margin) / median
 * character width, which reproduces monospaced layouts exactly and keeps proportional ones
 * aligned closely enough for column parsing. Throws TextTooLong as soon as the text it is
 * building passes `maxChars` (never after building all of it).
 */
export const layoutText = (items: ReadonlyArray<PositionedText>, maxChars = Number.POSITIVE_INFINITY): string =>
  layoutLines(items, maxChars).map((line) => line.text).join("\n")

/** layoutText's lines, each with the items it holds (what OCR's confidence is kept by). */
export const layoutLines = (
  items: ReadonlyArray<PositionedText>,
  maxChars = Number.POSITIVE_INFINITY,
  /**
   * A gap of this many character widths or more is a column gap (laid out by column); a smaller
   * one is a space. A text layer places words exactly (1.5); OCR's boxes of proportional print
   * leave wider gaps between the words of one name, so it passes more.
   */
  columnGap = 1.5
): Array<LaidOutLine> => {
  const visible = items.filter(
    (item) => item.text.trim() !== "" && Number.isFinite(item.x) && Number.isFinite(item.y)
  )
  if (visible.length === 0) return []
  const charWidth =
    median(visible.filter((i) => i.width > 0).map((i) => i.width / Math.max(1, charCount(i.text)))) ?? 5
  const fallbackHeight = charWidth * 1.8
  const heightOf = (item: PositionedText) => (item.height > 0 ? item.height : fallbackHeight)
  // a loop, not Math.min(...xs): spreading a large array passes every element as an argument
  let left = Number.POSITIVE_INFINITY
  for (const item of visible) if (item.x < left) left = item.x

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

  const out: Array<LaidOutLine> = []
  let length = 0
  const tooLong = (more: number) => length + more > maxChars
  lines.forEach((line, index) => {
    const prev = lines[index - 1]
    // a gap of well over one line's spacing was an empty line (or a paragraph break) on the page
    if (prev !== undefined && prev.y - line.y > 1.6 * lineSpacing) {
      out.push({ text: "", items: [] })
      length += 1
    }
    const runs = [...line.items].sort((a, b) => a.x - b.x)
    const base = line.items.reduce((a, b) => (heightOf(b) > heightOf(a) ? b : a))
    const baseHeight = heightOf(base)
    let text = ""
    // characters (code points) in `text` so far, kept as it grows: counting them again per run is quadratic
    let textChars = 0
    let end = left
    for (const run of runs) {
      const column = Math.min(MAX_COLUMN, Math.max(0, Math.round((run.x - left) / charWidth)))
      const gap = run.x - end
      let spaces = 0
      if (text === "") spaces = column
      else if (gap >= columnGap * charWidth) spaces = Math.max(2, column - textChars)
      else if (gap > 0.2 * charWidth) spaces = 1
      const raised = heightOf(run) < 0.8 * baseHeight && run.y > base.y + 0.15 * baseHeight && text !== ""
      const piece = " ".repeat(spaces) + (raised && spaces === 0 ? "^" : "") + run.text
      if (tooLong(text.length + piece.length)) throw new TextTooLong(maxChars)
      text += piece
      textChars += spaces + (raised && spaces === 0 ? 1 : 0) + charCount(run.text)
      end = Math.max(end, run.x + Math.max(run.width, 0))
    }
    const trimmed = text.trimEnd()
    out.push({ text: trimmed, items: runs })
    length += trimmed.length + 1
  })
  return out
}
