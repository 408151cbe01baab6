/**
 * The processor function: SQS batches of job wake-ups. For each record it claims that job by id
 * (the row is the source of truth), runs processJob under a heartbeat, and reports the records
 * to deliver again (`batchItemFailures`): those whose job failed transiently or could not be
 * claimed right now. Everything else is acknowledged:
 * - a poisoned record (not JSON, no job id, an unknown job) is logged and dropped, never retried;
 * - a redelivered message for a finished job is a no-op (processing is idempotent);
 * - on the queue's last delivery (ApproximateReceiveCount ≥ maxReceiveCount) a job that would
 *   be retried is failed with DELIVERY_EXHAUSTED instead of vanishing into the DLQ still queued.
 * The function also consumes the job queue's dead-letter queue (records whose eventSourceARN is
 * JOB_DLQ_ARN): a message lands there when the last delivery never answered (the function timed
 * out or crashed), and its job, unless finished, is failed with DELIVERY_EXHAUSTED, a lease
 * held by the hung worker included. Dead letters are never processed, only settled.
 *
 * An EventBridge schedule also invokes it (deploy/lambda/infra/functions.ts): on Lambda no worker
 * pool runs, so the scheduled run is where leftover originals are swept and the erasure outbox
 * (the deletions erased accounts still owe) and the notification outbox (pushes finished jobs
 * owe) are drained. Each batch also sends a few due pushes after its records (bounded), so a push
 * whose fast path failed does not wait for the schedule while jobs keep coming. A job failed here
 * (deliveries exhausted, dead-lettered) owes its pushes like one failed by processJob: written in
 * the same transaction.
 */
