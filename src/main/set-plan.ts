/**
 * The operator's command: `set-plan <userId> <free|premium> [--months N]` puts a user on a plan
 * (premium for N months from now, default 1) in DATABASE_URL (or the embedded database) and
 * prints one JSON line: `{"subscription":{"userId":…,"plan":…,"period":{"start":…,"end":…}}}`.
 * Wrong arguments: a usage line on stderr, exit code 64; an unknown user: exit code 1.
 */
import { Clock, Effect, Result, Option, Schema } from "effect"
import { UserId } from "../services/ids.js"
import { addMonths, Plan, setPlan } from "../programs/subscription.js"
import { SqlClientLive } from "../layers/database/postgres.js"
import { runEntryPoint } from "./runtime.js"

const USAGE = "usage: set-plan <userId> <free|premium> [--months N]"

interface Command {
  readonly userId: UserId
  readonly plan: Plan
  readonly months: Option.Option<number>
}

const parseArguments = (args: ReadonlyArray<string>): Result.Result<Command, string> => {
  const [user, plan, ...rest] = args
  const userId = Schema.decodeUnknownOption(UserId)(user)
  if (Option.isNone(userId)) return Result.fail("the user id must be a UUID")
  if (!Schema.is(Plan)(plan)) return Result.fail("the plan must be free or premium")
  if (rest.length === 0) return Result.succeed({ userId: userId.value, plan, months: Option.none() })
  const [flag, value, ...extra] = rest
  if (flag !== "--months" || value === undefined || extra.length > 0) return Result.fail("unexpected arguments")
  if (plan !== "premium") return Result.fail("--months applies to premium only")
  const months = /^[1-9]\d{0,2}$/.test(value) ? Number(value) : Number.NaN
  if (Number.isNaN(months)) return Result.fail("--months must be a whole number from 1 to 999")
  return Result.succeed({ userId: userId.value, plan, months: Option.some(months) })
}

const command = parseArguments(process.argv.slice(2))

if (Result.isFailure(command)) {
  process.stderr.write(`${command.failure}\n${USAGE}\n`)
  process.exitCode = 64 // EX_USAGE
} else {
  const { userId, plan, months } = command.success
  runEntryPoint(
    "set-plan",
    () =>
      Effect.gen(function* () {
        const start = new Date(yield* Clock.currentTimeMillis)
        const assigned = Option.isSome(months)
          ? yield* setPlan(userId, plan, { start, end: addMonths(start, months.value) })
          : yield* setPlan(userId, plan)
        const line = JSON.stringify({
          subscription: {
            userId: assigned.userId,
            plan: assigned.plan,
            period: { start: assigned.period.start.toISOString(), end: assigned.period.end.toISOString() }
          }
        })
        // The line holds ids, the plan and dates only: it is the command's output.
        yield* Effect.sync(() => process.stdout.write(`${line}\n`))
      }),
    () => SqlClientLive
  )
}
