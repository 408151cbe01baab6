/**
 * The document's lines with where each is printed: what every reader reports a result, a reading
 * or an unread line by (page and line, as the model is asked to give them too).
 */

/** A line of the document and where it is. */
export interface PositionedLine {
  readonly text: string
  /** 1-based; a form feed starts a new page. */
  readonly page: number
  /** 1-based, on its page. */
  readonly line: number
}

/** The document's lines with their page and line numbers (a form feed starts a new page). */
export const positionLines = (text: string): Array<PositionedLine> => {
  const out: Array<PositionedLine> = []
  let page = 1
  let line = 0
  for (const raw of text.split("\n")) {
    const parts = raw.split("\f")
    parts.forEach((part, i) => {
      if (i > 0) {
        page++
        line = 0
      }
      // a form feed alone on its line only turns the page
      if (i > 0 && part.trim() === "" && parts.length === 2 && raw.trim() === "") return
      line++
      out.push({ text: part, page, line })
    })
  }
  return out
}
