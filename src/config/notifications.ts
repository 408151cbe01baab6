/**
 * Where push notifications go: Amazon SNS mobile push (one platform application per platform,
 * APNs for iOS and FCM — SNS's `GCM` — for Android), or locally to an optional webhook (unset: a
 * log line). The SNS client uses AWS_REGION (the app slice); src/config.ts checks that both
 * platform applications live there, since an endpoint ARN is usable only in its own Region.
 */
import { Config, Context, Layer, Option, Redacted } from "effect"
import { check, collect, unless, validated } from "./shared.js"

export interface NotificationsSettings {
  readonly provider: "local" | "sns"
  /** SNS_PLATFORM_APPLICATION_ARN_IOS: the APNs (or APNS_SANDBOX) platform application. */
  readonly iosApplicationArn: Option.Option<string>
  /** SNS_PLATFORM_APPLICATION_ARN_ANDROID: the FCM (`GCM`) platform application. */
  readonly androidApplicationArn: Option.Option<string>
  /** NOTIFY_WEBHOOK_URL: where the local provider POSTs each push (unset: it logs one line). A URL may hold a token: redacted. */
  readonly webhookUrl: Option.Option<Redacted.Redacted<string>>
}

/** An SNS platform application's ARN: `arn:aws:sns:<region>:<account>:app/<APNS|APNS_SANDBOX|GCM>/<name>`. */
const PLATFORM_APPLICATION_ARN =
  /^arn:aws(?:-[a-z]+)*:sns:([a-z]{2}(?:-[a-z]+)+-[0-9]):([0-9]{12}):app\/(APNS|APNS_SANDBOX|GCM)\/[A-Za-z0-9_.-]{1,256}$/u

/** The Region and platform of a platform application ARN, or undefined when it is not one. */
export const parsePlatformApplicationArn = (
  arn: string
): { readonly region: string; readonly account: string; readonly platform: "APNS" | "APNS_SANDBOX" | "GCM" } | undefined => {
  const match = PLATFORM_APPLICATION_ARN.exec(arn)
  return match === null ? undefined : { region: match[1]!, account: match[2]!, platform: match[3] as "APNS" | "APNS_SANDBOX" | "GCM" }
}

const applicationArn = (name: string, platforms: ReadonlyArray<string>, what: string) =>
  check(
    name,
    Config.String(name).pipe(Config.option),
    (arn) => {
      if (Option.isNone(arn)) return true
      const parsed = parsePlatformApplicationArn(arn.value)
      return parsed !== undefined && platforms.includes(parsed.platform)
    },
    `must be an SNS platform application ARN (arn:aws:sns:<region>:<account>:app/${what}/<name>)`
  )

const httpUrl = (name: string) =>
  check(
    name,
    Config.Redacted(name).pipe(Config.option),
    (url) => {
      if (Option.isNone(url)) return true
      try {
        const parsed = new URL(Redacted.value(url.value))
        return parsed.protocol === "http:" || parsed.protocol === "https:"
      } catch {
        return false
      }
    },
    "must be an http:// or https:// URL"
  )

/** The variables, read and defaulted; the rule across them is notificationsProblems. */
export const notificationsValues: Config.Config<NotificationsSettings> = collect({
  provider: Config.Literals(["local", "sns"], "NOTIFICATIONS_PROVIDER").pipe(Config.withDefault("local" as const)),
  iosApplicationArn: applicationArn("SNS_PLATFORM_APPLICATION_ARN_IOS", ["APNS", "APNS_SANDBOX"], "APNS|APNS_SANDBOX"),
  androidApplicationArn: applicationArn("SNS_PLATFORM_APPLICATION_ARN_ANDROID", ["GCM"], "GCM"),
  webhookUrl: httpUrl("NOTIFY_WEBHOOK_URL")
})

export const notificationsProblems = (notifications: NotificationsSettings): ReadonlyArray<Config.ConfigError> => [
  ...unless(
    notifications.provider !== "sns" || Option.isSome(notifications.iosApplicationArn),
    "SNS_PLATFORM_APPLICATION_ARN_IOS",
    "is required when NOTIFICATIONS_PROVIDER=sns"
  ),
  ...unless(
    notifications.provider !== "sns" || Option.isSome(notifications.androidApplicationArn),
    "SNS_PLATFORM_APPLICATION_ARN_ANDROID",
    "is required when NOTIFICATIONS_PROVIDER=sns"
  )
]

export const notificationsConfig: Config.Config<NotificationsSettings> = validated(notificationsValues, notificationsProblems)

export class NotificationsConfig extends Context.Service<NotificationsConfig, NotificationsSettings>()("serenya/config/Notifications") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(NotificationsConfig, notificationsConfig)
}
