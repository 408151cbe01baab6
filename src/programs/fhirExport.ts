/**
 * The FHIR exports (fhir.ts builds the Bundles): one document (`GET /content/{id}/fhir`) and the
 * whole record (`GET /me/export?format=fhir`). Each is opened like the JSON it mirrors — the
 * content is read with the user's scope in the SQL, its sealed fields opened — and audited:
 * `content.export` for one document, `account.export` for the record.
 *
 * `include=original` (one document only) adds the original upload as the report's `presentedForm`:
 * the sealed original kept with the content (programs/processJob.ts), opened in memory. Documents
 * read before originals were kept have none, and their report has no `presentedForm`.
 */
import type { Bundle } from "@medplum/fhirtypes"
import { Clock, Effect, Option } from "effect"
import * as Content from "../repos/content.js"
import * as Users from "../repos/users.js"
import { Audit, type RequestContext } from "../services/audit.js"
import * as Jobs from "../repos/jobs.js"
import { Crypto, documentContext, fieldContext } from "../services/crypto.js"
import { Storage } from "../services/storage.js"
import { NotFound } from "../services/errors.js"
import type { ContentId, UserId } from "../services/ids.js"
import { fnTraced } from "../services/telemetry.js"
import { loadContent, type StoredContent } from "./content.js"
import { type FhirContent, type FhirOriginal, type FhirPatient, fhirBundle } from "./fhir.js"

/** The account as the Patient resource shows it: its id and the name the user gave, if any; none once the account is gone. */
const patientOf = (userId: UserId) =>
  Effect.gen(function* () {
    const found = yield* Users.findProfile(userId)
    if (Option.isNone(found)) return Option.none<FhirPatient>()
    const row = found.value
    const name = row.nameEncrypted === null
      ? null
      : yield* (yield* Crypto).openString(row.nameEncrypted, fieldContext(userId, "users", "name_encrypted", userId))
    return Option.some<FhirPatient>({ id: row.id, name })
  })

const fhirContent = (stored: StoredContent, original?: FhirOriginal): FhirContent => ({
  contentId: stored.contentId,
  document: stored.document,
  createdAt: stored.createdAt,
  ...(original === undefined ? {} : { original })
})

/** The original kept with the user's content, opened; none when it is no longer (or never was) kept. */
const keptOriginal = (userId: UserId, contentId: ContentId) =>
  Effect.gen(function* () {
    const kept = yield* Jobs.findKeptOriginal(userId, contentId)
    if (Option.isNone(kept)) return Option.none<FhirOriginal>()
    const crypto = yield* Crypto
    const { jobId, storageKey, contentType, fileNameEncrypted } = kept.value
    // our own key: one the storage refuses is a bug, not the request's fault
    const stored = yield* Effect.result((yield* Storage).get(storageKey).pipe(Effect.catchTag("InvalidObjectKey", (e) => Effect.die(e))))
    // removed since the row was read (the content deleted meanwhile): as if never kept
    if (stored._tag === "Failure") return stored.failure._tag === "ObjectNotFound" ? Option.none<FhirOriginal>() : yield* stored.failure
    const bytes = yield* crypto.open(stored.success.bytes, documentContext(userId, storageKey))
    const fileName = fileNameEncrypted === null
      ? undefined
      : yield* crypto.openString(fileNameEncrypted, fieldContext(userId, "jobs", "file_name_encrypted", jobId))
    return Option.some<FhirOriginal>({ contentType, bytes, fileName })
  })

export interface ContentFhirOptions {
  /** Adds the original upload as the report's presentedForm (`include=original`). */
  readonly includeOriginal?: boolean
}

/** One document as a Bundle; none when it does not exist or is someone else's (audited either way). */
export const contentAsFhir = fnTraced("Fhir.content")(function* (
  userId: UserId,
  contentId: ContentId,
  requestContext: RequestContext = {},
  options: ContentFhirOptions = {}
) {
  const audit = yield* Audit
  const content = yield* loadContent(userId, contentId)
  const patient = Option.isNone(content) ? Option.none<FhirPatient>() : yield* patientOf(userId)
  const found = Option.isSome(content) && Option.isSome(patient)
  yield* audit.record({
    ...requestContext,
    actorUserId: userId,
    action: "content.export",
    resourceType: "content",
    resourceId: contentId,
    outcome: found ? "success" : "failure"
  })
  if (!found) return Option.none<Bundle>()
  const original = options.includeOriginal === true ? Option.getOrUndefined(yield* keptOriginal(userId, contentId)) : undefined
  const now = new Date(yield* Clock.currentTimeMillis)
  return Option.some(fhirBundle(patient.value, [fhirContent(content.value, original)], now))
})

/** The whole record as one Bundle: the Patient and every document, oldest first. NotFound once the account is gone. */
export const recordAsFhir = fnTraced("Fhir.record")(function* (userId: UserId, requestContext: RequestContext = {}) {
  const audit = yield* Audit
  const patient = yield* patientOf(userId)
  if (Option.isNone(patient)) return yield* new NotFound({ message: "No such account" })
  const ids = yield* Content.listContentIds(userId)
  // a document deleted since the list was read is left out
  const contents = yield* Effect.forEach(ids, (id) => Effect.map(loadContent(userId, id), Option.toArray))
  yield* audit.record({
    ...requestContext,
    actorUserId: userId,
    action: "account.export",
    resourceType: "account",
    resourceId: userId,
    outcome: "success"
  })
  const now = new Date(yield* Clock.currentTimeMillis)
  return fhirBundle(patient.value, contents.flat().map((stored) => fhirContent(stored)), now)
})
