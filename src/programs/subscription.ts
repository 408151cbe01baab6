/**
 * Plans and what they allow. A user without a `subscriptions` row, or whose premium period is
 * not running now, is on the free plan, whose period is the calendar month in UTC; premium's
 * period is the row's. Usage is counted from rows, not kept in a counter that could drift: jobs
 * created (a job row outlives its document), and chat questions in the plan_usage ledger (written
 * with each question; deleting a document does not give its questions back). A limit of `null`
 * means unlimited.
 */
import { Clock, Effect, Option } from "effect"
import { PlanLimits } from "../services/plans.js"
import * as Subscriptions from "../repos/subscriptions.js"
import type { Plan } from "../repos/subscriptions.js"
import * as Usage from "../repos/usage.js"
import { Audit, type RequestContext } from "../services/audit.js"
import { CostTracker, monthOf } from "../services/costTracker.js"
import { InvalidRequest, NotFound, QuotaExceeded } from "../services/errors.js"
import type { UserId } from "../services/ids.js"
import { type StatusUsage, statusStamp, SubscriptionStatusCache } from "../services/subscriptionStatusCache.js"
import { fnTraced } from "../services/telemetry.js"

export { Plan } from "../repos/subscriptions.js"

/** Request metadata an audited program passes on to the trail (never health data). */

/** A half-open interval [start, end). */
export interface Period {
  readonly start: Date
  readonly end: Date
}

export interface CurrentPlan {
  readonly plan: Plan
  readonly period: Period
}

/** `used` so far in the period; `limit: null` is unlimited (premium). */
export interface Allowance {
  readonly used: number
  readonly limit: number | null
}

export interface SubscriptionStatus {
  readonly plan: Plan
  readonly period: Period
  readonly documents: Allowance
  readonly chatMessages: Allowance
  /** This calendar month's (UTC) LLM cost against the monthly budget, whatever the plan. */
  readonly llmCostCents: { readonly used: number; readonly budget: number }
}

export type PlanResource = "documents" | "chatMessages"

/** The calendar month (UTC) holding `now`. */
export const calendarMonth = (now: Date): Period => ({
  start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
  end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
})

/** `months` months after `date` (UTC), the day clamped to the target month's last day: 31 Jan + 1 → 28/29 Feb. */
export const addMonths = (date: Date, months: number): Date => {
  const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1))
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate()
  target.setUTCDate(Math.min(date.getUTCDate(), lastDay))
  target.setUTCHours(date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds())
  return target
}

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

/** The plan in force at `at` under the user's row (none, or a premium period not running: free). */
const planAt = (row: Option.Option<Subscriptions.SubscriptionRow>, at: Date): CurrentPlan =>
  Option.isSome(row) && row.value.plan === "premium" && row.value.periodStart <= at && at < row.value.periodEnd
    ? { plan: "premium", period: { start: row.value.periodStart, end: row.value.periodEnd } }
    : { plan: "free", period: calendarMonth(at) }

/** The plan in force now and its period. */
export const currentPlan = fnTraced("Subscription.currentPlan")(function* (userId: UserId) {
  const at = yield* now
  return planAt(yield* Subscriptions.findSubscription(userId), at)
})

/** Documents uploaded (jobs created) in the period. */
export const documentsUsed = fnTraced("Subscription.documentsUsed")(function* (userId: UserId, period: Period) {
  return yield* Usage.countJobsCreated(userId, period)
})

/**
 * Questions asked in the period, from the plan_usage ledger (written with each question; deleting
 * the document and its conversation does not give the questions back).
 */
export const chatMessagesUsed = fnTraced("Subscription.chatMessagesUsed")(function* (userId: UserId, period: Period) {
  return yield* Usage.countChatMessages(userId, period)
})

const limitOf = (plan: Plan, resource: PlanResource, limits: (typeof PlanLimits)["Service"]): number | null =>
  plan === "premium"
    ? null
    : resource === "documents"
      ? limits.freeDocumentsPerMonth
      : limits.freeChatMessagesPerMonth

/**
 * Fails with QuotaExceeded when one more of `resource` would go over the plan's limit. A check,
 * not a reservation: concurrent requests at the limit may each pass once.
 */
export const ensureWithinPlanLimit = fnTraced("Subscription.ensureWithinPlanLimit")(function* (
  userId: UserId,
  resource: PlanResource
) {
  const limits = yield* PlanLimits
  const { plan, period } = yield* currentPlan(userId)
  const limit = limitOf(plan, resource, limits)
  if (limit === null) return
  const used = resource === "documents" ? yield* documentsUsed(userId, period) : yield* chatMessagesUsed(userId, period)
  if (used >= limit) {
    const what = resource === "documents" ? "documents" : "chat messages"
    return yield* new QuotaExceeded({
      message: `The free plan allows ${limit} ${what} per month; the limit resets at the start of next month (UTC)`
    })
  }
})

