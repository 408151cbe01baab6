/** Access tokens: ES256 JWTs that only verify exactly as issued, by us, while fresh. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { createHmac, generateKeyPairSync, randomUUID, sign } from "node:crypto"
import { makeAccessTokens, signingKeyFrom } from "../../../src/layers/auth/jwt.js"

const pem = () => generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString()
const key = signingKeyFrom(pem())
const tokens = makeAccessTokens(key, { issuer: "serenya", ttlSeconds: 900 })
const userId = randomUUID()

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url")
const rejected = (token: string) => Effect.map(Effect.result(tokens.verify(token)), (r) => Result.isFailure(r) && r.failure._tag === "Unauthenticated")

describe("access tokens", () => {
  it.effect("issue → verify gives back sub, iat, exp (15 min) and a jti", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_800_000_000_000)
      const issued = yield* tokens.issue(userId, randomUUID())
      expect(issued.expiresIn).toBe(900)
      const claims = yield* tokens.verify(issued.token)
      expect(claims).toMatchObject({ iss: "serenya", sub: userId, iat: 1_800_000_000, exp: 1_800_000_900 })
      expect(claims.jti.length).toBeGreaterThanOrEqual(16)
      const header = JSON.parse(Buffer.from(issued.token.split(".")[0]!, "base64url").toString())
      expect(header).toEqual({ alg: "ES256", typ: "JWT", kid: key.kid })
      expect((yield* tokens.issue(userId, randomUUID())).claims.jti).not.toBe(claims.jti)
    })
  )

  it.effect("an expired token is refused (TestClock)", () =>
    Effect.gen(function* () {
      const issued = yield* tokens.issue(userId, randomUUID())
      yield* TestClock.adjust("899 seconds")
      expect((yield* tokens.verify(issued.token)).sub).toBe(userId)
      yield* TestClock.adjust("1 second")
      expect(yield* rejected(issued.token)).toBe(true)
    })
  )

  it.effect("alg none, HS256 signed with the public key, another key, another issuer, a tampered payload: all refused", () =>
    Effect.gen(function* () {
      const issued = yield* tokens.issue(userId, randomUUID())
      const [header, payload] = issued.token.split(".") as [string, string, string]
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString())
      // alg: none, with and without a signature part
      expect(yield* rejected(`${b64({ alg: "none", typ: "JWT", kid: key.kid })}.${payload}.`)).toBe(true)
      expect(yield* rejected(`${b64({ alg: "none", typ: "JWT", kid: key.kid })}.${payload}`)).toBe(true)
      // HS256 keyed with our public key (the classic confusion attack)
      const hsHeader = b64({ alg: "HS256", typ: "JWT", kid: key.kid })
      const publicPem = key.publicKey.export({ type: "spki", format: "pem" }).toString()
      const hsSig = createHmac("sha256", publicPem).update(`${hsHeader}.${payload}`).digest("base64url")
      expect(yield* rejected(`${hsHeader}.${payload}.${hsSig}`)).toBe(true)
      // signed by another key that claims our kid
      const other = signingKeyFrom(pem())
      const forgedSig = sign("sha256", Buffer.from(`${header}.${payload}`), { key: other.privateKey, dsaEncoding: "ieee-p1363" })
      expect(yield* rejected(`${header}.${payload}.${forgedSig.toString("base64url")}`)).toBe(true)
      // a tampered payload under the original signature
      const tampered = b64({ ...claims, sub: randomUUID() })
      expect(yield* rejected(`${header}.${tampered}.${issued.token.split(".")[2]}`)).toBe(true)
      // another issuer with a valid signature
      const foreign = makeAccessTokens(key, { issuer: "someone-else", ttlSeconds: 900 })
      expect(yield* rejected((yield* foreign.issue(userId, randomUUID())).token)).toBe(true)
    })
  )

  it.effect("tokens name this API as their audience; one for another audience, or none, is refused", () =>
    Effect.gen(function* () {
      const issued = yield* tokens.issue(userId, randomUUID())
      expect(issued.claims.aud).toBe("serenya-api")
      expect((yield* tokens.verify(issued.token)).aud).toBe("serenya-api")
      const elsewhere = makeAccessTokens(key, { issuer: "serenya", ttlSeconds: 900, audience: "serenya-admin" })
      expect(yield* rejected((yield* elsewhere.issue(userId, randomUUID())).token)).toBe(true)
      // Same key, same issuer, no aud at all (a token from before aud existed, or another service's).
      const [header, payload] = issued.token.split(".") as [string, string, string]
      const { aud: _aud, ...withoutAud } = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>
      const bare = b64(withoutAud)
      const signature = sign("sha256", Buffer.from(`${header}.${bare}`), { key: key.privateKey, dsaEncoding: "ieee-p1363" })
      expect(yield* rejected(`${header}.${bare}.${signature.toString("base64url")}`)).toBe(true)
    })
  )

  it.effect("one text per token: padding, other trailing bits and the high-S twin of the signature are refused", () =>
    Effect.gen(function* () {
      const N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
      for (let i = 0; i < 20; i++) {
        const issued = yield* tokens.issue(randomUUID(), randomUUID())
        const [header, payload, signaturePart] = issued.token.split(".") as [string, string, string]
        const signature = Buffer.from(signaturePart, "base64url")
        const s = BigInt(`0x${signature.subarray(32).toString("hex")}`)
        // We only ever issue low-S signatures...
        expect(s <= N >> 1n).toBe(true)
        expect((yield* tokens.verify(issued.token)).sub).toBe(issued.claims.sub)
        // ...and the high-S twin, which ECDSA itself would accept, is another text of the same token.
        const twin = Buffer.concat([signature.subarray(0, 32), Buffer.from((N - s).toString(16).padStart(64, "0"), "hex")])
        expect(yield* rejected(`${header}.${payload}.${twin.toString("base64url")}`)).toBe(true)
        // A trailing "=", or changed trailing bits of the last character, decode to the same bytes in Node.
        expect(yield* rejected(`${issued.token}=`)).toBe(true)
        expect(yield* rejected(`${header}=.${payload}.${signaturePart}`)).toBe(true)
        const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        const last = signaturePart.at(-1)!
        // 64 bytes in base64url: 86 characters, the last carrying 4 bits of data and 2 of padding.
        const sibling = alphabet[alphabet.indexOf(last) ^ 1]!
        const altered = `${signaturePart.slice(0, -1)}${sibling}`
        expect(Buffer.from(altered, "base64url").equals(signature)).toBe(true)
        expect(yield* rejected(`${header}.${payload}.${altered}`)).toBe(true)
      }
    })
  )

  it("property: arbitrary strings never verify and never throw", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.array(fc.base64String(), { maxLength: 4 }).map((p) => p.join("."))), async (token) =>
        Effect.runPromise(rejected(token))
      ),
      { numRuns: 300 }
    )
  })

  it("refuses a signing key that is not P-256", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString()
    expect(() => signingKeyFrom(rsa)).toThrow(/P-256/)
  })
})
