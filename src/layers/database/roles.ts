/**
 * Two database roles. Migrations run as the owner of the schema (the embedded cluster's
 * superuser, the RDS master user, whatever DATABASE_OWNER_URL names); the application connects as
 * APP_ROLE, which holds only the grants migration 0007 gives it, table by table. A table owner can
 * disable triggers, drop or truncate tables; the application's role can do none of that, so a
 * compromised server cannot rewrite the audit trail with its own credentials.
 *
 * The role is created without LOGIN by the migration; the step that migrates then gives it LOGIN
 * with the password of the application's own URL (DATABASE_URL), so that one secret is the whole
 * truth about the application's credentials and a rotated secret takes effect at the next migrate.
 */
import { SqlClient } from "effect/sql"
import { Data, Effect, Redacted } from "effect"
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto"

/** The application's role, cluster-wide. A new table needs its grants in the migration that creates it. */
export const APP_ROLE = "serenya_app"

export class AppRoleError extends Data.TaggedError("AppRoleError")<{ readonly message: string }> {}

/** SCRAM's own iteration count (PostgreSQL's default, scram_iterations). */
const SCRAM_ITERATIONS = 4096

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802 / 7677): sent instead of
 * the password itself, so that no statement (nor a statement log) ever carries the password.
 * Passwords are used as UTF-8 bytes; ours are ASCII, for which SASLprep changes nothing.
 */
export const scramVerifier = (password: string, salt: Uint8Array = randomBytes(16)): string => {
  const salted = pbkdf2Sync(Buffer.from(password, "utf8"), salt, SCRAM_ITERATIONS, 32, "sha256")
  const clientKey = createHmac("sha256", salted).update("Client Key").digest()
  const storedKey = createHash("sha256").update(clientKey).digest()
  const serverKey = createHmac("sha256", salted).update("Server Key").digest()
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`
}

const VERIFIER = /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/

/** User and password of a postgres:// URL (percent-decoded); undefined parts are empty. */
export const credentialsOf = (url: Redacted.Redacted<string>): { readonly user: string; readonly password: string } => {
  const parsed = new URL(Redacted.value(url))
  return { user: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) }
}

/**
 * Gives APP_ROLE LOGIN with `password`, on the SqlClient in context (an owner or a role that may
 * alter it). Idempotent; fails with a clear message when the role does not exist yet (the
 * migrations that create it have not run).
 */
export const provisionAppRole = (password: Redacted.Redacted<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const exists = yield* sql<{ ok: number }>`SELECT 1 AS ok FROM pg_roles WHERE rolname = ${APP_ROLE}`
    if (exists.length === 0) {
      return yield* new AppRoleError({
        message: `the database role ${APP_ROLE} does not exist yet: apply the migrations first (npm run migrate)`
      })
    }
    if (Redacted.value(password) === "") {
      return yield* new AppRoleError({ message: `no password for the database role ${APP_ROLE}` })
    }
    const verifier = scramVerifier(Redacted.value(password))
    // ALTER ROLE takes no bind parameters; the verifier is checked to be base64 and separators only.
    if (!VERIFIER.test(verifier)) return yield* Effect.die(new Error("malformed SCRAM verifier"))
    yield* sql.unsafe(`ALTER ROLE ${APP_ROLE} WITH LOGIN PASSWORD '${verifier}'`)
  }).pipe(Effect.withSpan("Database.provisionAppRole"))
