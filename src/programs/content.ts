/**
 * Interpreted documents at rest. Every field that says anything about a person's health is
 * sealed with its own field context before it reaches the `content` table:
 * - `title_encrypted`: the title;
 * - `summary_encrypted`: the timeline card, JSON `{ summary, flaggedCount }` — the flag count is
 *   health information too, and the timeline must not open whole documents to show it;
 * - `body_encrypted`: the whole InterpretedDocument, encoded with its Schema.
 * Every query is scoped to the signed-in user in the SQL itself: another user's id reads as absent.
 */
import { Effect, Option, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { Crypto, fieldContext } from "../services/crypto.js"
import { bytea, SqlClient } from "../services/database.js"
import { ContentId, JobId, UserId } from "../services/ids.js"
import { DocumentType, InterpretedDocument, LLMProviderName } from "../services/llm.js"


const FLAGGED = new Set(["low", "high", "critical_low", "critical_high", "abnormal"])

export const flaggedCount = (document: InterpretedDocument): number =>
  document.results.filter((r) => FLAGGED.has(r.flag)).length

const Card = Schema.parseJson(Schema.Struct({ summary: Schema.String, flaggedCount: Schema.NonNegativeInt }))
const Body = Schema.parseJson(InterpretedDocument)

const sealedField = (userId: UserId, column: string, contentId: ContentId) =>
  fieldContext(userId, "content", column, contentId)

export interface StoredContent {
  readonly contentId: ContentId
  readonly userId: UserId
  readonly jobId: Option.Option<JobId>
  readonly document: InterpretedDocument
  readonly provider: LLMProviderName
  readonly modelId: string
  readonly createdAt: Date
}

export interface TimelineItem {
  readonly contentId: ContentId
  readonly documentType: DocumentType
  readonly title: string
  readonly summary: string
  readonly flaggedCount: number
  readonly createdAt: Date
}

/**
 * Stores an interpretation. The id is chosen first so that the sealed fields can be bound to the
 * row they belong to; a job's content is stored at most once (`job_id` is unique).
 */
export const saveContent = Effect.fn("Content.save")(function* (input: {
  readonly userId: UserId
  readonly jobId?: JobId
  readonly document: InterpretedDocument
  readonly provider: LLMProviderName
  readonly modelId: string
}) {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const contentId = yield* Effect.sync(() => ContentId.make(randomUUID()))
  const title = yield* crypto.sealString(input.document.title, sealedField(input.userId, "title_encrypted", contentId))
  const card = yield* crypto.sealString(
    Schema.encodeSync(Card)({ summary: input.document.summary, flaggedCount: flaggedCount(input.document) }),
    sealedField(input.userId, "summary_encrypted", contentId)
  )
  const body = yield* crypto.sealString(
    Schema.encodeSync(Body)(input.document),
    sealedField(input.userId, "body_encrypted", contentId)
  )
  yield* sql`
    INSERT INTO content (id, user_id, job_id, document_type, title_encrypted, summary_encrypted, body_encrypted, provider, model_id)
    VALUES (${contentId}::uuid, ${input.userId}::uuid, ${input.jobId ?? null}::uuid, ${input.document.documentType},
            ${bytea(title)}, ${bytea(card)}, ${bytea(body)}, ${input.provider}, ${input.modelId})`
  return contentId
})

const ContentRow = Schema.Struct({
  id: ContentId,
  userId: UserId,
  jobId: Schema.NullOr(JobId),
  bodyEncrypted: Schema.Uint8ArrayFromSelf,
  provider: LLMProviderName,
  modelId: Schema.String,
  createdAt: Schema.DateFromSelf
})

/** The whole document, or none when it does not exist or belongs to someone else. */
export const loadContent = Effect.fn("Content.load")(function* (userId: UserId, contentId: ContentId) {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const rows = yield* sql`
    SELECT id, user_id, job_id, body_encrypted, provider, model_id, created_at
    FROM content WHERE id = ${contentId}::uuid AND user_id = ${userId}::uuid`
  if (rows.length === 0) return Option.none<StoredContent>()
  const row = yield* Schema.decodeUnknown(ContentRow)(rows[0])
  const json = yield* crypto.openString(row.bodyEncrypted, sealedField(userId, "body_encrypted", contentId))
  const document = yield* Schema.decodeUnknown(Body)(json)
  return Option.some<StoredContent>({
    contentId: row.id,
    userId: row.userId,
    jobId: Option.fromNullable(row.jobId),
    document,
    provider: row.provider,
    modelId: row.modelId,
    createdAt: row.createdAt
  })
})

const TimelineRow = Schema.Struct({
  id: ContentId,
  documentType: DocumentType,
  titleEncrypted: Schema.Uint8ArrayFromSelf,
  summaryEncrypted: Schema.Uint8ArrayFromSelf,
  createdAt: Schema.DateFromSelf
})

/** Newest first; opens only the title and the card of each item, never the documents. */
export const listTimeline = Effect.fn("Content.timeline")(function* (
  userId: UserId,
  page: { readonly limit: number; readonly offset: number }
) {
  const sql = yield* SqlClient.SqlClient
  const crypto = yield* Crypto
  const [count] = yield* sql<{ total: number }>`SELECT count(*)::int AS total FROM content WHERE user_id = ${userId}::uuid`
  const rows = yield* sql`
    SELECT id, document_type, title_encrypted, summary_encrypted, created_at
    FROM content WHERE user_id = ${userId}::uuid
    ORDER BY created_at DESC, id DESC
    LIMIT ${page.limit} OFFSET ${page.offset}`
  const decoded = yield* Schema.decodeUnknown(Schema.Array(TimelineRow))(rows)
  const items = yield* Effect.forEach(decoded, (row) =>
    Effect.gen(function* () {
      const title = yield* crypto.openString(row.titleEncrypted, sealedField(userId, "title_encrypted", row.id))
      const card = yield* Schema.decodeUnknown(Card)(
        yield* crypto.openString(row.summaryEncrypted, sealedField(userId, "summary_encrypted", row.id))
      )
      return {
        contentId: row.id,
        documentType: row.documentType,
        title,
        summary: card.summary,
        flaggedCount: card.flaggedCount,
        createdAt: row.createdAt
      } satisfies TimelineItem
    })
  )
  return { items, total: count?.total ?? 0 }
})

/** Removes the content and (by cascade) its conversation; false when there was nothing of this user's to remove. */
export const deleteContent = Effect.fn("Content.delete")(function* (userId: UserId, contentId: ContentId) {
  const sql = yield* SqlClient.SqlClient
  const deleted = yield* sql`DELETE FROM content WHERE id = ${contentId}::uuid AND user_id = ${userId}::uuid RETURNING id`
  return deleted.length > 0
})
