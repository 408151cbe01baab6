/**
 * `subscriptions`: at most one row per user (the primary key), written only by the operator's
 * `setPlan`. Premium holds only while its period runs (`period_start <= now < period_end`); no
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
