/**
 * The test layer: deliveries kept in a Ref, with a probe (NotificationsMemoryProbe, provided beside
 * Notifications by this layer) that reads what was delivered and scripts the provider's failures.
 *
 * It behaves as the providers do where programs can tell:
 * - `register` validates the token (validatePushToken) and answers the same `local:` endpoint for
 *   the same (platform, token) as the local webhook layer does, re-enabling it if it was disabled;
 * - a second delivery of the same message id to the same endpoint is a repeat: it counts as an
 *   attempt but is not a second notification on the device (`delivered` is distinct, `attempts` all);
 * - an endpoint disabled with the probe, or unregistered, answers EndpointDisabled until it is
 *   registered again; an endpoint never seen here is delivered to (tests may use any string).
 */
import { Context, Effect, Layer, Ref } from "effect"
import {
  type DevicePlatform,
  EndpointDisabled,
  Notifications,
  NotificationsUnavailable,
  type PushMessage,
  validatePushToken
} from "../../services/notifications.js"
import { localEndpoint } from "./webhook.js"

/** One send the provider accepted. */
export interface MemoryDelivery {
  readonly endpoint: string
  readonly platform: DevicePlatform
  readonly message: PushMessage
}

export class NotificationsMemoryProbe extends Context.Service<
  NotificationsMemoryProbe,
  {
    /** What reached the devices: one entry per (endpoint, message id), in order of first delivery. */
    readonly delivered: Effect.Effect<ReadonlyArray<MemoryDelivery>>
    /** Every send the provider accepted, repeats included, in order. */
    readonly attempts: Effect.Effect<ReadonlyArray<MemoryDelivery>>
    /** Sends accepted for a message id already delivered to that endpoint (attempts − delivered). */
    readonly repeats: Effect.Effect<number>
    /** The endpoints registered and not unregistered since, sorted. */
    readonly registered: Effect.Effect<ReadonlyArray<string>>
    /** The provider stops delivering to `endpoint` (the app removed): send answers EndpointDisabled until it is registered again. */
    readonly disable: (endpoint: string) => Effect.Effect<void>
    /** The next `n` sends fail with NotificationsUnavailable({ transient: true }) (added to any still pending). */
    readonly failNextSends: (n: number) => Effect.Effect<void>
  }
>()("serenya/NotificationsMemoryProbe") {}

interface State {
  readonly attempts: ReadonlyArray<MemoryDelivery>
  readonly registered: ReadonlySet<string>
  readonly disabled: ReadonlySet<string>
  readonly failuresPending: number
}

const without = (set: ReadonlySet<string>, value: string): ReadonlySet<string> => {
  const next = new Set(set)
  next.delete(value)
  return next
}

const distinct = (attempts: ReadonlyArray<MemoryDelivery>): ReadonlyArray<MemoryDelivery> => {
  const seen = new Set<string>()
  return attempts.filter((attempt) => {
    const key = `${attempt.endpoint}\n${attempt.message.id}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

const span = (name: string) => Effect.withSpan(name, { attributes: { "notifications.provider": "memory" } })

export const makeMemoryNotifications = Effect.gen(function* () {
  const state = yield* Ref.make<State>({ attempts: [], registered: new Set(), disabled: new Set(), failuresPending: 0 })

  const notifications: (typeof Notifications)["Service"] = {
    register: (_userId, device) =>
      Effect.flatMap(Effect.fromResult(validatePushToken(device)), (valid) => {
        const endpoint = localEndpoint(valid.platform, valid.token)
        return Effect.as(
          Ref.update(state, (s) => ({
            ...s,
            registered: new Set(s.registered).add(endpoint),
            disabled: without(s.disabled, endpoint)
          })),
          endpoint
        )
      }).pipe(span("Notifications.register")),

    send: (endpoint, platform, message) =>
      Effect.flatten(
        Ref.modify(state, (s): readonly [Effect.Effect<void, EndpointDisabled | NotificationsUnavailable>, State] => {
          if (s.failuresPending > 0) {
            return [
              Effect.fail(new NotificationsUnavailable({ message: "The push provider is unavailable (scripted)", transient: true })),
              { ...s, failuresPending: s.failuresPending - 1 }
            ]
          }
          if (s.disabled.has(endpoint)) {
            return [Effect.fail(new EndpointDisabled({ message: "The push endpoint no longer takes messages" })), s]
          }
          return [
            Effect.void,
            { ...s, attempts: [...s.attempts, { endpoint, platform, message: { ...message } }] }
          ]
        })
      ).pipe(span("Notifications.send")),

    unregister: (endpoint) =>
      Ref.update(state, (s) =>
        s.registered.has(endpoint)
          ? { ...s, registered: without(s.registered, endpoint), disabled: new Set(s.disabled).add(endpoint) }
          : s
      ).pipe(span("Notifications.unregister"))
  }

  const probe: (typeof NotificationsMemoryProbe)["Service"] = {
    delivered: Effect.map(Ref.get(state), (s) => distinct(s.attempts)),
    attempts: Effect.map(Ref.get(state), (s) => s.attempts),
    repeats: Effect.map(Ref.get(state), (s) => s.attempts.length - distinct(s.attempts).length),
    registered: Effect.map(Ref.get(state), (s) => [...s.registered].sort()),
    disable: (endpoint) => Ref.update(state, (s) => ({ ...s, disabled: new Set(s.disabled).add(endpoint) })),
    failNextSends: (n) =>
      Ref.update(state, (s) => ({ ...s, failuresPending: s.failuresPending + Math.max(0, Math.floor(n)) }))
  }
  return { notifications, probe }
})

/** A fresh provider per layer build: Notifications and its NotificationsMemoryProbe. */
export const NotificationsMemory: Layer.Layer<Notifications | NotificationsMemoryProbe> = Layer.effectContext(
  Effect.map(makeMemoryNotifications, ({ notifications, probe }) =>
    Context.make(Notifications, notifications).pipe(Context.add(NotificationsMemoryProbe, probe))
  )
)
