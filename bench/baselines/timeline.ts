/**
 * GET /content/timeline without the framework, for the baselines: the same authentication (an
 * ES256 access token checked like src/layers/auth/jwt.ts, then the account must exist), the same
 * query as programs/content.ts `listTimeline`, and the same decryption (our envelope Crypto,
 * one Effect run per request for all its items) on node-postgres directly, and the same audit
 * row of every read (our Audit layer, group commit included: the trail is part of the route, not
 * of the framework). What it leaves out on purpose, and ours does: the content-version lookup of
 * the timeline cache, schema validation of the query and the response, request ids and the rate
 * limiter.
 */
import { Effect, Either, Layer, ManagedRuntime, Redacted, Schema } from "effect"
import { verify } from "node:crypto"
import pg from "pg"
import { AppConfig, loadSettings } from "../../src/config.js"
import { signingKeyFrom } from "../../src/layers/auth/jwt.js"
import { auditLayer } from "../../src/main/layers.js"
import { CryptoLocal } from "../../src/layers/crypto/local.js"
import { pgClientLayer } from "../../src/layers/database/postgres.js"
import { Audit } from "../../src/services/audit.js"
import { Crypto, fieldContext } from "../../src/services/crypto.js"
import { Card } from "../../src/programs/content.js"

const decodeCard = Schema.decodeUnknownSync(Card)

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

export const makeTimeline = async () => {
  const settings = Effect.runSync(loadSettings())
  if (Either.isLeft(settings)) throw new Error(settings.left)
  const pem = process.env.JWT_PRIVATE_KEY
  if (pem === undefined) throw new Error("JWT_PRIVATE_KEY is required")
  const key = signingKeyFrom(pem)
  const issuer = settings.right.auth.jwtIssuer
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL!, max: settings.right.database.maxConnections })
  const runtime = ManagedRuntime.make(
    Layer.mergeAll(
      CryptoLocal,
      auditLayer(settings.right).pipe(Layer.provide(pgClientLayer(Redacted.make(process.env.DATABASE_URL!), settings.right.database)))
    ).pipe(Layer.provide(Layer.succeed(AppConfig, settings.right)))
  )
  const crypto = await runtime.runPromise(Crypto)
  const audit = await runtime.runPromise(Audit)

  const userOf = (authorization: string | undefined): string | undefined => {
    if (authorization === undefined || !authorization.startsWith("Bearer ")) return undefined
    const parts = authorization.slice(7).split(".")
    if (parts.length !== 3) return undefined
    const [h, p, s] = parts as [string, string, string]
    try {
      const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as { alg?: string; kid?: string }
      if (header.alg !== "ES256" || header.kid !== key.kid) return undefined
      const signature = Buffer.from(s, "base64url")
      if (signature.length !== 64) return undefined
      if (!verify("sha256", Buffer.from(`${h}.${p}`), { key: key.publicKey, dsaEncoding: "ieee-p1363" }, signature)) return undefined
      const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as { iss?: string; sub?: string; exp?: number }
      if (claims.iss !== issuer || typeof claims.exp !== "number" || claims.exp <= Date.now() / 1000) return undefined
      return claims.sub
    } catch {
      return undefined
    }
  }

  const timeline = async (authorization: string | undefined, limit = 20, offset = 0): Promise<Answer> => {
    const userId = userOf(authorization)
    if (userId === undefined) return UNAUTHORIZED
    const exists = await pool.query("SELECT 1 FROM users WHERE id = $1::uuid", [userId])
    if (exists.rows.length === 0) return UNAUTHORIZED
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
    const items = await Effect.runPromise(
      Effect.forEach(rows.rows, (row) =>
        Effect.gen(function* () {
          const title = yield* crypto.openString(row.title_encrypted, fieldContext(userId, "content", "title_encrypted", row.id))
          const card = decodeCard(yield* crypto.openString(row.summary_encrypted, fieldContext(userId, "content", "summary_encrypted", row.id)))
          return {
            contentId: row.id,
            documentType: row.document_type,
            title,
            summary: card.summary,
            flaggedCount: card.flaggedCount,
            criticalCount: card.criticalCount,
            unreadCount: card.unreadCount,
            createdAt: row.created_at.toISOString()
          }
        })
      )
    )
    await runtime.runPromise(audit.record({ actorUserId: userId, action: "content.list", resourceType: "content", outcome: "success" }))
    return { status: 200, body: JSON.stringify({ items, total, limit, offset }) }
  }

  return {
    timeline,
    close: async () => {
      await pool.end()
      await runtime.dispose()
    }
  }
}

/** The port to listen on, from PORT. */
export const portFromEnv = () => Number(process.env.PORT ?? 0)
