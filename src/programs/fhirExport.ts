/**
 * The FHIR exports (fhir.ts builds the Bundles): one document (`GET /content/{id}/fhir`) and the
 * whole record (`GET /me/export?format=fhir`). Each is opened like the JSON it mirrors — the
 * content is read with the user's scope in the SQL, its sealed fields opened — and audited:
 * `content.export` for one document, `account.export` for the record.
 */
import type { Bundle } from "@medplum/fhirtypes"
import { Clock, Effect, Option } from "effect"
import * as Content from "../repos/content.js"
import * as Users from "../repos/users.js"
import { Audit, type RequestContext } from "../services/audit.js"
import { Crypto, fieldContext } from "../services/crypto.js"
import { NotFound } from "../services/errors.js"
import type { ContentId, UserId } from "../services/ids.js"
import { fnTraced } from "../services/telemetry.js"
import { loadContent, type StoredContent } from "./content.js"
import { type FhirContent, type FhirPatient, fhirBundle } from "./fhir.js"

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

const fhirContent = (stored: StoredContent): FhirContent => ({
  contentId: stored.contentId,
  document: stored.document,
  createdAt: stored.createdAt
})

/** One document as a Bundle; none when it does not exist or is someone else's (audited either way). */
export const contentAsFhir = fnTraced("Fhir.content")(function* (userId: UserId, contentId: ContentId, requestContext: RequestContext = {}) {
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
  const now = new Date(yield* Clock.currentTimeMillis)
  return Option.some(fhirBundle(patient.value, [fhirContent(content.value)], now))
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
  return fhirBundle(patient.value, contents.flat().map(fhirContent), now)
})
