/** The audit trail's sealing and its checkpoints outside the database (layers/audit/postgres.ts). */
import { Config, Context, Duration, Layer, type Option } from "effect"
import { collect, millis, nonNegativeInt, positiveInt } from "./shared.js"

/** The audit trail's sealing and its checkpoints outside the database (layers/audit/postgres.ts). */
export interface AuditSettings {
  /** How often this process tries to seal (only one process of the fleet seals at a time); zero: never. */
  readonly sealInterval: Duration.Duration
  /** A checkpoint of the head is written at most this often (when the head moved). */
  readonly checkpointInterval: Duration.Duration
  /** Rows older than this and still unsealed fail `audit:verify`. */
  readonly unsealedGrace: Duration.Duration
  /** S3 bucket (Object Lock, compliance mode) for checkpoints; absent: files under DATA_DIR/audit-checkpoints. */
  readonly checkpointBucket: Option.Option<string>
  /** Days a checkpoint object is locked for (compliance mode retention). */
  readonly checkpointRetentionDays: number
}

/** The variables, read and defaulted (production's AUDIT_CHECKPOINT_BUCKET is src/config.ts's rule). */
export const auditConfig: Config.Config<AuditSettings> = collect({
  sealInterval: nonNegativeInt("AUDIT_SEAL_INTERVAL_MS", 5_000).pipe(Config.map(Duration.millis)),
  checkpointInterval: nonNegativeInt("AUDIT_CHECKPOINT_INTERVAL_MS", 300_000).pipe(Config.map(Duration.millis)),
  unsealedGrace: millis("AUDIT_UNSEALED_GRACE_MS", 15 * 60_000),
  checkpointBucket: Config.String("AUDIT_CHECKPOINT_BUCKET").pipe(Config.option),
  checkpointRetentionDays: positiveInt("AUDIT_CHECKPOINT_RETENTION_DAYS", 2_190)
})

export class AuditConfig extends Context.Service<AuditConfig, AuditSettings>()("serenya/config/Audit") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(AuditConfig, auditConfig)
}
