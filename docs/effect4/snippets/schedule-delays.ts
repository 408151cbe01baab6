/** processJob.ts's `Schedule.run(Schedule.delays(s), now, inputs)` on 4.1.5: step the schedule with Schedule.toStep. */
import { Cause, Duration, Effect, Schedule } from "effect"

/** The delays a schedule would wait before retries 1..n (v3: Chunk of Schedule.run(Schedule.delays(s), now, inputs)). */
const delaysOf = <O>(schedule: Schedule.Schedule<O, unknown>, n: number, now = 0) =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(schedule)
    const delays: Array<Duration.Duration> = []
    for (let i = 0; i < n; i++) {
      const exit = yield* Effect.exit(step(now, undefined))
      if (exit._tag === "Failure") break // Cause.done: the schedule has ended
      const [, delay] = exit.value
      delays.push(delay)
      now += Duration.toMillis(delay)
    }
    return delays
  })

const policy = Schedule.max([Schedule.exponential("100 millis"), Schedule.recurs(4)])
const delays = await Effect.runPromise(delaysOf(policy, 6))
console.log("exponential(100ms) ∩ recurs(4), 6 steps ->", delays.map(Duration.format))
void Cause
