/** The FHIR exports' response body, as the API documents it (the Bundle itself is built by programs/fhir.ts). */
import type { Bundle } from "@medplum/fhirtypes"
import { HttpApiSchema } from "effect/http-api"
import { Schema } from "effect"
import { FHIR_JSON } from "../programs/fhir.js"

const Resource = Schema.Record(Schema.String, Schema.Unknown).annotate({
  description: "A FHIR R4 resource: the Patient, a DiagnosticReport, or an Observation (laboratory or vital-signs)"
})

export const FhirBundleBody = Schema.Struct({
  resourceType: Schema.Literal("Bundle"),
  id: Schema.String,
  type: Schema.Literal("collection"),
  timestamp: Schema.String.annotate({ format: "date-time" }),
  entry: Schema.Array(Schema.Struct({ fullUrl: Schema.String.annotate({ description: "urn:uuid: of the resource" }), resource: Resource }))
}).annotate({
  identifier: "FhirBundle",
  description:
    "A FHIR R4 Bundle of type collection (" + FHIR_JSON + "): the Patient (the account id, and the name the user gave, if any), " +
    "then per document a DiagnosticReport and an Observation per result (LOINC where known, UCUM units, HL7 v3 interpretation) " +
    "or vital-signs reading (vital-signs profiles; blood pressure as systolic and diastolic components)"
}).pipe(HttpApiSchema.asJson({ contentType: FHIR_JSON }))

/**
 * A Bundle from programs/fhir.ts as the body: the same object, typed as the documented schema
 * (FHIR's resource types have no index signature; the schema documents resources as records).
 */
export const fhirBody = (bundle: Bundle): typeof FhirBundleBody.Type => bundle as unknown as typeof FhirBundleBody.Type
