/**
 * Conditional GETs (RFC 9110 §8.8.3, §13.1.2): a strong entity tag for an answer, and whether a
 * request's If-None-Match matches it. An answer that may be kept by the client but must not be
 * shown stale (a plan just upgraded) says `Cache-Control: private, no-cache`: the client keeps it,
 * asks again before every use with If-None-Match, and is answered 304 without a body while the tag
 * still holds.
 */
import { createHash } from "node:crypto"

/** Private (no shared cache may keep it), and revalidated before every use (never shown stale). */
export const REVALIDATE_EVERY_TIME = "private, no-cache"

/**
 * A strong entity tag over `parts`, which must hold everything the answer shows and whose it is
 * (the user's id): `"` + 22 base64url characters (128 bits of SHA-256) + `"`.
 */
export const entityTag = (parts: ReadonlyArray<string>): string =>
  `"${createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 22)}"`

/** If-None-Match members looked at; a longer list is refused whole (no match: a full answer). */
export const MAX_IF_NONE_MATCH_TAGS = 64

const isEtagChar = (code: number) => code === 0x21 || (code >= 0x23 && code <= 0x7e) || (code >= 0x80 && code <= 0xff)
const isBlank = (char: string | undefined) => char === " " || char === "\t"

/**
 * The opaque tags of an If-None-Match value (`"x"` and `W/"x"` both as `"x"`: If-None-Match
 * compares weakly), `"*"` for the wildcard, or undefined when the value is not a well-formed list
 * (then nothing matches and the full answer is sent: never a 304 by mistake).
 */
export const parseIfNoneMatch = (value: string): "*" | ReadonlyArray<string> | undefined => {
  if (value.trim() === "*") return "*"
  const tags: Array<string> = []
  let at = 0
  const skipBlanks = () => {
    while (isBlank(value[at])) at++
  }
  for (;;) {
    skipBlanks()
    // empty list elements (`a, , b`) are allowed by the list syntax (RFC 9110 §5.6.1.2)
    if (value[at] === ",") {
      at++
      continue
    }
    if (at >= value.length) break
    if (value.startsWith("W/", at)) at += 2
    if (value[at] !== "\"") return undefined
    const close = value.indexOf("\"", at + 1)
    if (close === -1) return undefined
    for (let i = at + 1; i < close; i++) if (!isEtagChar(value.charCodeAt(i))) return undefined
    tags.push(value.slice(at, close + 1))
    if (tags.length > MAX_IF_NONE_MATCH_TAGS) return undefined
    at = close + 1
    skipBlanks()
    if (at < value.length && value[at] !== ",") return undefined
  }
  return tags.length > 0 ? tags : undefined
}

/** Whether a request's If-None-Match (absent: undefined) matches the current answer's `etag`. */
export const ifNoneMatchMatches = (header: string | undefined, etag: string): boolean => {
  if (header === undefined) return false
  const parsed = parseIfNoneMatch(header)
  if (parsed === undefined) return false
  const opaque = etag.startsWith("W/") ? etag.slice(2) : etag
  return parsed === "*" || parsed.includes(opaque)
}
