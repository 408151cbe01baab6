/**
 * Wire schemas whose JSON Schema says exactly what the decoder checks, so that the OpenAPI
 * document and the server agree for every generated client and fuzzer:
 * - lengths are counted in code points, as JSON Schema's minLength/maxLength are (Effect's own
 *   length checks count UTF-16 units: an emoji would count twice);
 * - integers in query strings are documented as integers with their bounds and default, not as
 *   the strings they travel as.
 */
import { Schema, SchemaTransformation } from "effect"

/** Code points of `text` (what JSON Schema calls its length). */
export const codePointLength = (text: string): number => {
  let length = 0
  for (const _ of text) length++
  return length
}

/** A string of `minLength` to `maxLength` code points. */
export const Text = (minLength: number, maxLength: number) =>
  Schema.String.check(
    Schema.makeFilter(
      (text: string) => {
        const length = codePointLength(text)
        return length >= minLength && length <= maxLength
      },
      {
        toJsonSchema: () => ({ minLength, maxLength }),
        // Generated values (property tests) are built within the bounds instead of filtered into them.
        arbitraryConstraint: { minCodePoints: minLength, maxCodePoints: maxLength },
        message: `must have ${minLength} to ${maxLength} characters`
      }
    )
  )

/** The text of an integer: digits, an optional sign; never empty. */
export const INTEGER_TEXT = /^[+-]?\d{1,16}$/

/**
 * An integer query parameter: decoded from its text, documented as an integer (openapi.ts).
 * The text is checked first: 4.1.5's NumberFromString decodes "abc" to NaN and FiniteFromString
 * decodes "" to 0, where `?offset=` must be a 400 as it was.
 */
export const IntegerFromString = (options: { readonly minimum: number; readonly maximum?: number }) =>
  Schema.String.check(Schema.isPattern(INTEGER_TEXT)).pipe(
    Schema.decodeTo(
      Schema.Int.check(
        Schema.isGreaterThanOrEqualTo(options.minimum),
        Schema.isLessThanOrEqualTo(options.maximum ?? Number.MAX_SAFE_INTEGER)
      ),
      SchemaTransformation.numberFromString
    )
  )

/** Standard base64 (RFC 4648 §4) with its padding, as the decoder requires (documented; checked by isPaddedBase64). */
export const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

const isBase64Char = (code: number) =>
  (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 43 || code === 47

/**
 * What BASE64_PATTERN says, in one pass: V8's regex engine runs out of stack on that pattern for
 * the multi-megabyte bodies a direct upload carries (~6 MB of base64 threw "Maximum call stack
 * size exceeded", which read as a 400 for a valid upload).
 */
export const isPaddedBase64 = (text: string): boolean => {
  if (text.length % 4 !== 0) return false
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0
  const end = text.length - padding
  for (let i = 0; i < end; i++) if (!isBase64Char(text.charCodeAt(i))) return false
  return true
}

/**
 * Bytes sent as base64 text: at least one byte. The check is on the text, so the document says
 * exactly what is checked (4.1.5 documents a schema from its encoded side and has no override).
 */
export const NonEmptyBytesFromBase64 = (description: string) =>
  Schema.String.check(
    Schema.makeFilter((text: string) => text.length >= 4 && isPaddedBase64(text), {
      toJsonSchema: () => ({ minLength: 4, pattern: BASE64_PATTERN.source, contentEncoding: "base64" }),
      description,
      message: "must be base64 of at least one byte"
    })
  ).pipe(Schema.decodeTo(Schema.Uint8Array, SchemaTransformation.uint8ArrayFromBase64String))

/**
 * An id as a client may send it (a UUID in either case), decoded to its canonical lower-case form:
 * ids are stored lower-case and bound into encryption contexts as stored, so `0E71…` and `0e71…`
 * must name the same row (an upper-case id found the row by PostgreSQL's uuid comparison, then
 * failed to open it under a context built from the text as sent). The encoded side is Schema.String.check(Schema.isUUID()),
 * which takes either case and documents itself as a uuid.
 */
export const IdFromRequest = <S extends Schema.Codec<string, string, never, never>>(id: S) =>
  Schema.String.check(Schema.isUUID()).pipe(
    Schema.decodeTo(
      id,
      SchemaTransformation.transform<string, string>({
        decode: (text) => text.toLowerCase(),
        encode: (canonical) => canonical
      })
    )
  )

/**
 * How often a quiet Server-Sent Events response sends a keep-alive comment: the one interval every
 * stream of the API uses and every proxy in front of it is sized against (deploy/streaming.ts).
 */
export const SSE_KEEP_ALIVE = "15 seconds"
