/**
 * One realistic example per request and response body, by operation id, as it travels (encoded).
 * The OpenAPI document shows them (http/openapi.ts); test/http/openapi.test.ts validates each one
 * against the schema it illustrates, so an example cannot drift from what the server sends.
 * All data is made up (the synthetic lab report of test/fixtures).
 */

import { FHIR_JSON, fhirBundle } from "../programs/fhir.js"
import type { InterpretedDocument } from "../services/llm.js"

const userId = "7a67a57b-bc88-4ee3-9e8e-23a3b72c4ea0"
const jobId = "bc948957-c5e6-4ec8-999b-69480c540942"
const contentId = "cf913b54-4070-464d-b1d6-b6e8487413d0"
const conversationId = "9753486c-3a5d-4d98-9835-30bc38924e3c"
const uploadId = "3d0f5e1c-7b2a-4c69-a8e4-51f2b9c06d7e"
const deviceId = "5b8e2f41-9c3d-4a7e-b6f0-1d2c3e4f5a6b"

const tokenPair = {
  accessToken:
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InpnUkJDeDlfUHc4ckpnR24ifQ.eyJpc3MiOiJzZXJlbnlhIiwic3ViIjoiN2E2N2E1N2ItYmM4OC00ZWUzLTllOGUtMjNhM2I3MmM0ZWEwIiwiaWF0IjoxNzk2NTI2NDI0LCJleHAiOjE3OTY1MjczMjR9.M0ABn_486xLcA7Attdk9pNChZ1d-XSXUuXtFT75upuXWVBqHZPTRv2Ttq6aN0FHIOu1RBMoLtxLGULyRmbG3_A",
  refreshToken: "TKNebtWF2dbm_KurhUFNqo1Jh2J-RyUnRaBjhHWVJaU",
  expiresIn: 900,
  user: { id: userId, email: "ada@example.com", name: "Ada Lovelace" }
}

const summary =
  "This report lists 16 lab results. 7 results are flagged and 9 are within the reference range. " +
  "Hemoglobin is 11.2 g/dL, below the reference range 12.0–16.0. Please talk to your clinician about the flagged results."

const results = [
  {
    name: "Hemoglobin", value: 11.2, unit: "g/dL", referenceRange: { low: 12, high: 16, text: "12.0 - 16.0" },
    flag: "low", flagSource: "report", loinc: "718-7", ucumUnit: "g/dL", page: 1, line: 9
  },
  {
    name: "Potassium", value: 4.1, unit: "mmol/L", referenceRange: { low: 3.5, high: 5.1, text: "3.5 - 5.1" },
    flag: "normal", flagSource: "range", loinc: "2823-3", ucumUnit: "mmol/L", page: 1, line: 21
  },
  {
    name: "eGFR", value: 92, unit: "mL/min/1.73m2", referenceRange: { low: 60, text: ">59" },
    flag: "normal", flagSource: "range", ucumUnit: "mL/min/{1.73_m2}", page: 1, line: 27
  }
]

const question = { role: "user", content: "What does my hemoglobin result mean?", createdAt: "2026-12-06T03:07:08.208Z" }
const answer = {
  role: "assistant",
  content:
    "Your hemoglobin was 11.2 g/dL; the report's reference range is 12.0–16.0 g/dL, so it is flagged low.\n" +
    "It would be worth discussing this with your clinician.",
  createdAt: "2026-12-06T03:07:08.214Z"
}

export interface OperationExamples {
  /** By media type. */
  readonly request?: Readonly<Record<string, unknown>>
  /** By status; statuses without a body (204) have none. */
  readonly responses: Readonly<Record<number, unknown>>
  /** By status: one event of a `text/event-stream` answer, as its fields travel (`data` is text). */
  readonly events?: Readonly<Record<number, unknown>>
  /** By status: the answer in FHIR's media type (application/fhir+json). */
  readonly fhir?: Readonly<Record<number, unknown>>
}

