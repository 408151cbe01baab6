/** The HTTP server: where it listens, what it accepts, whom it trusts, and its rate limits. */
import { Config, Context, Layer } from "effect"
import { check, collect, list, nonNegativeInt, port, positiveInt } from "./shared.js"

export interface HttpSettings {
  readonly host: string
  readonly port: number
  /** Request bodies larger than this are refused (413) while being read, before any parsing. */
  readonly maxBodyBytes: number
  /** Browser origins allowed by CORS (a web console); the mobile apps need none. */
  readonly corsAllowedOrigins: ReadonlyArray<string>
  /**
   * Proxies in front of us that append to X-Forwarded-For (0: none, the socket's peer is the
   * client; 1: a load balancer; 2: CloudFront and API Gateway).
   */
  readonly trustedProxyHops: number
  /** Token buckets per client IP and per bearer token (requests; refill per second). */
  readonly rateLimit: {
    readonly ipCapacity: number
    readonly ipRefillPerSecond: number
    readonly userCapacity: number
    readonly userRefillPerSecond: number
    readonly maxKeys: number
  }
}

export const httpConfig: Config.Config<HttpSettings> = collect({
  host: check("HOST", Config.String("HOST").pipe(Config.withDefault("127.0.0.1")), (h) => h.trim() !== "", "must not be empty"),
  port: port("PORT", 3000),
  // API Gateway caps payloads at 10 MB; a 5 MiB document is ~6.7 MiB as base64 JSON.
  maxBodyBytes: positiveInt("MAX_BODY_BYTES", 8 * 1024 * 1024),
  rateLimit: collect({
    ipCapacity: positiveInt("RATE_LIMIT_IP_CAPACITY", 120),
    ipRefillPerSecond: positiveInt("RATE_LIMIT_IP_REFILL_PER_SECOND", 2),
    userCapacity: positiveInt("RATE_LIMIT_USER_CAPACITY", 60),
    userRefillPerSecond: positiveInt("RATE_LIMIT_USER_REFILL_PER_SECOND", 1),
    maxKeys: positiveInt("RATE_LIMIT_MAX_KEYS", 10_000)
  }),
  trustedProxyHops: nonNegativeInt("TRUSTED_PROXY_HOPS", 0),
  corsAllowedOrigins: list("CORS_ALLOWED_ORIGINS")
})

export class HttpConfig extends Context.Service<HttpConfig, HttpSettings>()("serenya/config/Http") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(HttpConfig, httpConfig)
}
