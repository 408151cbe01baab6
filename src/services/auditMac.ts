/**
 * The audit trail's key: HMAC-SHA-256 under a key that neither the database nor its roles ever
 * hold (a key file under DATA_DIR locally, a KMS HMAC key live, where it never leaves KMS).
 *
 * The trail does not MAC each row with the key itself — a KMS call per audited request would cost
 * a round trip and money on the request path — but derives working keys from it: `derive(label)`
 * is the MAC of a fixed label (for example `serenya.audit.chain.v2:2026-12`, one per month), made
 * once per process and label and kept in memory; rows, seals and checkpoints are MAC'd locally
 * with those. Verification derives the same keys again. HMAC is deterministic, so KMS
 * GenerateMac answers the same bytes every time for the same key and label.
 */
import { Context, type Effect } from "effect"
import type { AuditUnavailable } from "./audit.js"

export class AuditMac extends Context.Service<
  AuditMac,
  {
    /** HMAC-SHA-256(audit key, label): 32 bytes. */
    readonly derive: (label: string) => Effect.Effect<Uint8Array, AuditUnavailable>
  }
>()("serenya/AuditMac") {}
