/**
 * A stand-in for Google's key set: a JWKS endpoint on 127.0.0.1 (port 0) serving an RSA key
 * generated here, and ID tokens signed with it (or deliberately not) in the tests.
 */
import { Clock, Effect } from "effect"
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export const GOOGLE_CLIENT_ID = "test-client.apps.googleusercontent.com"
export const GOOGLE_KID = "test-key-1"

const rsa = () => generateKeyPairSync("rsa", { modulusLength: 2048 })
export const googleSigningKey = rsa()
export const impostorKey = rsa()

const publicJwk = (key: KeyObject, kid: string) => ({ ...key.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" })

export interface JwksServer {
  readonly url: string
  readonly requests: () => number
}

/** A JWKS endpoint for the life of the scope; counts its requests; `cacheControl` is sent as given. */
export const jwksServer = (options: { readonly cacheControl?: string } = {}) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: http.Server; readonly jwks: JwksServer }>((resume) => {
      let count = 0
      const server = http.createServer((_request, response) => {
        count++
        response.writeHead(200, {
          "content-type": "application/json",
          ...(options.cacheControl !== undefined ? { "cache-control": options.cacheControl } : {})
        })
        response.end(JSON.stringify({ keys: [publicJwk(googleSigningKey.publicKey, GOOGLE_KID)] }))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, jwks: { url: `http://127.0.0.1:${port}/certs`, requests: () => count } }))
      })
    }),
    ({ server }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
      )
  ).pipe(Effect.map(({ jwks }) => jwks))

/** A URL where nothing listens. */
export const deadUrl = Effect.promise(
  () =>
    new Promise<string>((resolve) => {
      const server = http.createServer()
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        server.close(() => resolve(`http://127.0.0.1:${port}/certs`))
      })
    })
)

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url")

/** An ID token as Google would issue it (valid now, by Clock), with any claim or header overridden. */
export const googleIdToken = (
  options: {
    readonly claims?: Record<string, unknown>
    readonly header?: Record<string, unknown>
    readonly key?: KeyObject
    readonly signWith?: (data: string) => string
  } = {}
) =>
  Effect.map(Clock.currentTimeMillis, (millis) => {
    const now = Math.floor(millis / 1000)
    const header = b64({ alg: "RS256", kid: GOOGLE_KID, typ: "JWT", ...options.header })
    const payload = b64({
      iss: "https://accounts.google.com",
      aud: GOOGLE_CLIENT_ID,
      sub: "1234567890",
      email: "ada@example.com",
      email_verified: true,
      name: "Ada Lovelace",
      iat: now,
      exp: now + 3600,
      ...options.claims
    })
    const data = `${header}.${payload}`
    const signature = options.signWith
      ? options.signWith(data)
      : sign("RSA-SHA256", Buffer.from(data), options.key ?? googleSigningKey.privateKey).toString("base64url")
    return `${data}.${signature}`
  })
