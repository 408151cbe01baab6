/**
 * Where an upload is: `GET /jobs/{jobId}/status`. Scoped to the user in the SQL itself, so
 * another user's job id reads exactly like a missing one. The error is shown once the job has
 * failed; its message is our own fixed sentence for the reason code.
 */
import { Option } from "effect"
import * as Jobs from "../repos/jobs.js"
import { Audit, type RequestContext } from "../services/audit.js"
import type { JobStage, JobStatus as JobStatusName } from "../services/jobQueue.js"
import type { ContentId, JobId, UserId } from "../services/ids.js"
import { orDatabaseUnavailable } from "../services/database.js"
import { fnTraced } from "../services/telemetry.js"

export interface JobStatus {
  readonly jobId: JobId
  readonly status: JobStatusName
  readonly stage?: JobStage
  readonly attempts: number
  readonly contentId?: ContentId
  readonly error?: { readonly code: string; readonly message: string }
  readonly createdAt: Date
  readonly updatedAt: Date
}

export const getJobStatus = fnTraced("Jobs.status")(
  function* (userId: UserId, jobId: JobId, requestContext: RequestContext = {}) {
    const audit = yield* Audit
    const row = Option.getOrUndefined(yield* Jobs.findJobStatus(userId, jobId))
    yield* audit.record({
      ...requestContext,
      actorUserId: userId,
      action: "job.status",
      resourceType: "job",
      resourceId: jobId,
      outcome: row === undefined ? "failure" : "success"
    })
    if (row === undefined) return Option.none<JobStatus>()
    return Option.some<JobStatus>({
      jobId: row.id,
      status: row.status,
      ...(row.stage !== null ? { stage: row.stage } : {}),
      attempts: row.attempts,
      ...(row.contentId !== null ? { contentId: row.contentId } : {}),
      ...(row.status === "failed" && row.errorCode !== null
        ? { error: { code: row.errorCode, message: row.errorMessage ?? "The document could not be processed." } }
        : {}),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt
    })
  },
  orDatabaseUnavailable("The job's status cannot be read right now", "job status")
)
