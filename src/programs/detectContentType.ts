/**
 * What an upload is, decided from its bytes (magic numbers), never from what the client says:
 * PDF, JPEG, PNG, or plain UTF-8 text. A declared type is only checked against the detected one.
 */
import { Result, Option } from "effect"
import { UnsupportedMediaType } from "../services/errors.js"
import type { DocumentContentType } from "../services/llm.js"

const PDF = [0x25, 0x50, 0x44, 0x46, 0x2d] // "%PDF-"
const JPEG = [0xff, 0xd8, 0xff]
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

export const ALLOWED_CONTENT_TYPES: ReadonlyArray<DocumentContentType> = ["application/pdf", "image/jpeg", "image/png", "text/plain"]

const startsWith = (bytes: Uint8Array, magic: ReadonlyArray<number>): boolean =>
  bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte)

const utf8 = new TextDecoder("utf-8", { fatal: true })

// C0 controls other than tab, LF and CR, DEL, and C1 controls: a binary file, not text.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/

const isPlainText = (bytes: Uint8Array): boolean => {
  if (bytes.length === 0) return false
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return false
  }
  return !CONTROL.test(text)
}

/** The type the bytes are, or none when they are none of the allowed types. */
export const detectContentType = (bytes: Uint8Array): Option.Option<DocumentContentType> => {
  if (startsWith(bytes, PDF)) return Option.some("application/pdf")
  if (startsWith(bytes, JPEG)) return Option.some("image/jpeg")
  if (startsWith(bytes, PNG)) return Option.some("image/png")
  if (isPlainText(bytes)) return Option.some("text/plain")
  return Option.none()
}

/**
 * A declared media type reduced to its essence: lower case, parameters dropped
 * (`Text/Plain; charset=utf-8` → `text/plain`), the common `image/jpg` alias mapped to `image/jpeg`.
 * `application/octet-stream` (what generic clients send for any file) and an empty value declare nothing.
 */
export const normalizeDeclaredType = (declared: string): Option.Option<string> => {
  const essence = (declared.split(";")[0] ?? "").trim().toLowerCase()
  if (essence === "" || essence === "application/octet-stream") return Option.none()
  return Option.some(essence === "image/jpg" ? "image/jpeg" : essence)
}

/**
 * The detected type of an upload; UnsupportedMediaType (415) when the bytes are none of the
 * allowed types or the declared type, if any, is another one.
 */
export const resolveContentType = (
  bytes: Uint8Array,
  declared?: string
): Result.Result<DocumentContentType, UnsupportedMediaType> => {
  const detected = detectContentType(bytes)
  if (Option.isNone(detected)) {
    return Result.fail(
      new UnsupportedMediaType({
        message: `The document is not one of the supported types (${ALLOWED_CONTENT_TYPES.join(", ")})`
      })
    )
  }
  const claimed = declared === undefined ? Option.none() : normalizeDeclaredType(declared)
  if (Option.isSome(claimed) && claimed.value !== detected.value) {
    return Result.fail(
      new UnsupportedMediaType({ message: "The declared content type does not match the document's content" })
    )
  }
  return Result.succeed(detected.value)
}
