/**
 * Lambda timeouts from the functions' time budgets (src/services/resilience.ts): each function's
 * timeout is the sum of what it waits for plus its margin, so the deadlines inside it end the work
 * before Lambda would; a function behind API Gateway must also end before the gateway's 30 s.
 */
import { Duration } from "aws-cdk-lib"
import { Duration as EffectDuration } from "effect"
import { budgetTotal, type TimeBudget } from "../../../src/services/resilience.js"

export const timeoutFor = (budget: TimeBudget): Duration =>
  Duration.seconds(Math.ceil(EffectDuration.toMillis(budgetTotal(budget)) / 1000))

/** The duration alarm fires at five sixths of the timeout (the architecture's margins: 30 s of 180, 10 s of 60). */
export const durationAlarmMillis = (timeout: Duration): number => Math.round((timeout.toMilliseconds() * 5) / 6)
