/**
 * GET /content/timeline for the baselines (./../plain.ts on node:http, ./../fastify.ts), with no
 * Effect anywhere in the process: node-postgres, node:crypto and hand-written code only, so that
 * the floor carries none of our costs. test/bench/honestFields.test.ts bundles both baselines and
 * fails when anything of `effect` or `@effect/*` is reached.
 *
 * What it does, like our route: an ES256 access token checked with node:crypto against the key of
 * JWT_PRIVATE_KEY (kid as src/layers/auth/jwt.ts computes it, issuer JWT_ISSUER), the account must
 * exist, the page query of src/repos/content.ts `timelinePage` (and its count when the page is
 * empty), title and card of every item opened from their envelopes (./fields.ts, our local key
 * provider's format, keys and data-key cache), the card's JSON read by hand, the audit row of the
 * read (./audit.ts, the row our Audit layer writes, sealed later by our server's sealer), and the
 * same JSON answer.
 *
 * Differences from our route, all of them on purpose or for want of a framework:
 * - no request id, no correlation id in errors ("-"), no CORS, security or cache headers;
 * - no rate limiter (per IP or per user) and no concurrency limiter;
 * - no schema validation: not of the query (limit/offset are fixed at 20/0, the bench's defaults;
 *   the query string is ignored), not of the database rows, not of the card (its four fields are
 *   taken as stored; ours decodes them and defaults critical/unread counts to 0 when absent), not
 *   of the response;
 * - no timeline cache and no content-version lookup (the bench runs ours with the cache off too);
 * - the token check is the signature, alg, kid, issuer, expiry and session id only: ours also
 *   insists on the canonical base64url form of each part, a low-S signature, the audience and a
 *   sane `iat`. Both keep verified tokens in memory (10,000, oldest out first) and verify a token's
 *   signature once, checking its expiry on every use;
 * - the session check is ours' statement (src/repos/sessions.ts `sessionActive`: the account exists
 *   and the token's refresh-token family was not ended), without its uuid pre-check;
 * - the audit event carries the request id, client address (the socket's; ours honours
 *   TRUSTED_PROXY_HOPS, 0 in the bench) and user agent as ours does, cleaned of nothing (ours strips
 *   control characters); no trace id;
 * - the pool is plain pg.Pool: no statement or lock timeout per query, no circuit breaker, no
 *   bounded acquisition, no application_name, no SSL option;
 * - no tracing, no metrics, no logging, no error mapping beyond 401 and 500 (a failed decryption
 *   or database error is a 500 with a bare body);
 * - master keys: LOCAL_MASTER_KEY only (KEY_PROVIDER=local), no key files, no rotation reload.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, verify } from "node:crypto"
import pg from "pg"
import { honestAuditFromEnv, type HonestRequestContext } from "./audit.js"
import { honestFieldsFromEnv } from "./fields.js"

interface Row {
  readonly id: string
  readonly document_type: string
  readonly title_encrypted: Buffer
  readonly summary_encrypted: Buffer
  readonly created_at: Date
  readonly total: number
}

export interface Answer {
  readonly status: number
  readonly body: string
}

const UNAUTHORIZED: Answer = {
  status: 401,
  body: JSON.stringify({ error: { code: "UNAUTHENTICATED", category: "validation", message: "The access token is missing, invalid or expired", correlationId: "-" } })
}

/** src/layers/auth/jwt.ts `signingKeyFrom`: the public key, and the kid = first 16 of base64url(sha256(SPKI DER)). */
const verifyingKeyFrom = (pem: string): { readonly publicKey: KeyObject; readonly kid: string } => {
  const privateKey = createPrivateKey(pem)
  if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error("the JWT key must be an EC P-256 key (ES256)")
  }
  const publicKey = createPublicKey(privateKey)
  const kid = createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("base64url").slice(0, 16)
  return { publicKey, kid }
}

/** src/config.ts DB_POOL_MAX: a whole number ≥ 1, 20 by default. */
const poolMaxFrom = (env: NodeJS.ProcessEnv): number => {
  const text = env.DB_POOL_MAX
  if (text === undefined || text.trim() === "") return 20
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new Error("DB_POOL_MAX must be a whole number ≥ 1")
  return value
}

/** The card as src/programs/content.ts `Card` stores it: JSON of four fields, read without a schema. */
const readCard = (json: string) => {
  const card = JSON.parse(json) as { summary: string; flaggedCount: number; criticalCount: number; unreadCount: number }
  return { summary: card.summary, flaggedCount: card.flaggedCount, criticalCount: card.criticalCount, unreadCount: card.unreadCount }
}

