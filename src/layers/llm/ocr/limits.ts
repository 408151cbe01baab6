/**
 * What OCR reads of one document at most, in a module of its own so that the PDF reader's
 * callers can bound the scans they ask for without loading the OCR module (ocrText.ts).
 */

/**
 * Pixels an image may have: a 12 MP or 24 MP phone photo is within, a 48 MP one is not (jimp's
 * JPEG decoder stops at about 38 MP, its 512 MB working-memory cap; decoding takes 4 bytes a
 * pixel besides). Measured peak memory of reading one image from the Lambda bundle: 464 MiB for
 * a 300-dpi page, 547 MiB for 12 MP, 913 MiB for 24 MP, 1.32 GiB at about 36 MP.
 */
export const OCR_MAX_PIXELS = 36_000_000
/** Images or scanned pages read in one document: a PDF with more pages to OCR fails (scan_pages) before they are decoded. */
export const OCR_MAX_PAGES = 10
