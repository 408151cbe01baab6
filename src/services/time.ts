/** Instants as the API documents and sends them. */
import { Schema, SchemaTransformation } from "effect"

/**
 * An instant in an HTTP body: a `Date` in the program, RFC 3339 text in UTC in JSON
 * (`Date.prototype.toISOString`), documented as the `Date` component (`type: string,
 * format: date-time`) that clients generated from the document know.
 *
 * 4.x's `Schema.Date` already travels as ISO text in JSON, but documents it as a bare string with
 * no component; this is the same codec with that documentation. Outside JSON (decoding database
 * rows, which hold `Date`s) it is `Schema.Date`.
 */
// One schema for every use: the document makes one component of it (a schema built per use would
// be `Date`, `Date_1`, …).
const InstantText = Schema.String.annotate({
  identifier: "Date",
  format: "date-time",
  description: "An instant, RFC 3339 in UTC (2026-12-06T03:07:04.592Z)"
})

export const Instant = Schema.Date.annotate({
  toCodecJson: () => Schema.link<Date>()(InstantText, SchemaTransformation.dateFromString)
})
