/**
 * What counts against a plan's monthly limits, counted from rows rather than kept in a counter
 * that could drift. Writes only `plan_usage`, the ledger of chat questions (one row per question,
 * id = the question's message id, written with it; deleting a document does not give its
 * questions back). Reads `jobs` (a job row outlives its document) and the pending rows of
 * `document_uploads` (an upload under way becomes a job).
 */
import { Effect, Schema } from "effect"
import { decodeRows, SqlClient } from "../services/database.js"
import type { MessageId, UserId } from "../services/ids.js"

interface Period {
  readonly start: Date
  readonly end: Date
}

const decodeCount = decodeRows(Schema.Struct({ n: Schema.Number }))
const count = (rows: unknown) => Effect.map(decodeCount(rows), ([row]) => row?.n ?? 0)

/** Records a chat question in the ledger (inside the transaction that stores it). */
export const recordChatMessage = (questionId: MessageId, userId: UserId, askedAt: Date) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      INSERT INTO plan_usage (id, user_id, resource, occurred_at)
      VALUES (${questionId}::uuid, ${userId}::uuid, 'chat_message', ${askedAt})`
  )

/** Questions asked in the period, from the ledger. */
export const countChatMessages = (userId: UserId, period: Period) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT count(*)::int AS n FROM plan_usage
        WHERE user_id = ${userId}::uuid AND resource = 'chat_message'
          AND occurred_at >= ${period.start} AND occurred_at < ${period.end}`,
      count
    )
  )

/** Jobs created in the period. */
export const countJobsCreated = (userId: UserId, period: Period) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT count(*)::int AS n FROM jobs
        WHERE user_id = ${userId}::uuid AND created_at >= ${period.start} AND created_at < ${period.end}`,
      count
    )
  )

/** Jobs created in this calendar month (UTC, by the database's clock): a direct upload's check. */
export const countJobsThisMonth = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ used: number }>`
        SELECT count(*)::int AS used FROM jobs
        WHERE user_id = ${userId}::uuid
          AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`,
      (rows) => rows[0]?.used ?? 0
    )
  )

/** Jobs created this calendar month (UTC) plus the uploads still under way: a presigned upload's check. */
export const countJobsAndPendingUploadsThisMonth = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ used: number }>`
        SELECT (SELECT count(*) FROM jobs
                WHERE user_id = ${userId}::uuid
                  AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')::int
             + (SELECT count(*) FROM document_uploads
                WHERE user_id = ${userId}::uuid AND job_id IS NULL AND expires_at > now())::int AS used`,
      (rows) => rows[0]?.used ?? 0
    )
  )