export const makeTimeline = async (env: NodeJS.ProcessEnv = process.env) => {
  const pem = env.JWT_PRIVATE_KEY
  if (pem === undefined) throw new Error("JWT_PRIVATE_KEY is required")
  const databaseUrl = env.DATABASE_URL
  if (databaseUrl === undefined) throw new Error("DATABASE_URL is required")
  const key = verifyingKeyFrom(pem)
  // src/config.ts JWT_ISSUER, "serenya" by default.
  const issuer = env.JWT_ISSUER ?? "serenya"
  const fields = honestFieldsFromEnv(env)
  const audit = await honestAuditFromEnv(env)
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolMaxFrom(env) })

  interface Claims {
    readonly sub: string
    readonly sid: string
    readonly exp: number
  }
  // src/layers/auth/jwt.ts VERIFIED_CACHE_SIZE: verified tokens, the oldest dropped first.
  const verified = new Map<string, Claims>()
  const remember = (token: string, claims: Claims) => {
    if (verified.size >= 10_000) verified.delete(verified.keys().next().value!)
    verified.set(token, claims)
  }

  const claimsOf = (authorization: string | undefined): Claims | undefined => {
    if (authorization === undefined || !authorization.startsWith("Bearer ")) return undefined
    const token = authorization.slice(7)
    const known = verified.get(token)
    if (known !== undefined) {
      if (known.exp > Date.now() / 1000) return known
      verified.delete(token)
      return undefined
    }
    const parts = token.split(".")
    if (parts.length !== 3) return undefined
    const [h, p, s] = parts as [string, string, string]
    try {
      const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as { alg?: string; kid?: string }
      if (header.alg !== "ES256" || header.kid !== key.kid) return undefined
      const signature = Buffer.from(s, "base64url")
      if (signature.length !== 64) return undefined
      if (!verify("sha256", Buffer.from(`${h}.${p}`), { key: key.publicKey, dsaEncoding: "ieee-p1363" }, signature)) return undefined
      const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as { iss?: string; sub?: string; sid?: string; exp?: number }
      if (claims.iss !== issuer || typeof claims.exp !== "number" || claims.exp <= Date.now() / 1000) return undefined
      if (typeof claims.sub !== "string" || typeof claims.sid !== "string") return undefined
      const checked = { sub: claims.sub, sid: claims.sid, exp: claims.exp }
      remember(token, checked)
      return checked
    } catch {
      return undefined
    }
  }

  const timeline = async (
    authorization: string | undefined,
    context: HonestRequestContext = {},
    limit = 20,
    offset = 0
  ): Promise<Answer> => {
    const claims = claimsOf(authorization)
    if (claims === undefined) return UNAUTHORIZED
    const userId = claims.sub
    // src/repos/sessions.ts `sessionActive`, the same statement.
    const session = await pool.query<{ active: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1::uuid)
          AND NOT EXISTS (
            SELECT 1 FROM refresh_tokens
            WHERE family_id = $2::uuid AND revoked_reason IN ('logout', 'reuse_detected', 'account_deleted')
          ) AS active`,
      [userId, claims.sid]
    )
    if (session.rows[0]?.active !== true) return UNAUTHORIZED
    const rows = await pool.query<Row>(
      `SELECT id, document_type, title_encrypted, summary_encrypted, created_at, count(*) OVER ()::int AS total
       FROM content WHERE user_id = $1::uuid
       ORDER BY created_at DESC, id DESC
       LIMIT $2 OFFSET $3`,
      [userId, limit, offset]
    )
    const total =
      rows.rows[0]?.total ??
      (await pool.query<{ total: number }>("SELECT count(*)::int AS total FROM content WHERE user_id = $1::uuid", [userId])).rows[0]?.total ??
      0
    const items = rows.rows.map((row) => {
      const title = fields.openField(row.title_encrypted, userId, "content", "title_encrypted", row.id)
      const card = readCard(fields.openField(row.summary_encrypted, userId, "content", "summary_encrypted", row.id))
      return {
        contentId: row.id,
        documentType: row.document_type,
        title,
        ...card,
        createdAt: row.created_at.toISOString()
      }
    })
    await audit.recordTimelineRead(pool, userId, context)
    return { status: 200, body: JSON.stringify({ items, total, limit, offset }) }
  }

  return { timeline, close: () => pool.end() }
}

/** The port to listen on, from PORT. */
export const portFromEnv = () => Number(process.env.PORT ?? 0)
