/**
 * Checkpoints of the audit chain's head, kept outside the database: files under DATA_DIR locally,
 * S3 objects under Object Lock in compliance mode live (nobody, the account's root included, can
 * delete or overwrite one before its retention ends). Each checkpoint is MAC'd with a key derived
 * from the audit key (layers/audit/chain.ts), so one cannot be forged either. `verify` checks that
 * the chain in the database still reaches the latest checkpoint with the same head: deleting the
 * tail of the trail, or re-chaining it, shows.
 */
import { Context, type Effect, type Option, Schema } from "effect"
import type { AuditUnavailable } from "./audit.js"

export const CHECKPOINT_VERSION = "serenya.audit.checkpoint.v2"

export const AuditCheckpoint = Schema.Struct({
  version: Schema.Literal(CHECKPOINT_VERSION),
  /** The position of the last seal covered. */
  position: Schema.Number,
  /** The seq of that seal's row. */
  seq: Schema.Number,
  /** That seal's MAC, hex. */
  head: Schema.String,
  /** The key epoch the checkpoint's MAC is made with. */
  epoch: Schema.String,
  /** When it was taken, ISO 8601. */
  at: Schema.String,
  /** HMAC of the fields above (chain.ts checkpointMac), hex. */
  mac: Schema.String
})
export type AuditCheckpoint = typeof AuditCheckpoint.Type

export class AuditCheckpoints extends Context.Service<
  AuditCheckpoints,
  {
    /** Stores a checkpoint for good (write once: an existing one for that position is kept). */
    readonly write: (checkpoint: AuditCheckpoint) => Effect.Effect<void, AuditUnavailable>
    /** The checkpoint with the highest position, if any. */
    readonly latest: Effect.Effect<Option.Option<AuditCheckpoint>, AuditUnavailable>
  }
>()("serenya/AuditCheckpoints") {}

/** The name of a checkpoint: positions count down, so the latest sorts first in a listing. */
export const checkpointName = (position: number): string =>
  `${String(Number.MAX_SAFE_INTEGER - position).padStart(16, "0")}-${String(position).padStart(16, "0")}.json`
