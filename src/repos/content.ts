/**
 * `content`: interpreted documents, one row per document (`job_id` unique: a job's content is
 * stored at most once). Every field that says anything about health is sealed by the caller for
 * its row (`title_encrypted`, `summary_encrypted`, `body_encrypted`). Every statement is scoped to
 * the user in the SQL itself: another user's id reads as absent. Deleting a row takes its
 * conversation with it (cascade), and every change bumps `users.content_version` (trigger).
 */
import { Effect, Option, Schema } from "effect"
import { bytea, decodeRows, SqlClient, withoutTransforms } from "../services/database.js"
import { ContentId, JobId, UserId } from "../services/ids.js"
import { DocumentType, LLMProviderName } from "../services/llm.js"

const ContentRow = Schema.Struct({
  id: ContentId,
  userId: UserId,
  jobId: Schema.NullOr(JobId),
  bodyEncrypted: Schema.Uint8Array,
  provider: LLMProviderName,
  modelId: Schema.String,
  createdAt: Schema.Date
})
const decodeContentRow = Schema.decodeUnknownEffect(ContentRow)

/**
 * A timeline row as PostgreSQL names its columns: the page is read without the client's
 * column-name transform (which copies every row key by key), and the decoder, which builds each
 * row anyway, renames as it goes.
 */
const TimelineRow = Schema.Struct({
  id: ContentId,
  documentType: DocumentType,
  titleEncrypted: Schema.Uint8Array,
  summaryEncrypted: Schema.Uint8Array,
  createdAt: Schema.Date,
  total: Schema.Number
}).pipe(Schema.encodeKeys({
  documentType: "document_type",
  titleEncrypted: "title_encrypted",
  summaryEncrypted: "summary_encrypted",
  createdAt: "created_at"
}))
export type TimelineRow = typeof TimelineRow.Type
const decodeTimelineRows = decodeRows(TimelineRow)

const decodeContentIds = decodeRows(Schema.Struct({ id: ContentId }))

export const insertContent = (row: {
  readonly id: ContentId
  readonly userId: UserId
  readonly jobId: JobId | null
  readonly documentType: DocumentType
  readonly titleEncrypted: Uint8Array
  readonly summaryEncrypted: Uint8Array
  readonly bodyEncrypted: Uint8Array
  readonly trendsEncrypted: Uint8Array
  readonly provider: LLMProviderName
  readonly modelId: string
}) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      INSERT INTO content (id, user_id, job_id, document_type, title_encrypted, summary_encrypted, body_encrypted, trends_encrypted, provider, model_id)
      VALUES (${row.id}::uuid, ${row.userId}::uuid, ${row.jobId}::uuid, ${row.documentType},
              ${bytea(row.titleEncrypted)}, ${bytea(row.summaryEncrypted)}, ${bytea(row.bodyEncrypted)}, ${bytea(row.trendsEncrypted)},
              ${row.provider}, ${row.modelId})`
  )

const TrendRow = Schema.Struct({ id: ContentId, createdAt: Schema.Date, trendsEncrypted: Schema.NullOr(Schema.Uint8Array) })
const decodeTrendRows = decodeRows(TrendRow)

/** Every document of the user with its sealed trends index (null for documents stored before it existed), oldest first. */
export const listTrendRows = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`SELECT id, created_at, trends_encrypted FROM content WHERE user_id = ${userId}::uuid ORDER BY created_at, id`,
      decodeTrendRows
    )
  )

/** Stores a document's trends index where it has none yet (a document stored before the index existed). */
export const setMissingTrends = (userId: UserId, contentId: ContentId, trendsEncrypted: Uint8Array) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.asVoid(sql`
      UPDATE content SET trends_encrypted = ${bytea(trendsEncrypted)}
      WHERE id = ${contentId}::uuid AND user_id = ${userId}::uuid AND trends_encrypted IS NULL`)
  )

/** The row with the sealed document; none when it does not exist or is someone else's. */
export const findContent = (userId: UserId, contentId: ContentId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`
      SELECT id, user_id, job_id, body_encrypted, provider, model_id, created_at
      FROM content WHERE id = ${contentId}::uuid AND user_id = ${userId}::uuid`
    if (rows.length === 0) return Option.none<typeof ContentRow.Type>()
    return Option.some(yield* decodeContentRow(rows[0]))
  })

/** Whether the content exists and is the user's. */
export const contentExists = (userId: UserId, contentId: ContentId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`SELECT 1 AS n FROM content WHERE id = ${contentId}::uuid AND user_id = ${userId}::uuid`,
      (rows) => rows.length > 0
    )
  )

/**
 * A page of the user's rows, newest first, and how many there are in all: one round trip for the
 * page and the total (a window function), and a count of its own only for a page past the end,
 * which has no row to carry it. Both without the column-name transform.
 */
export const timelinePage = (userId: UserId, page: { readonly limit: number; readonly offset: number }) =>
  Effect.gen(function* () {
    const sql = withoutTransforms(yield* SqlClient.SqlClient)
    const rows = yield* decodeTimelineRows(
      yield* sql`
        SELECT id, document_type, title_encrypted, summary_encrypted, created_at, count(*) OVER ()::int AS total
        FROM content WHERE user_id = ${userId}::uuid
        ORDER BY created_at DESC, id DESC
        LIMIT ${page.limit} OFFSET ${page.offset}`
    )
    const total =
      rows[0]?.total ??
      (yield* sql<{ total: number }>`SELECT count(*)::int AS total FROM content WHERE user_id = ${userId}::uuid`)[0]?.total ??
      0
    return { rows, total }
  })

/** The ids of the user's content, oldest first. */
export const listContentIds = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      Effect.flatMap(sql`SELECT id FROM content WHERE user_id = ${userId}::uuid ORDER BY created_at, id`, decodeContentIds),
      (rows) => rows.map((row) => row.id)
    )
  )

/**
 * Deletes the user's content (its conversation goes by cascade): the job whose original it kept
 * (null for content without one), or none when there was none of the user's.
 */
export const deleteContent = (userId: UserId, contentId: ContentId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ readonly jobId: string | null }>`DELETE FROM content WHERE id = ${contentId}::uuid AND user_id = ${userId}::uuid RETURNING job_id::text AS job_id`,
      (deleted) => Option.map(Option.fromUndefinedOr(deleted[0]), (row) => row.jobId)
    )
  )