/** The period's counts and the month's LLM cost, read: two counts and the cost store's sum. */
const usageIn = (userId: UserId, period: Period, at: Date) =>
  Effect.flatMap(CostTracker, (costs) =>
    Effect.map(
      Effect.all(
        [documentsUsed(userId, period), chatMessagesUsed(userId, period), costs.monthlyUsage(userId, monthOf(at))],
        { concurrency: "unbounded" }
      ),
      ([documentsUsed, chatMessagesUsed, cost]): StatusUsage => ({ documentsUsed, chatMessagesUsed, llmCostCents: cost.totalCostCents })
    )
  )

/**
 * The plan, its period and its usage at `at`. With a cache (services/subscriptionStatusCache.ts):
 * the stamp's one statement, then the usage stored under that stamp, or computed and stored. The
 * plan is the row's every time, never the cache's.
 */
const statusAt = (userId: UserId, at: Date) =>
  Effect.gen(function* () {
    const cache = yield* SubscriptionStatusCache
    if (!cache.enabled) {
      // Without a cache the stamp would be a query for nothing: the row, then the usage.
      const current = planAt(yield* Subscriptions.findSubscription(userId), at)
      return { ...current, usage: yield* usageIn(userId, current.period, at) }
    }
    const found = yield* Subscriptions.findStatusStamp(userId)
    if (Option.isNone(found)) {
      // No such user (erased, their access token not yet expired): nothing of theirs is kept.
      yield* cache.invalidate(userId)
      const current = planAt(Option.none(), at)
      return { ...current, usage: yield* usageIn(userId, current.period, at) }
    }
    const { subscription, contentVersion, lastJobAt, lastQuestionAt } = found.value
    const current = planAt(subscription, at)
    const stamp = statusStamp({
      userId,
      subscription: Option.match(subscription, {
        onNone: () => null,
        onSome: (row) => ({ plan: row.plan, periodStart: row.periodStart, periodEnd: row.periodEnd, version: row.version })
      }),
      plan: current.plan,
      period: current.period,
      costMonth: monthOf(at),
      contentVersion,
      lastJobAt,
      lastQuestionAt
    })
    const cached = yield* cache.lookup(userId, stamp)
    yield* Effect.annotateCurrentSpan("cache.hit", Option.isSome(cached))
    if (Option.isSome(cached)) return { ...current, usage: cached.value }
    const usage = yield* usageIn(userId, current.period, at)
    yield* cache.store(userId, stamp, usage)
    return { ...current, usage }
  })

/**
 * `GET /subscriptions/status`: the plan, its period and what is used of it, audited. The usage may
 * come from this process's status cache (15 minutes at most, and only while nothing it depends on
 * has moved: services/subscriptionStatusCache.ts); the plan never does.
 */
export const getSubscriptionStatus = fnTraced("Subscription.status")(function* (
  userId: UserId,
  requestContext: RequestContext = {}
) {
  const limits = yield* PlanLimits
  const audit = yield* Audit
  const at = yield* now
  const { plan, period, usage } = yield* statusAt(userId, at)
  yield* audit.record({
    ...requestContext,
    actorUserId: userId,
    action: "subscription.read",
    resourceType: "subscription",
    resourceId: userId,
    outcome: "success"
  })
  return {
    plan,
    period,
    documents: { used: usage.documentsUsed, limit: limitOf(plan, "documents", limits) },
    chatMessages: { used: usage.chatMessagesUsed, limit: limitOf(plan, "chatMessages", limits) },
    llmCostCents: { used: usage.llmCostCents, budget: limits.llmBudgetCentsPerMonth }
  } satisfies SubscriptionStatus
})

export interface PlanAssignment {
  readonly userId: UserId
  readonly plan: Plan
  readonly period: Period
}

/**
 * The operator's command: puts the user on `plan`. Premium runs for `period` (default: one month
 * from now); free's stored period is informational (free always counts by calendar month). The
 * user's cached status goes at once here; every other instance sees the row's new stamp.
 */
export const setPlan = fnTraced("Subscription.setPlan")(function* (userId: UserId, plan: Plan, period?: Period) {
  const at = yield* now
  const chosen = period ?? (plan === "premium" ? { start: at, end: addMonths(at, 1) } : calendarMonth(at))
  if (Number.isNaN(chosen.start.getTime()) || Number.isNaN(chosen.end.getTime()) || chosen.end <= chosen.start) {
    return yield* new InvalidRequest({ message: "The period must end after it starts" })
  }
  const stored = yield* Subscriptions.upsertSubscription(userId, plan, chosen)
  if (Option.isNone(stored)) return yield* new NotFound({ message: "No such user" })
  yield* Effect.flatMap(SubscriptionStatusCache, (cache) => cache.invalidate(userId))
  const row = stored.value
  return { userId: row.userId, plan: row.plan, period: { start: row.periodStart, end: row.periodEnd } } satisfies PlanAssignment
})
