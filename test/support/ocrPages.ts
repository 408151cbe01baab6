/**
 * OCR pages made from text, for testing what the reader does with OCR's output without running
 * OCR: each word placed where a monospaced page would print it (10 px a character, 24 px a line),
 * with a confidence (90 unless a word says otherwise with "word@confidence").
 */
import type { OcrPage, OcrWord } from "../../src/layers/llm/ocr/ocrRead.js"

export const ocrPageFromText = (text: string, page = 1): OcrPage => {
  const words: Array<OcrWord> = []
  text.split("\n").forEach((line, row) => {
    for (const m of line.matchAll(/\S+/g)) {
      const [word = "", confidence] = m[0].split(/@(?=\d+$)/)
      const left = 100 + m.index * 10
      const baseline = 100 + row * 24
      words.push({
        text: word,
        left,
        top: baseline - 16,
        right: left + word.length * 10 - 2,
        bottom: baseline + 4,
        baseline,
        confidence: confidence === undefined ? 90 : Number(confidence)
      })
    }
  })
  return { page, width: 1275, height: 1650, turn: 0, skewDegrees: 0, confidence: 90, words, elapsedMs: 0 }
}
