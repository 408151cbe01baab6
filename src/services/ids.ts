/** The branded ids every layer speaks in: a UserId can never be passed where a JobId is meant. */
import { Schema } from "effect"

export const UserId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type
export const ContentId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("ContentId"))
export type ContentId = typeof ContentId.Type
export const JobId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("JobId"))
export type JobId = typeof JobId.Type
export const UploadId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("UploadId"))
export type UploadId = typeof UploadId.Type