/** The CBC/CMP example (content.get's) as the FHIR exports answer it, built by the code that builds them. */
const fhirExample = fhirBundle(
  { id: userId, name: "Ada Lovelace" },
  [{
    contentId,
    // the example as it travels is the document's encoded side, which is all fhirBundle reads
    document: {
      documentType: "lab_results",
      title: "Complete Blood Count (CBC), Comprehensive Metabolic Panel",
      collectedAt: "2026-04-18T07:42",
      results,
      vitals: [],
      unreadLines: [],
      summary
    } as unknown as InterpretedDocument,
    createdAt: new Date("2026-12-06T03:07:07.011Z")
  }],
  new Date("2026-12-06T03:07:09.120Z")
)

/** The media type of the `fhir` examples. */
export const FHIR_EXAMPLE_MEDIA_TYPE = FHIR_JSON

export const OPERATION_EXAMPLES: Readonly<Record<string, OperationExamples>> = {
  "ops.health": { responses: { 200: { status: "ok" } } },
  "ops.ready": { responses: { 200: { status: "ready", checks: { database: "ok" } } } },
  "auth.google": {
    request: { "application/json": { idToken: "eyJhbGciOiJSUzI1NiIsImtpZCI6IjE2In0.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20ifQ.c2lnbmF0dXJl" } },
    responses: { 200: tokenPair }
  },
  "auth.dev": {
    request: { "application/json": { email: "ada@example.com", name: "Ada Lovelace" } },
    responses: { 200: tokenPair }
  },
  "auth.refresh": {
    request: { "application/json": { refreshToken: "TKNebtWF2dbm_KurhUFNqo1Jh2J-RyUnRaBjhHWVJaU" } },
    responses: { 200: { ...tokenPair, refreshToken: "9mQ2cXkR4zUe7LwB1tYhN0aPsVdG6fJoK3iE8uZbCxM" } }
  },
  "auth.logout": {
    request: { "application/json": { refreshToken: "9mQ2cXkR4zUe7LwB1tYhN0aPsVdG6fJoK3iE8uZbCxM" } },
    responses: {}
  },
  "documents.upload": {
    request: {
      "application/json": {
        fileName: "blood-test-april.txt",
        contentType: "text/plain",
        dataBase64: "SGVtb2dsb2JpbiAgMTEuMiAgTCAgZy9kTCAgMTIuMCAtIDE2LjAK",
        documentType: "lab_results"
      },
      "multipart/form-data": { file: "(the bytes of blood-test-april.pdf)", documentType: "lab_results", allowImageToModel: "true" }
    },
    responses: { 202: { jobId, status: "queued" } }
  },
  "documents.beginUpload": {
    request: {
      "application/json": {
        fileName: "mri-report-2026.pdf",
        contentType: "application/pdf",
        sizeBytes: 14_680_064,
        documentType: "report",
        allowImageToModel: false
      }
    },
    responses: {
      201: {
        uploadId,
        url: "https://serenya-processing.s3.eu-west-1.amazonaws.com/",
        method: "POST",
        fields: {
          "Content-Type": "application/pdf",
          "x-amz-server-side-encryption": "aws:kms",
          "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
          bucket: "serenya-processing",
          "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
          "X-Amz-Credential": "ASIAEXAMPLEKEYID/20261206/eu-west-1/s3/aws4_request",
          "X-Amz-Date": "20261206T030704Z",
          "X-Amz-Security-Token": "IQoJb3JpZ2luX2VjEXAMPLETOKEN",
          key: `incoming/${uploadId}`,
          Policy: "eyJleHBpcmF0aW9uIjoiMjAyNi0xMi0wNlQwMzoyMjowNFoiLCJjb25kaXRpb25zIjpbXX0=",
          "X-Amz-Signature": "3f5d8c1e0b9a7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060504"
        },
        expiresAt: "2026-12-06T03:22:04.592Z",
        maxBytes: 14_680_064
      }
    }
  },
  "documents.completeUpload": { responses: { 202: { jobId, status: "queued" } } },
  "documents.jobStatus": {
    responses: {
      200: {
        jobId,
        status: "completed",
        stage: "done",
        attempts: 1,
        contentId,
        createdAt: "2026-12-06T03:07:04.592Z",
        updatedAt: "2026-12-06T03:07:07.011Z"
      }
    }
  },
  "documents.jobEvents": {
    responses: {},
    events: {
      200: {
        id: "2",
        event: "processing",
        data: JSON.stringify({ jobId, status: "processing", stage: "interpreting", attempts: 1 })
      }
    }
  },
  "content.timeline": {
    responses: {
      200: {
        items: [
          {
            contentId,
            documentType: "lab_results",
            title: "Complete Blood Count (CBC), Comprehensive Metabolic Panel",
            summary,
            flaggedCount: 7,
            criticalCount: 0,
            unreadCount: 0,
            createdAt: "2026-12-06T03:07:07.011Z"
          }
        ],
        total: 1,
        limit: 20,
        offset: 0
      }
    }
  },
  "content.get": {
    responses: {
      200: {
        contentId,
        documentType: "lab_results",
        title: "Complete Blood Count (CBC), Comprehensive Metabolic Panel",
        collectedAt: "2026-04-18T07:42",
        results,
        vitals: [],
        unreadLines: [],
        summary,
        provider: "aws.bedrock",
        modelId: "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        createdAt: "2026-12-06T03:07:07.011Z"
      }
    }
  },
  "content.fhir": { responses: {}, fhir: { 200: fhirExample } },
  "content.trends": {
    responses: {
      200: {
        code: "2345-7",
        name: "Glucose, fasting",
        unit: "mmol/L",
        points: [
          {
            contentId: "0e7c2d4a-51b3-4f8e-9a6d-2c1b0f3e4d5a",
            at: "2026-01-10",
            dated: "collected",
            name: "Glucose",
            value: 5.495,
            unit: "mmol/L",
            flag: "normal",
            printed: { value: 99, unit: "mg/dL" }
          },
          { contentId, at: "2026-04-18T07:42", dated: "collected", name: "Glucose, fasting", value: 6.1, unit: "mmol/L", flag: "high" }
        ]
      }
    }
  },
  "content.delete": { responses: {} },
  "chat.send": {
    request: { "application/json": { contentId, message: "What does my hemoglobin result mean?" } },
    responses: {
      200: {
        conversationId,
        message: {
          id: "9d3c1f4e-6a2b-4c8d-9e7f-1a2b3c4d5e6f",
          ...answer,
          citations: [{ result: 0, name: "Hemoglobin", page: 1, line: 9 }]
        }
      }
    },
    events: { 200: { event: "delta", data: JSON.stringify({ text: "Your hemoglobin was 11.2 g/dL; " }) } }
  },
  "chat.conversation": { responses: { 200: { contentId, messages: [question, answer] } } },
  "subscriptions.status": {
    responses: {
      200: {
        plan: "free",
        period: { start: "2026-12-01T00:00:00.000Z", end: "2027-01-01T00:00:00.000Z" },
        documents: { used: 1, limit: 10 },
        chatMessages: { used: 1, limit: 50 },
        llmCostCents: { used: 3.2, budget: 500 }
      }
    }
  },
  "account.profile": {
    responses: { 200: { id: userId, email: "ada@example.com", name: "Ada Lovelace", plan: "free", createdAt: "2026-12-06T03:07:04.292Z" } }
  },
  "account.delete": { responses: {} },
  "account.registerDevice": {
    request: {
      "application/json": { platform: "ios", token: "a9f3c2e17b4d8e0f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b" }
    },
    responses: { 201: { id: deviceId, platform: "ios", createdAt: "2026-12-06T03:06:59.120Z" } }
  },
  "account.devices": { responses: { 200: { devices: [{ id: deviceId, platform: "ios", createdAt: "2026-12-06T03:06:59.120Z" }] } } },
  "account.removeDevice": { responses: {} },
  "account.export": {
    responses: {
      200: {
        exportedAt: "2026-12-06T03:07:08.760Z",
        profile: { id: userId, email: "ada@example.com", name: "Ada Lovelace", plan: "free", createdAt: "2026-12-06T03:07:04.292Z" },
        subscription: {
          plan: "free",
          period: { start: "2026-12-01T00:00:00.000Z", end: "2027-01-01T00:00:00.000Z" },
          record: null
        },
        content: [
          {
            contentId,
            jobId,
            provider: "offline",
            modelId: "offline-parser-v1",
            createdAt: "2026-12-06T03:07:07.011Z",
            document: {
              documentType: "lab_results",
              title: "Complete Blood Count (CBC), Comprehensive Metabolic Panel",
              collectedAt: "2026-04-18T07:42",
              results: results.slice(0, 1),
              vitals: [],
              summary
            }
          }
        ],
        conversations: [{ conversationId, contentId, createdAt: "2026-12-06T03:07:08.225Z", messages: [question, answer] }],
        jobs: [
          {
            jobId,
            status: "completed",
            fileName: "lab-report-cbc-cmp.pdf",
            contentType: "application/pdf",
            sizeBytes: 2581,
            documentTypeHint: null,
            allowImageToModel: true,
            attempts: 1,
            errorCode: null,
            contentId,
            createdAt: "2026-12-06T03:07:04.592Z",
            updatedAt: "2026-12-06T03:07:07.011Z",
            completedAt: "2026-12-06T03:07:07.011Z"
          }
        ],
        uploads: [
          {
            uploadId,
            fileName: "mri-report-2026.pdf",
            contentType: "application/pdf",
            sizeBytes: 14_680_064,
            documentTypeHint: "report",
            allowImageToModel: false,
            createdAt: "2026-12-06T03:07:04.592Z",
            expiresAt: "2026-12-06T03:22:04.592Z",
            jobId: null
          }
        ],
        devices: [{ deviceId, platform: "ios", createdAt: "2026-12-06T03:06:59.120Z" }],
        costs: [
          {
            occurredAt: "2026-12-06T03:07:06.996Z",
            provider: "offline",
            modelId: "offline-parser-v1",
            documentType: "lab_results",
            inputTokens: 441,
            outputTokens: 679,
            totalCostCents: 0,
            processingTimeMs: 1933
          }
        ]
      }
    },
    fhir: { 200: fhirExample }
  }
}

