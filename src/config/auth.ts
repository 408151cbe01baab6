/** Sign-in and sessions: the access tokens' key and lifetimes, Google sign-in, dev sign-in, lookup hashes. */
import { Config, Context, Layer, Option, Redacted } from "effect"
import { appEnvConfig, check, collect, list, positiveInt } from "./shared.js"

export interface AuthSettings {
  /** ES256 (P-256) private key, PEM. Absent outside production: one is created under DATA_DIR/keys. */
  readonly jwtPrivateKey: Option.Option<Redacted.Redacted<string>>
  readonly jwtIssuer: string
  readonly accessTokenTtlSeconds: number
  readonly refreshTokenTtlDays: number
  /** Google OAuth client ids (iOS, Android, web) accepted as ID token audiences. */
  readonly googleClientIds: ReadonlyArray<string>
  readonly googleJwksUrl: string
  /** POST /auth/dev: on by default for APP_ENV=local only; never allowed in production. */
  readonly devAuthEnabled: boolean
  /**
   * HMAC key (32+ bytes, hex or base64) for the lookup hashes of emails and Google subjects.
   * Absent outside production: one is created under DATA_DIR/keys/lookup.key.
   */
  readonly userLookupKey: Option.Option<Redacted.Redacted<string>>
}

/** USER_LOOKUP_KEY's bytes: 32 or more, as hex digits or (standard or url-safe) base64; undefined otherwise. */
export const lookupKeyBytes = (text: string): Buffer | undefined => {
  const value = text.trim()
  const bytes = /^(?:[0-9a-fA-F]{2})+$/.test(value)
    ? Buffer.from(value, "hex")
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(value)
      ? Buffer.from(value, "base64")
      : undefined
  return bytes !== undefined && bytes.length >= 32 ? bytes : undefined
}

/** The variables, read and defaulted (DEV_AUTH_ENABLED's default follows APP_ENV). Production's requirements are src/config.ts's. */
export const authConfig: Config.Config<AuthSettings> = collect({
  appEnv: appEnvConfig,
  jwtPrivateKey: check(
    "JWT_PRIVATE_KEY",
    Config.Redacted("JWT_PRIVATE_KEY"),
    (pem) => Redacted.value(pem).includes("PRIVATE KEY-----"),
    "must be a PEM private key (ES256, P-256)"
  ).pipe(Config.option),
  jwtIssuer: Config.String("JWT_ISSUER").pipe(Config.withDefault("serenya")),
  accessTokenTtlSeconds: positiveInt("ACCESS_TOKEN_TTL_SECONDS", 900),
  refreshTokenTtlDays: positiveInt("REFRESH_TOKEN_TTL_DAYS", 30),
  googleClientIds: list("GOOGLE_CLIENT_IDS"),
  googleJwksUrl: Config.String("GOOGLE_JWKS_URL").pipe(Config.withDefault("https://www.googleapis.com/oauth2/v3/certs")),
  devAuthEnabled: Config.Boolean("DEV_AUTH_ENABLED").pipe(Config.option),
  userLookupKey: check(
    "USER_LOOKUP_KEY",
    Config.Redacted("USER_LOOKUP_KEY"),
    (key) => lookupKeyBytes(Redacted.value(key)) !== undefined,
    "must be at least 32 bytes as hex digits or base64"
  ).pipe(Config.option)
}).pipe(
  Config.map(({ appEnv, ...auth }) => ({
    ...auth,
    devAuthEnabled: Option.getOrElse(auth.devAuthEnabled, () => appEnv === "local")
  }))
)

export class AuthConfig extends Context.Service<AuthConfig, AuthSettings>()("serenya/config/Auth") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(AuthConfig, authConfig)
}
