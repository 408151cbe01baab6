/**
 * The first schema. Rule: any column that can hold health information (or personal data that
 * identifies the patient) is `bytea` holding an envelope-encrypted value, never plaintext.
 * Lookups on such values go through keyed hashes (`*_hash`), never through the value itself.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE users (
      id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email_hash      bytea NOT NULL UNIQUE,
      email_encrypted bytea NOT NULL,
      name_encrypted  bytea,
      google_sub_hash bytea UNIQUE,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now()
    )`

  yield* sql`
    CREATE TABLE refresh_tokens (
      id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      family_id      uuid NOT NULL,
      token_hash     bytea NOT NULL UNIQUE,
      parent_id      uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
      issued_at      timestamptz NOT NULL DEFAULT now(),
      expires_at     timestamptz NOT NULL,
      rotated_at     timestamptz,
      revoked_at     timestamptz,
      revoked_reason text CHECK (revoked_reason IN ('logout', 'reuse_detected', 'account_deleted', 'expired'))
    )`
  yield* sql`CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id)`
  yield* sql`CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id)`

  yield* sql`
    CREATE TABLE jobs (
      id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      status             text NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
      stage              text,
      document_type_hint text CHECK (document_type_hint IN ('lab_results', 'vitals', 'report', 'other')),
      content_type       text NOT NULL,
      size_bytes         integer NOT NULL CHECK (size_bytes >= 0),
      storage_key        text NOT NULL,
      file_name_encrypted bytea,
      attempts           integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      max_attempts       integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
      run_after          timestamptz NOT NULL DEFAULT now(),
      lease_owner        text,
      lease_expires_at   timestamptz,
      error_code         text,
      error_message      text,
      content_id         uuid,
      trace_context      text,
      created_at         timestamptz NOT NULL DEFAULT now(),
      updated_at         timestamptz NOT NULL DEFAULT now(),
      completed_at       timestamptz
    )`
  yield* sql`CREATE INDEX jobs_user_idx ON jobs (user_id, created_at DESC)`
  // The worker's claim query scans only claimable jobs.
  yield* sql`CREATE INDEX jobs_claimable_idx ON jobs (run_after) WHERE status IN ('queued', 'processing')`

  yield* sql`
    CREATE TABLE content (
      id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      job_id            uuid UNIQUE REFERENCES jobs (id) ON DELETE SET NULL,
      document_type     text NOT NULL CHECK (document_type IN ('lab_results', 'vitals', 'report', 'other')),
      title_encrypted   bytea NOT NULL,
      summary_encrypted bytea NOT NULL,
      body_encrypted    bytea NOT NULL,
      provider          text NOT NULL,
      model_id          text NOT NULL,
      created_at        timestamptz NOT NULL DEFAULT now(),
      updated_at        timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX content_timeline_idx ON content (user_id, created_at DESC, id)`
  yield* sql`ALTER TABLE jobs ADD CONSTRAINT jobs_content_fk FOREIGN KEY (content_id) REFERENCES content (id) ON DELETE SET NULL`

  yield* sql`
    CREATE TABLE conversations (
      id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      content_id uuid NOT NULL UNIQUE REFERENCES content (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX conversations_user_idx ON conversations (user_id)`

  yield* sql`
    CREATE TABLE messages (
      id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      seq               bigint GENERATED ALWAYS AS IDENTITY,
      conversation_id   uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
      user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      role              text NOT NULL CHECK (role IN ('user', 'assistant')),
      content_encrypted bytea NOT NULL,
      created_at        timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX messages_conversation_idx ON messages (conversation_id, seq)`

  // Append-only, hash-chained. No foreign key to users: the trail outlives an erased account
  // (the actor is pseudonymised then). Events never carry health data.
  yield* sql`
    CREATE TABLE audit_log (
      seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id            uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
      occurred_at   timestamptz NOT NULL DEFAULT now(),
      actor_user_id uuid,
      actor_pseudonym text,
      action        text NOT NULL,
      resource_type text,
      resource_id   text,
      outcome       text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
      request_id    text,
      trace_id      text,
      client_ip     text,
      user_agent    text,
      prev_hash     bytea,
      hash          bytea NOT NULL
    )`
  yield* sql`CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id, occurred_at)`

  yield* sql`
    CREATE TABLE llm_usage (
      id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      idempotency_key    text NOT NULL UNIQUE,
      user_id            uuid REFERENCES users (id) ON DELETE SET NULL,
      provider           text NOT NULL,
      model_id           text NOT NULL,
      document_type      text NOT NULL CHECK (document_type IN ('lab_results', 'vitals', 'chat', 'report')),
      input_tokens       integer NOT NULL CHECK (input_tokens >= 0),
      output_tokens      integer NOT NULL CHECK (output_tokens >= 0),
      total_cost_cents   numeric(12, 4) NOT NULL CHECK (total_cost_cents >= 0),
      processing_time_ms integer NOT NULL CHECK (processing_time_ms >= 0),
      month              char(7) NOT NULL,
      occurred_at        timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX llm_usage_monthly_idx ON llm_usage (user_id, month)`

  yield* sql`
    CREATE TABLE subscriptions (
      user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
      plan         text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'premium')),
      period_start timestamptz NOT NULL,
      period_end   timestamptz NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      updated_at   timestamptz NOT NULL DEFAULT now(),
      CHECK (period_end > period_start)
    )`
})
