/** What an AWS SDK v3 error says about itself, read without trusting its shape. */

/** The service's error code (`ThrottlingException`, `NoSuchKey`, …), or "Error". */
export const awsErrorName = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "name" in cause ? String(cause.name) : "Error"

/** The HTTP status of the answer; undefined when no answer came (network failure, timeout). */
export const awsHttpStatus = (cause: unknown): number | undefined => {
  if (typeof cause !== "object" || cause === null || !("$metadata" in cause)) return undefined
  const metadata = cause.$metadata
  return typeof metadata === "object" && metadata !== null && "httpStatusCode" in metadata && typeof metadata.httpStatusCode === "number"
    ? metadata.httpStatusCode
    : undefined
}