// First: Schema's JIT compiler (see src/main/server.ts).
import "effect/schema/SchemaJITCompiler/enable"
import type { ScheduledEvent, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda"
import { Context, Duration, Effect, Layer, Option, Result, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { WorkerConfig } from "../../config/worker.js"
import { DatabaseLive } from "../../layers/database/postgres.js"
import { claimJobById, failDeadLettered, failUndeliverable, JobMessage } from "../../layers/jobQueue/sqs.js"
import { drainErasureOutbox } from "../../programs/erasureOutbox.js"
import {
  deliverJobNotifications,
  drainNotificationOutbox,
  enqueueJobNotifications,
  FAST_PATH_TIMEOUT
} from "../../programs/notificationOutbox.js"
import { processLeasedJob, type ProcessOptions } from "../../programs/processJob.js"
import { sweepOriginals } from "../../programs/sweepOriginals.js"
import { servicesLayer } from "../layers.js"
import { inTransaction } from "../../repos/transaction.js"
import type { JobId } from "../../services/ids.js"
import { makeContainer } from "./container.js"
import { baseLayer, flushTelemetry, jobQueueLayer, loadLiveSettings, withinInvocationTrace } from "./live.js"
import { fnTraced } from "../../services/telemetry.js"

export const DELIVERY_EXHAUSTED = "DELIVERY_EXHAUSTED"
export const DELIVERY_EXHAUSTED_MESSAGE = "The job could not be processed within its deliveries."

export interface ProcessorOptions {
  readonly maxReceiveCount: number
  /** The job queue's dead-letter queue: records from it fail their job instead of running it. */
  readonly deadLetterQueueArn?: string
  /** Lease owner prefix; one per container. */
  readonly workerId?: string
  readonly lease?: Duration.Input
  readonly process?: ProcessOptions
}

export class ProcessorConfig extends Context.Service<ProcessorConfig, ProcessorOptions>()("serenya/ProcessorConfig") {}

type RecordResult = "done" | "retry"

export type ProcessorServices =
  | Effect.Services<ReturnType<typeof processLeasedJob>>
  | Effect.Services<ReturnType<typeof claimJobById>>
  | Effect.Services<ReturnType<typeof sweepOriginals>>
  | Effect.Services<ReturnType<typeof drainErasureOutbox>>
  | Effect.Services<ReturnType<typeof drainNotificationOutbox>>
  | WorkerConfig
  | ProcessorConfig

const decodeMessage = Schema.decodeUnknownResult(Schema.fromJsonString(JobMessage))

/** The job a record wakes up; none for anything else, which is logged and acknowledged (never retried). */
const jobOf = (record: SQSRecord, what: "message" | "dead letter") => {
  const message = decodeMessage(record.body)
  return Result.isSuccess(message)
    ? Effect.succeed(Option.some(message.success.jobId))
    : Effect.as(
      Effect.logWarning(`processor: ${what} is not a job wake-up; acknowledged`).pipe(Effect.annotateLogs({ messageId: record.messageId })),
      Option.none()
    )
}

const containerWorker = `lambda-${randomBytes(4).toString("hex")}`

/** Inside a transaction: the job failed (`fail` answered true) and its pushes owed; the pushes' ids, or undefined when it was not failed here. */
const failJobWithPushes = <E, R>(fail: Effect.Effect<boolean, E, R>, jobId: JobId) =>
  Effect.flatMap(fail, (done) => (done ? enqueueJobNotifications(jobId, "job.failed") : Effect.succeed(undefined)))

const processRecord = fnTraced("Lambda.processRecord")(function* (record: SQSRecord, options: ProcessorOptions) {
  const messageId = record.messageId
  const woken = yield* jobOf(record, "message")
  if (Option.isNone(woken)) return "done" as RecordResult
  const jobId = woken.value
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? "1")
  const lastDelivery = receiveCount >= options.maxReceiveCount
  const worker = yield* WorkerConfig
  const lease = Duration.fromInputUnsafe(options.lease ?? worker.lease)
  const workerId = `${options.workerId ?? containerWorker}-${messageId}`
  yield* Effect.annotateCurrentSpan({ "job.id": jobId, "messaging.message.id": messageId, "messaging.receive_count": receiveCount })

  const giveUp = Effect.gen(function* () {
    // the failure and its pushes commit together
    const pushes = yield* inTransaction(failJobWithPushes(failUndeliverable(jobId, workerId, DELIVERY_EXHAUSTED, DELIVERY_EXHAUSTED_MESSAGE), jobId))
    const failed = pushes !== undefined
    yield* Effect.logWarning("processor: deliveries exhausted").pipe(Effect.annotateLogs({ jobId, messageId, failed }))
    if (failed && pushes.length > 0) yield* deliverJobNotifications(jobId)
    return "done" as RecordResult
  })

  const claimed = yield* claimJobById(jobId, workerId, lease)
  switch (claimed._tag) {
    case "unknown":
      yield* Effect.logWarning("processor: no such job; acknowledged").pipe(Effect.annotateLogs({ messageId }))
      return "done" as RecordResult
    case "finished":
    case "exhausted":
      return "done" as RecordResult
    case "leased":
      // another worker is on it; come back later, unless this was the last delivery
      return lastDelivery ? "done" : ("retry" as RecordResult)
    case "claimed":
      break
  }

  const outcome = yield* processLeasedJob(claimed.job, workerId, lease, options.process ?? {})
  yield* Effect.logInfo("processor: job processed").pipe(Effect.annotateLogs({ jobId, messageId, outcome: outcome._tag }))
  if (outcome._tag !== "retrying") return "done" as RecordResult
  return lastDelivery ? yield* giveUp : ("retry" as RecordResult)
})

/** A wake-up whose deliveries ran out without an answer: its job is failed, never run. */
const processDeadLetter = fnTraced("Lambda.processDeadLetter")(function* (record: SQSRecord) {
  const messageId = record.messageId
  const woken = yield* jobOf(record, "dead letter")
  if (Option.isNone(woken)) return "done" as RecordResult
  const jobId = woken.value
  yield* Effect.annotateCurrentSpan({ "job.id": jobId, "messaging.message.id": messageId })
  const pushes = yield* inTransaction(failJobWithPushes(failDeadLettered(jobId, DELIVERY_EXHAUSTED, DELIVERY_EXHAUSTED_MESSAGE), jobId))
  const failed = pushes !== undefined
  if (failed && pushes.length > 0) yield* deliverJobNotifications(jobId)
  const log = failed
    ? Effect.logWarning("processor: dead-lettered job failed")
    : Effect.logInfo("processor: dead-lettered job is finished or unknown; acknowledged")
  yield* log.pipe(Effect.annotateLogs({ jobId, messageId }))
  return "done" as RecordResult
})

export const processBatch = fnTraced("Lambda.processBatch")(function* (event: SQSEvent, options: ProcessorOptions) {
  const failures: Array<{ itemIdentifier: string }> = []
  // One at a time: the mapping's batch size is 1 and the function's memory is sized for one document.
  for (const record of event.Records) {
    const deadLetter = options.deadLetterQueueArn !== undefined && record.eventSourceARN === options.deadLetterQueueArn
    const result = yield* (deadLetter ? processDeadLetter(record) : processRecord(record, options)).pipe(
      Effect.catchCause((cause) =>
        Effect.logWarning("processor: record failed; it will be delivered again", cause).pipe(
          Effect.annotateLogs({ messageId: record.messageId }),
          Effect.as("retry" as RecordResult)
        )
      )
    )
    if (result === "retry") failures.push({ itemIdentifier: record.messageId })
  }
  // A few due pushes whose fast path failed (bounded; never the batch's concern).
  yield* drainNotificationOutbox({ batch: PUSHES_PER_BATCH }).pipe(
    Effect.timeoutOrElse({ duration: FAST_PATH_TIMEOUT, orElse: () => Effect.void }),
    Effect.catchCause((cause) => Effect.logWarning("processor: notification outbox failed", cause))
  )
  return { batchItemFailures: failures } satisfies SQSBatchResponse
})

/** Due pushes a batch of job wake-ups sends after its records. */
const PUSHES_PER_BATCH = 20

export interface HousekeepingReport {
  readonly originalsSwept: number
  readonly outbox: { readonly done: number; readonly failed: number }
  /** The notification outbox: pushes sent, and those failed again (retried later). */
  readonly notifications: { readonly sent: number; readonly retrying: number }
}

/** The scheduled run: leftover originals, the erasure outbox, the notification outbox; each on its own, so one failing spares the others. */
export const housekeeping = Effect.gen(function* () {
  const originalsSwept = yield* sweepOriginals().pipe(
    Effect.catchCause((cause) => Effect.as(Effect.logWarning("processor: sweep failed", cause), 0))
  )
  const outbox = yield* drainErasureOutbox().pipe(
    Effect.map(({ done, failed }) => ({ done, failed })),
    Effect.catchCause((cause) => Effect.as(Effect.logWarning("processor: erasure outbox failed", cause), { done: 0, failed: 0 }))
  )
  const notifications = yield* drainNotificationOutbox().pipe(
    Effect.map(({ sent, retrying }) => ({ sent, retrying })),
    Effect.catchCause((cause) => Effect.as(Effect.logWarning("processor: notification outbox failed", cause), { sent: 0, retrying: 0 }))
  )
  return { originalsSwept, outbox, notifications } satisfies HousekeepingReport
}).pipe(Effect.withSpan("Lambda.housekeeping"))

/** EventBridge's scheduled event, as opposed to an SQS batch. */
export const isScheduledEvent = (event: SQSEvent | ScheduledEvent): event is ScheduledEvent =>
  !("Records" in event) && (event as Partial<ScheduledEvent>)["detail-type"] === "Scheduled Event"

export const makeProcessorHandler = <E>(name: string, services: Layer.Layer<ProcessorServices, E>) => {
  const container = makeContainer(name, Layer.build(services))
  function handler(event: SQSEvent): Promise<SQSBatchResponse>
  function handler(event: ScheduledEvent): Promise<HousekeepingReport>
  function handler(event: SQSEvent | ScheduledEvent): Promise<SQSBatchResponse | HousekeepingReport>
  async function handler(event: SQSEvent | ScheduledEvent): Promise<SQSBatchResponse | HousekeepingReport> {
    const context = await container.get()
    const work: Effect.Effect<SQSBatchResponse | HousekeepingReport, never, ProcessorServices> = isScheduledEvent(event)
      ? housekeeping
      : Effect.flatMap(ProcessorConfig, (options) => processBatch(event, options))
    return Effect.runPromiseWith(context)(withinInvocationTrace(work).pipe(Effect.ensuring(flushTelemetry)))
  }
  return { handler, dispose: container.dispose }
}

export const liveProcessorServices = Layer.unwrap(
  Effect.map(loadLiveSettings, ({ settings, lambda }) =>
    Layer.mergeAll(
      jobQueueLayer(lambda),
      servicesLayer(settings),
      Layer.succeed(ProcessorConfig, {
        maxReceiveCount: lambda.jobQueueMaxReceiveCount,
        ...Option.match(lambda.jobDeadLetterQueueArn, { onNone: () => ({}), onSome: (arn) => ({ deadLetterQueueArn: arn }) })
      })
    ).pipe(Layer.provideMerge(DatabaseLive), Layer.provideMerge(baseLayer(settings)))
  )
)

export const { handler } = makeProcessorHandler(process.env.AWS_LAMBDA_FUNCTION_NAME ?? "processor", liveProcessorServices)
