/**
 * Photos within Converse's image limits (3.75 MB, 8,000 px a side): a phone's photo of a lab report
 * is often larger, and refusing it would refuse the most common upload of a mobile app. An image
 * over a limit is scaled down and re-encoded as JPEG until it fits — never below 1,568 px on its
 * long edge, the size Claude reads images at anyway, so what the model sees is what it would have
 * seen of the original. An image that does not fit even then, or has more pixels than we decode
 * (50 MP: a decoded image takes 4 bytes a pixel), is refused with DOCUMENT_TOO_COMPLEX; one whose
 * header gives no size with IMAGE_UNREADABLE.
 *
 * jimp (pure JavaScript, so the same on Lambda as here) is loaded on first use; it decodes on the
 * calling thread, which is the processor's (a Lambda invocation or the worker process), for a few
 * seconds at most at the pixel bound (a 12 MP photo: about 4 s to decode, 2 s to scale and encode).
 */
import { Effect } from "effect"
import { DocumentTooComplex, DocumentUnreadable } from "../../services/llm.js"
import type { InputLimits } from "../../services/models.js"

export const MAX_DECODED_PIXELS = 50_000_000
/** Claude reads images at up to this many pixels on the long edge: scaling further loses nothing the model would see. */
export const MIN_LONG_EDGE = 1568
const JPEG_QUALITY = 85
const STEP = 0.75

export interface FittedImage {
  readonly bytes: Uint8Array
  readonly format: "jpeg" | "png"
  /** Whether the bytes are a re-encoded copy, not the upload itself. */
  readonly scaled: boolean
}

const tooComplex = (message: string) => new DocumentTooComplex({ message, limit: "decoded_bytes" })

/** The image's size from its header (image-size), or undefined. */
const headerSize = (bytes: Uint8Array) =>
  Effect.map(Effect.promise(() => import("image-size")), ({ imageSize }) => {
    try {
      const { width, height } = imageSize(bytes)
      return width > 0 && height > 0 ? { width, height } : undefined
    } catch {
      return undefined
    }
  })

export const fitImage = (
  bytes: Uint8Array,
  format: "jpeg" | "png",
  limits: InputLimits
): Effect.Effect<FittedImage, DocumentUnreadable | DocumentTooComplex> =>
  Effect.gen(function* () {
    const size = yield* headerSize(bytes)
    if (size === undefined) return yield* new DocumentUnreadable({ message: "The image could not be read", reason: "IMAGE_UNREADABLE" })
    const longEdge = Math.max(size.width, size.height)
    if (bytes.length <= limits.imageMaxBytes && longEdge <= limits.imageMaxPixels) return { bytes, format, scaled: false }
    if (size.width * size.height > MAX_DECODED_PIXELS) {
      return yield* tooComplex(`The image has more than ${MAX_DECODED_PIXELS / 1_000_000} million pixels`)
    }
    const { Jimp } = yield* Effect.promise(() => import("jimp"))
    const image = yield* Effect.tryPromise({
      try: () => Jimp.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
      catch: () => new DocumentUnreadable({ message: "The image could not be decoded", reason: "IMAGE_UNREADABLE" })
    })
    let edge = Math.min(longEdge, limits.imageMaxPixels)
    for (;;) {
      const copy = image.clone()
      if (edge < longEdge) copy.scaleToFit({ w: edge, h: edge })
      const encoded = yield* Effect.promise(() => copy.getBuffer("image/jpeg", { quality: JPEG_QUALITY }))
      if (encoded.length <= limits.imageMaxBytes) return { bytes: new Uint8Array(encoded), format: "jpeg" as const, scaled: true }
      if (edge <= MIN_LONG_EDGE) return yield* tooComplex("The image is too large for the model even when scaled down")
      edge = Math.max(MIN_LONG_EDGE, Math.floor(edge * STEP))
    }
  })
