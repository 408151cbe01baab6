/**
 * Migrations registered in code (not globbed from disk) so that they survive bundling
 * for Lambda. Add a file under ./migrations and one line here; never edit a shipped one.
 */
import { Effect } from "effect"
import { Migrator } from "effect/sql"
import initialSchema from "./migrations/0001_initial_schema.js"
import auditAppendOnly from "./migrations/0002_audit_append_only.js"
import idempotencyKeys from "./migrations/0003_idempotency_keys.js"
import contentVersion from "./migrations/0004_content_version.js"
import originalRemoved from "./migrations/0005_original_removed.js"
import planUsage from "./migrations/0006_plan_usage.js"
import appRole from "./migrations/0007_app_role.js"
import auditKeyedChain from "./migrations/0008_audit_keyed_chain.js"
import erasureOutbox from "./migrations/0009_erasure_outbox.js"
import documentUploads from "./migrations/0010_document_uploads.js"
import pushNotifications from "./migrations/0011_push_notifications.js"
import jobEvents from "./migrations/0012_job_events.js"
import contentTrends from "./migrations/0013_content_trends.js"
import allowImageToModel from "./migrations/0014_allow_image_to_model.js"

export const MIGRATIONS_TABLE = "schema_migrations"

/** Every migration by name, in order. */
export const MIGRATIONS = {
  "0001_initial_schema": initialSchema,
  "0002_audit_append_only": auditAppendOnly,
  "0003_idempotency_keys": idempotencyKeys,
  "0004_content_version": contentVersion,
  "0005_original_removed": originalRemoved,
  "0006_plan_usage": planUsage,
  "0007_app_role": appRole,
  "0008_audit_keyed_chain": auditKeyedChain,
  "0009_erasure_outbox": erasureOutbox,
  "0010_document_uploads": documentUploads,
  "0011_push_notifications": pushNotifications,
  "0012_job_events": jobEvents,
  "0013_content_trends": contentTrends,
  "0014_allow_image_to_model": allowImageToModel
}

export const loader = Migrator.fromRecord(MIGRATIONS)

/** Applies every pending migration in order; a no-op when the schema is current. */
export const runMigrations = Migrator.make({})({ loader, table: MIGRATIONS_TABLE }).pipe(
  Effect.withSpan("Database.migrate")
)
