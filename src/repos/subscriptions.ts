/**
 * `subscriptions`: at most one row per user (the primary key), written only by the operator's
 * `setPlan` (through `upsertSubscription`, which moves `updated_at`: the status cache's stamp). Premium holds only while its period runs (`period_start <= now < period_end`); no
 * row, or a lapsed one, is the free plan (the programs decide what that means).
 */
import { Effect, Option, Schema } from "effect"
import { decodeRows, SqlClient } from "../services/database.js"
import { UserId } from "../services/ids.js"

/** The plans: the column's CHECK constraint. */
export const Plan = Schema.Literals(["free", "premium"])
export type Plan = typeof Plan.Type

const SubscriptionRow = Schema.Struct({
  userId: UserId,
  plan: Plan,
  periodStart: Schema.Date,
  periodEnd: Schema.Date
})
export type SubscriptionRow = typeof SubscriptionRow.Type
const decodeSubscriptions = decodeRows(SubscriptionRow)

const first = (rows: unknown) => Effect.map(decodeSubscriptions(rows), ([row]) => Option.fromNullishOr(row))

/**
 * The user's row, running or not. Plan checks and the account export both read it (the export had
 * a statement of its own, the same without `user_id`: one statement serves both now).
 */
export const findSubscription = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT user_id, plan, period_start, period_end FROM subscriptions WHERE user_id = ${userId}::uuid`,
      first
    )
  )

const StatusStampRow = Schema.Struct({
  plan: Schema.NullOr(Plan),
  periodStart: Schema.NullOr(Schema.Date),
  periodEnd: Schema.NullOr(Schema.Date),
  subscriptionVersion: Schema.NullOr(Schema.String),
  contentVersion: Schema.String,
  lastJobAt: Schema.NullOr(Schema.String),
  lastQuestionAt: Schema.NullOr(Schema.String)
})
const decodeStatusStamps = decodeRows(StatusStampRow)

/** What the subscription status depends on (services/subscriptionStatusCache.ts), as one user's row holds it now. */
export interface StatusStampRow {
  readonly subscription: Option.Option<SubscriptionRow & { readonly version: string }>
  readonly contentVersion: string
  readonly lastJobAt: string | null
  readonly lastQuestionAt: string | null
}

/**
 * The status cache's stamp, none when the user does not exist: one statement, every part a
 * primary-key read (users, subscriptions) or the first entry of an index (jobs_user_idx,
 * plan_usage_user_resource_time_idx). Instants as seconds since the epoch (exact to the
 * microsecond, and the same text whatever the session's TimeZone or DateStyle).
 */
export const findStatusStamp = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        SELECT s.plan, s.period_start, s.period_end,
               extract(epoch FROM s.updated_at)::text AS subscription_version,
               u.content_version::text AS content_version,
               extract(epoch FROM (SELECT max(j.created_at) FROM jobs j WHERE j.user_id = u.id))::text AS last_job_at,
               extract(epoch FROM (
                 SELECT max(p.occurred_at) FROM plan_usage p WHERE p.user_id = u.id AND p.resource = 'chat_message'
               ))::text AS last_question_at
        FROM users u LEFT JOIN subscriptions s ON s.user_id = u.id
        WHERE u.id = ${userId}::uuid`,
      (rows) =>
        Effect.map(decodeStatusStamps(rows), ([row]): Option.Option<StatusStampRow> => {
          if (row === undefined) return Option.none()
          const { plan, periodStart, periodEnd, subscriptionVersion } = row
          return Option.some({
            subscription:
              plan !== null && periodStart !== null && periodEnd !== null && subscriptionVersion !== null
                ? Option.some({ userId, plan, periodStart, periodEnd, version: subscriptionVersion })
                : Option.none(),
            contentVersion: row.contentVersion,
            lastJobAt: row.lastJobAt,
            lastQuestionAt: row.lastQuestionAt
          })
        })
    )
  )

/** Whether the user's premium period is running now (the database's now). */
export const hasRunningPremium = (userId: UserId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`
        SELECT 1 AS ok FROM subscriptions
        WHERE user_id = ${userId}::uuid AND plan = 'premium' AND period_start <= now() AND period_end > now()`,
      (rows) => rows.length > 0
    )
  )

/**
 * Puts the user on `plan` for the period (insert or replace); none when the user does not exist:
 * selecting from users scopes the upsert to an existing account (no row, not a foreign-key error).
 */
export const upsertSubscription = (userId: UserId, plan: Plan, period: { readonly start: Date; readonly end: Date }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      sql`
        INSERT INTO subscriptions (user_id, plan, period_start, period_end)
        SELECT id, ${plan}, ${period.start}, ${period.end} FROM users WHERE id = ${userId}::uuid
        ON CONFLICT (user_id) DO UPDATE
          SET plan = EXCLUDED.plan, period_start = EXCLUDED.period_start, period_end = EXCLUDED.period_end, updated_at = now()
        RETURNING user_id, plan, period_start, period_end`,
      first
    )
  )
