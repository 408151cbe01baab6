/** Uploaded documents' size limits. */
import { Config, Context, Layer, Option } from "effect"
import { check, collect, positiveInt, unless, validated } from "./shared.js"

/** Uploaded documents. */
export interface DocumentSettings {
  /** Decoded bytes; larger uploads are refused with 413, presigned or direct (src/services/uploadLimits.ts). */
  readonly maxUploadBytes: number
  /**
   * Decoded bytes a direct upload (`POST /documents/upload`, the document in the request) may carry;
   * at most maxUploadBytes. On Lambda the payload limit sets it (LAMBDA_DIRECT_UPLOAD_BYTES).
   */
  readonly maxDirectUploadBytes: number
}

/** The variables, read and defaulted; the rule across them is documentsProblems. */
export const documentsValues: Config.Config<DocumentSettings> = collect({
  maxUploadBytes: positiveInt("MAX_UPLOAD_BYTES", 5 * 1024 * 1024),
  maxDirectUploadBytes: check(
    "MAX_DIRECT_UPLOAD_BYTES",
    Config.Int("MAX_DIRECT_UPLOAD_BYTES"),
    (n) => n >= 1,
    "must be a whole number ≥ 1"
  ).pipe(Config.option)
}).pipe(
  // unset: direct uploads take what presigned ones take (the local server has no payload limit of its own)
  Config.map(({ maxUploadBytes, maxDirectUploadBytes }) => ({
    maxUploadBytes,
    maxDirectUploadBytes: Option.getOrElse(maxDirectUploadBytes, () => maxUploadBytes)
  }))
)

export const documentsProblems = (documents: DocumentSettings): ReadonlyArray<Config.ConfigError> =>
  unless(
    documents.maxDirectUploadBytes <= documents.maxUploadBytes,
    "MAX_DIRECT_UPLOAD_BYTES",
    "must not be above MAX_UPLOAD_BYTES (a direct upload is an upload)"
  )

export const documentsConfig: Config.Config<DocumentSettings> = validated(documentsValues, documentsProblems)

export class DocumentsConfig extends Context.Service<DocumentsConfig, DocumentSettings>()("serenya/config/Documents") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(DocumentsConfig, documentsConfig)
}
