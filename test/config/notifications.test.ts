/**
 * The notifications slice and its rules in the composed settings: the provider (sns in
 * production), the platform applications' ARNs (their shape and platform, required with sns, in
 * AWS_REGION's Region), the local webhook's URL; every problem names its variable, never its value.
 */
import { describe, expect, it } from "@effect/vitest"
import { Option, Redacted, Result } from "effect"
import { parsePlatformApplicationArn } from "../../src/config/notifications.js"
import { PRODUCTION_ENV, settingsFrom } from "../support/settings.js"

const IOS = "arn:aws:sns:eu-west-1:123456789012:app/APNS/serenya-ios"
const IOS_SANDBOX = "arn:aws:sns:eu-west-1:123456789012:app/APNS_SANDBOX/serenya-ios-dev"
const ANDROID = "arn:aws:sns:eu-west-1:123456789012:app/GCM/serenya-android"
const SNS = { NOTIFICATIONS_PROVIDER: "sns", SNS_PLATFORM_APPLICATION_ARN_IOS: IOS, SNS_PLATFORM_APPLICATION_ARN_ANDROID: ANDROID }

const ok = (env: Record<string, string>) => {
  const result = settingsFrom(env)
  if (Result.isFailure(result)) throw new Error(result.failure)
  return result.success.notifications
}
const problem = (env: Record<string, string>) => {
  const result = settingsFrom(env)
  if (Result.isSuccess(result)) throw new Error("expected the settings to be refused")
  return result.failure
}

describe("notifications settings", () => {
  it("local by default, with no webhook; sns with both platform applications", () => {
    expect(ok({})).toEqual({
      provider: "local",
      iosApplicationArn: Option.none(),
      androidApplicationArn: Option.none(),
      webhookUrl: Option.none()
    })
    const sns = ok(SNS)
    expect(sns.provider).toBe("sns")
    expect(sns.iosApplicationArn).toEqual(Option.some(IOS))
    expect(sns.androidApplicationArn).toEqual(Option.some(ANDROID))
    expect(ok({ ...SNS, SNS_PLATFORM_APPLICATION_ARN_IOS: IOS_SANDBOX }).iosApplicationArn).toEqual(Option.some(IOS_SANDBOX))
  })

  it("production: the provider must be sns", () => {
    expect(ok(PRODUCTION_ENV).provider).toBe("sns")
    expect(problem({ ...PRODUCTION_ENV, NOTIFICATIONS_PROVIDER: "local" })).toMatch(/NOTIFICATIONS_PROVIDER must be sns when APP_ENV=production/)
  })

  it("sns needs both ARNs, each naming its own variable", () => {
    expect(problem({ NOTIFICATIONS_PROVIDER: "sns", SNS_PLATFORM_APPLICATION_ARN_IOS: IOS })).toMatch(
      /SNS_PLATFORM_APPLICATION_ARN_ANDROID is required when NOTIFICATIONS_PROVIDER=sns/
    )
    const neither = problem({ NOTIFICATIONS_PROVIDER: "sns" })
    expect(neither).toContain("SNS_PLATFORM_APPLICATION_ARN_IOS")
    expect(neither).toContain("SNS_PLATFORM_APPLICATION_ARN_ANDROID")
  })

  it("an ARN that is not a platform application of its platform is refused without being echoed", () => {
    const wrong: ReadonlyArray<readonly [string, string]> = [
      ["SNS_PLATFORM_APPLICATION_ARN_IOS", ANDROID],
      ["SNS_PLATFORM_APPLICATION_ARN_ANDROID", IOS],
      ["SNS_PLATFORM_APPLICATION_ARN_IOS", "arn:aws:sns:eu-west-1:123456789012:serenya-topic"],
      ["SNS_PLATFORM_APPLICATION_ARN_IOS", "arn:aws:sns:eu-west-1:1234:app/APNS/short-account"],
      ["SNS_PLATFORM_APPLICATION_ARN_ANDROID", "arn:aws:sqs:eu-west-1:123456789012:app/GCM/not-sns"],
      ["SNS_PLATFORM_APPLICATION_ARN_ANDROID", `${ANDROID} `]
    ]
    for (const [name, value] of wrong) {
      const message = problem({ ...SNS, [name]: value })
      expect(message, value).toContain(`${name} must be an SNS platform application ARN`)
      expect(message, value).not.toContain(value.trim())
    }
  })

  it("the platform applications must be in AWS_REGION's Region (an endpoint ARN is usable only there)", () => {
    expect(ok({ ...SNS, AWS_REGION: "eu-west-1" }).provider).toBe("sns")
    const elsewhere = problem({ ...SNS, AWS_REGION: "eu-central-1" })
    expect(elsewhere).toContain("SNS_PLATFORM_APPLICATION_ARN_IOS must name a platform application in AWS_REGION's Region")
    expect(elsewhere).toContain("SNS_PLATFORM_APPLICATION_ARN_ANDROID must name a platform application in AWS_REGION's Region")
    // only checked where SNS is used
    expect(ok({ SNS_PLATFORM_APPLICATION_ARN_IOS: IOS, AWS_REGION: "eu-central-1" }).provider).toBe("local")
  })

  it("NOTIFY_WEBHOOK_URL: an http(s) URL, kept redacted; anything else refused without being echoed", () => {
    const url = ok({ NOTIFY_WEBHOOK_URL: "https://hooks.internal/push?token=s3cret-value" }).webhookUrl
    expect(Option.map(url, Redacted.value)).toEqual(Option.some("https://hooks.internal/push?token=s3cret-value"))
    expect(String(Option.getOrThrow(url))).not.toContain("s3cret-value")
    for (const value of ["ftp://hooks.internal/push", "not a url at all", "javascript:alert(1)"]) {
      const message = problem({ NOTIFY_WEBHOOK_URL: value })
      expect(message).toContain("NOTIFY_WEBHOOK_URL must be an http:// or https:// URL")
      expect(message).not.toContain(value)
    }
  })

  it("parsePlatformApplicationArn reads the Region, account and platform", () => {
    expect(parsePlatformApplicationArn(IOS_SANDBOX)).toEqual({ region: "eu-west-1", account: "123456789012", platform: "APNS_SANDBOX" })
    expect(parsePlatformApplicationArn("arn:aws:sns:eu-west-1:123456789012:app/ADM/kindle")).toBeUndefined()
  })
})
