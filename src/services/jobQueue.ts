/**
 * The JobQueue capability: where uploaded documents wait for a worker, and the lease that makes
 * a job run on one worker at a time. Locally the `jobs` row is the queue (claimed with
 * FOR UPDATE SKIP LOCKED); a live SQS layer would send a wake-up message on `enqueue` and keep
 * the same row-level lease, so every state change below stays guarded by the lease owner.
 *
 * Every lease-guarded method answers whether it took effect: false means the caller no longer
 * owns the job (its lease expired and another worker claimed it) and must stop touching it.
 * Called inside a caller's SQL transaction, the change commits or rolls back with it.
 */
import { Context, type Duration, type Effect, type Option, Schema } from "effect"
import type { ContentId, JobId, UserId } from "./ids.js"
import type { DatabaseUnavailable } from "./errors.js"
import type { DocumentContentType, DocumentType } from "./llm.js"

export const JobStatus = Schema.Literals(["queued", "processing", "completed", "failed"])
export type JobStatus = typeof JobStatus.Type

/** What a worker is doing with a job, for status reporting. */
export const JobStage = Schema.Literals(["opening", "interpreting", "storing", "done"])
export type JobStage = typeof JobStage.Type

/** A job as its worker sees it right after claiming it. */
export interface ClaimedJob {
  readonly jobId: JobId
  readonly userId: UserId
  readonly contentType: DocumentContentType
  readonly documentTypeHint: Option.Option<DocumentType>
  /** false: the model may not be sent the document as an image (the upload said so); default true. */
  readonly allowImageToModel: boolean
  readonly storageKey: string
  readonly sizeBytes: number
  /** This attempt's number, from 1 (claiming counts it). */
  readonly attempts: number
  readonly maxAttempts: number
  readonly leaseOwner: string
  readonly leaseExpiresAt: Date
  /** W3C traceparent of the upload, to link the processing trace to it. */
  readonly traceContext: Option.Option<string>
  readonly createdAt: Date
}

export interface JobError {
  /** A stable UPPER_SNAKE reason code. */
  readonly code: string
  /** Our own fixed sentence for the code, never model or document output. */
  readonly message: string
}

export class JobQueue extends Context.Service<
  JobQueue,
  {
    /** Makes the job known to workers (the row is already written and queued). */
    readonly enqueue: (
      jobId: JobId,
      options?: { readonly delay?: Duration.Input }
    ) => Effect.Effect<void, DatabaseUnavailable>
    /**
     * Takes the next runnable job — queued and due, or processing with an expired lease — for
     * `workerId` until now + `lease`, counting an attempt. None when there is nothing to do.
     */
    readonly claim: (
      workerId: string,
      lease: Duration.Input
    ) => Effect.Effect<Option.Option<ClaimedJob>, DatabaseUnavailable>
    /** Extends the lease to now + `lease` if `workerId` still owns the job. */
    readonly heartbeat: (
      jobId: JobId,
      workerId: string,
      lease: Duration.Input
    ) => Effect.Effect<boolean, DatabaseUnavailable>
    readonly setStage: (jobId: JobId, workerId: string, stage: JobStage) => Effect.Effect<boolean, DatabaseUnavailable>
    /** Marks the job completed with its content, only while `workerId` owns it: a job completes once. */
    readonly complete: (jobId: JobId, workerId: string, contentId: ContentId) => Effect.Effect<boolean, DatabaseUnavailable>
    /** Queues the job again after `delay`, keeping the error for diagnosis. */
    readonly retryLater: (
      jobId: JobId,
      workerId: string,
      error: JobError,
      delay: Duration.Input
    ) => Effect.Effect<boolean, DatabaseUnavailable>
    /** Gives up on the job with a reason code. */
    readonly fail: (jobId: JobId, workerId: string, code: string, message: string) => Effect.Effect<boolean, DatabaseUnavailable>
    /** Hands an unfinished job back (a worker shutting down) without counting the attempt. */
    readonly release: (jobId: JobId, workerId: string) => Effect.Effect<boolean, DatabaseUnavailable>
  }
>()("serenya/JobQueue") {}