/** The typical error of each status, for the documented error responses. */
export const ERROR_EXAMPLES: Readonly<Record<number, { readonly code: string; readonly category: string; readonly message: string }>> = {
  400: { code: "VALIDATION_FAILED", category: "validation", message: "The request is invalid: limit is invalid" },
  401: { code: "UNAUTHENTICATED", category: "business", message: "The access token is missing, invalid or expired" },
  402: { code: "QUOTA_EXCEEDED", category: "business", message: "The free plan's 10 documents this month are used up" },
  404: { code: "NOT_FOUND", category: "business", message: "No such content" },
  409: { code: "CONFLICT", category: "business", message: "This Idempotency-Key was used with a different request" },
  413: { code: "PAYLOAD_TOO_LARGE", category: "validation", message: "The request body is larger than allowed" },
  410: { code: "UPLOAD_EXPIRED", category: "business", message: "The upload's time ran out before it was completed; begin a new one" },
  415: { code: "UNSUPPORTED_MEDIA_TYPE", category: "validation", message: "Send the body as application/json" },
  429: { code: "RATE_LIMITED", category: "business", message: "Too many requests" },
  500: { code: "INTERNAL_ERROR", category: "technical", message: "An unexpected error occurred" },
  502: { code: "LLM_CALL_FAILED", category: "external", message: "The model could not be reached; try again" },
  501: { code: "UPLOADS_NOT_CONFIGURED", category: "technical", message: "Uploads straight to storage need STORAGE_PROVIDER=s3; send the document to POST /documents/upload" },
  503: { code: "DATABASE_UNAVAILABLE", category: "technical", message: "The database is not answering; retry" },
  504: { code: "TIMEOUT", category: "technical", message: "The model did not answer in time; retry" }
}
