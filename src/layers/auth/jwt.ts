/**
 * Access tokens as ES256 JWTs, signed and checked with node:crypto. Verification accepts exactly
 * one header (`alg: ES256`, our key id): `none`, HS256 and every other algorithm are refused
 * before any signature is looked at, so key-confusion tricks have nothing to work with.
 */
import { Clock, Effect, Layer, Option, Redacted, Schema } from "effect"
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  verify
} from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { AppInfoConfig } from "../../config/app.js"
import { AuthConfig } from "../../config/auth.js"
import { ACCESS_TOKEN_AUDIENCE, AccessTokenClaims, AccessTokens } from "../../services/auth.js"
import { Unauthenticated } from "../../services/errors.js"

const CLOCK_SKEW_SECONDS = 60
const MAX_TOKEN_LENGTH = 4096

const base64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64url")

/**
 * The one encoding of a part: unpadded base64url with zero trailing bits, as we write it. Node's
 * decoder also takes `=`, other trailing bits and stray characters, which made several texts of
 * one token, each with a per-token rate-limit bucket of its own.
 */
const canonicalPart = (part: string): Buffer | undefined => {
  const bytes = Buffer.from(part, "base64url")
  return bytes.toString("base64url") === part ? bytes : undefined
}

/** The order of P-256 and half of it: an ECDSA signature (r, s) also verifies as (r, n - s). */
const P256_ORDER = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
const P256_HALF_ORDER = P256_ORDER >> 1n
const sOf = (signature: Uint8Array) => BigInt(`0x${Buffer.from(signature.subarray(32, 64)).toString("hex")}`)

/** The low-S form of an IEEE P1363 signature (r ‖ s): the only one verify accepts. */
const lowS = (signature: Buffer): Buffer => {
  const s = sOf(signature)
  if (s <= P256_HALF_ORDER) return signature
  return Buffer.concat([signature.subarray(0, 32), Buffer.from((P256_ORDER - s).toString(16).padStart(64, "0"), "hex")])
}

const Header = Schema.fromJsonString(Schema.Struct({ alg: Schema.Literal("ES256"), typ: Schema.optional(Schema.Literal("JWT")), kid: Schema.String }))
const Payload = Schema.fromJsonString(AccessTokenClaims)

const invalid = new Unauthenticated({ message: "The access token is missing, invalid or expired" })

export interface SigningKey {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  /** Names the key in the header, so that a rotation can check old tokens against old keys. */
  readonly kid: string
}

export const signingKeyFrom = (pem: string): SigningKey => {
  const privateKey = createPrivateKey(pem)
  const details = privateKey.asymmetricKeyDetails
  if (privateKey.asymmetricKeyType !== "ec" || details?.namedCurve !== "prime256v1") {
    throw new Error("the JWT key must be an EC P-256 key (ES256)")
  }
  const publicKey = createPublicKey(privateKey)
  const kid = createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("base64url").slice(0, 16)
  return { privateKey, publicKey, kid }
}

/** Tokens already verified, kept until they expire: the signature check is the costliest step of a request. */
const VERIFIED_CACHE_SIZE = 10_000

export const makeAccessTokens = (
  key: SigningKey,
  options: { readonly issuer: string; readonly ttlSeconds: number; readonly audience?: string }
) => {
  const audience = options.audience ?? ACCESS_TOKEN_AUDIENCE
  const verified = new Map<string, AccessTokenClaims>()
  const remember = (token: string, claims: AccessTokenClaims) => {
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!)
    verified.set(token, claims)
  }
  // Time checks apply to cached tokens too: a token stops working when it expires, cached or not.
  const inTime = (claims: AccessTokenClaims, now: number) => claims.exp > now && claims.iat <= now + CLOCK_SKEW_SECONDS
  return AccessTokens.of({
    issue: (userId, sessionId) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const iat = Math.floor(now / 1000)
        const claims = AccessTokenClaims.make({
          iss: options.issuer,
          aud: audience,
          sub: userId,
          sid: sessionId,
          iat,
          exp: iat + options.ttlSeconds,
          jti: randomBytes(16).toString("base64url")
        })
        const header = base64url(JSON.stringify({ alg: "ES256", typ: "JWT", kid: key.kid }))
        const payload = base64url(JSON.stringify(Schema.encodeSync(AccessTokenClaims)(claims)))
        const signature = lowS(sign("sha256", Buffer.from(`${header}.${payload}`), { key: key.privateKey, dsaEncoding: "ieee-p1363" }))
        return { token: `${header}.${payload}.${base64url(signature)}`, expiresIn: options.ttlSeconds, claims }
      }),
    verify: (token) =>
      Effect.gen(function* () {
        if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return yield* Effect.fail(invalid)
        const known = verified.get(token)
        if (known !== undefined) {
          if (inTime(known, Math.floor((yield* Clock.currentTimeMillis) / 1000))) return known
          verified.delete(token)
          return yield* Effect.fail(invalid)
        }
        const parts = token.split(".")
        if (parts.length !== 3) return yield* Effect.fail(invalid)
        const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
        const headerBytes = canonicalPart(headerPart)
        const payloadBytes = canonicalPart(payloadPart)
        const signature = canonicalPart(signaturePart)
        if (headerBytes === undefined || payloadBytes === undefined || signature === undefined) return yield* Effect.fail(invalid)
        const header = yield* Schema.decodeUnknownEffect(Header)(headerBytes.toString("utf8")).pipe(
          Effect.mapError(() => invalid)
        )
        if (header.kid !== key.kid) return yield* Effect.fail(invalid)
        const authentic =
          signature.length === 64 &&
          sOf(signature) <= P256_HALF_ORDER &&
          verify("sha256", Buffer.from(`${headerPart}.${payloadPart}`), { key: key.publicKey, dsaEncoding: "ieee-p1363" }, signature)
        if (!authentic) return yield* Effect.fail(invalid)
        const claims = yield* Schema.decodeUnknownEffect(Payload)(payloadBytes.toString("utf8")).pipe(
          Effect.mapError(() => invalid)
        )
        const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        if (claims.iss !== options.issuer || claims.aud !== audience || !inTime(claims, now)) return yield* Effect.fail(invalid)
        remember(token, claims)
        return claims
      })
  })
}

const KEY_FILE = "jwt-es256.pem"

/** Outside production without JWT_PRIVATE_KEY: a P-256 key created once under DATA_DIR/keys (0600). */
export const loadLocalSigningKey = (dataDir: string) =>
  Effect.promise(async () => {
    const file = path.join(dataDir, "keys", KEY_FILE)
    const existing = await fs.readFile(file, "utf8").catch(() => undefined)
    if (existing) return signingKeyFrom(existing)
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" })
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString()
    await fs.writeFile(file, pem, { mode: 0o600, flag: "wx" }).catch(async () => undefined)
    return signingKeyFrom(await fs.readFile(file, "utf8"))
  })

export const AccessTokensLive: Layer.Layer<AccessTokens, never, AuthConfig | AppInfoConfig> = Layer.effect(
  AccessTokens,
  Effect.gen(function* () {
    const auth = yield* AuthConfig
    const configured = auth.jwtPrivateKey
    // A configured key that is not a P-256 private key stops start-up (a defect with the reason).
    const key = Option.isSome(configured)
      ? yield* Effect.try(() => signingKeyFrom(Redacted.value(configured.value))).pipe(Effect.orDie)
      : yield* loadLocalSigningKey((yield* AppInfoConfig).dataDir)
    return makeAccessTokens(key, { issuer: auth.jwtIssuer, ttlSeconds: auth.accessTokenTtlSeconds })
  })
)
