/**
 * The subscription status (`GET /subscriptions/status`) kept per user for at most 15 minutes (the
 * architecture's status cache), correct across instances without a shared cache or a message bus.
 *
 * What a status costs uncached: the subscription row (a primary-key read), two counts over the
 * period (the user's jobs and plan_usage rows, index scans that grow with a premium user's use) and
 * the month's LLM cost from the cost store — on DynamoDB a paginated Query summing every record of
 * the month, the one read that leaves the database. What is cached is that usage: the two counts
 * and the cost. The plan and its period never come from the cache: they are worked out on every
 * read from the row read then.
 *
 * The design. Every read first takes the user's *stamp*: one statement of primary-key and index
 * lookups (repos/subscriptions.ts findStatusStamp) reading what the status depends on —
 * - the subscription row itself and its `updated_at` (every plan change: `npm run set-plan` and
 *   anything else that calls `setPlan` go through `upsertSubscription`, which moves it), and the
 *   plan and period it gives now, with the cost's calendar month (a premium period lapsing, a new
 *   month for the free plan or for the cost: a new stamp, though nothing was written);
 * - the latest job's creation (an upload, direct or presigned: a document counted);
 * - the latest question in the plan_usage ledger (a chat question counted; its LLM cost is recorded
 *   before the question is stored, so the cost is read again with it);
 * - `users.content_version`, bumped by the database when a processed document is saved (the cost
 *   of its processing, recorded before, is read again with it);
 * - the user's row at all (an erased account has none: nothing is served or kept for it).
 * An entry is served only under the stamp it was stored with, so a change made by any instance (a
 * set-plan run from an operator's laptop included) is seen at once by every other, for the price of
 * that one statement instead of the whole computation. In the process that makes it, a plan change
 * or an erasure also drops the entry at once (`invalidate`), which frees it rather than waiting.
 *
 * The trade-off, what a 15-minute cache still allows: usage that moves without moving the stamp is
 * shown up to 15 minutes late — LLM cost recorded later than the row that announces it (a job that
 * fails after its model calls, a cost record retried in the background) or not yet visible when
 * read (DynamoDB's monthly index is eventually consistent), and the rare write whose stamp sorts
 * before the latest one already seen (two uploads or questions of one user committed out of order). Never a plan: plan and period are the row's. Never another user's numbers: entries
 * are per user id, and the stamp names the user too. Limits are enforced from fresh counts
 * (ensureWithinPlanLimit reads no cache): the cache only ever changes what the status shows.
 *
 * Entries live in this process's memory only: at most 15 minutes each (a shorter time-to-live may
 * be asked for, never a longer one) and a bounded number of users, least recently used out first.
 * A process that provides no cache (the CLI commands, the worker, most tests) reads every status
 * afresh: the default is `NoSubscriptionStatusCache`; src/main/layers.ts gives the API its cache.
 */
import { Context, Duration, Effect, Option } from "effect"
import type { UserId } from "./ids.js"

/** The architecture's bound: no cached status is ever older than this. */
export const STATUS_CACHE_MAX_AGE: Duration.Duration = Duration.minutes(15)

/** What the status shows of the period's use (the part a cache keeps). */
export interface StatusUsage {
  readonly documentsUsed: number
  readonly chatMessagesUsed: number
  /** This calendar month's (UTC) LLM cost, cents. */
  readonly llmCostCents: number
}

/** Everything a status's usage depends on, as read (and worked out) for one request. */
export interface StatusStampParts {
  readonly userId: UserId
  /** The user's subscription row, null without one. */
  readonly subscription: {
    readonly plan: string
    readonly periodStart: Date
    readonly periodEnd: Date
    /** Its `updated_at` (seconds since the epoch, as the database writes it: exact to the microsecond). */
    readonly version: string
  } | null
  /** The plan in force now and its period (worked out from the row and the clock). */
  readonly plan: string
  readonly period: { readonly start: Date; readonly end: Date }
  /** The calendar month (UTC, "YYYY-MM") whose LLM cost is shown. */
  readonly costMonth: string
  readonly contentVersion: string
  readonly lastJobAt: string | null
  readonly lastQuestionAt: string | null
}

/**
 * The stamp an entry is stored and served under: every part, in a fixed order, as JSON (so two
 * different sets of parts can never give the same stamp).
 */
export const statusStamp = (parts: StatusStampParts): string =>
  JSON.stringify([
    parts.userId,
    parts.subscription === null
      ? null
      : [parts.subscription.plan, parts.subscription.periodStart.getTime(), parts.subscription.periodEnd.getTime(), parts.subscription.version],
    parts.plan,
    parts.period.start.getTime(),
    parts.period.end.getTime(),
    parts.costMonth,
    parts.contentVersion,
    parts.lastJobAt,
    parts.lastQuestionAt
  ])

export interface SubscriptionStatusCacheService {
  /** False when nothing is ever kept: callers then skip the stamp and compute every status. */
  readonly enabled: boolean
  /** The usage stored for this user under exactly this stamp, unless it has expired. */
  readonly lookup: (userId: UserId, stamp: string) => Effect.Effect<Option.Option<StatusUsage>>
  readonly store: (userId: UserId, stamp: string, usage: StatusUsage) => Effect.Effect<void>
  /** Drops the user's entry (their plan changed here, or their account is gone). */
  readonly invalidate: (userId: UserId) => Effect.Effect<void>
}

/** Keeps nothing: every status is computed. */
export const NoSubscriptionStatusCache: SubscriptionStatusCacheService = {
  enabled: false,
  lookup: () => Effect.succeed(Option.none()),
  store: () => Effect.void,
  invalidate: () => Effect.void
}

/**
 * The status cache of this process. A `Context.Reference`: where none is provided, `yield*` gives
 * NoSubscriptionStatusCache (nothing cached, always correct), so the commands and programs that
 * only invalidate (set-plan, erasure) need not be handed one.
 */
export class SubscriptionStatusCache extends Context.Reference<SubscriptionStatusCacheService>(
  "serenya/SubscriptionStatusCache",
  { defaultValue: () => NoSubscriptionStatusCache }
) {}
