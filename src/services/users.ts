/**
 * Users are found by keyed hashes, never by their (encrypted) email: `UserLookupKey` is the HMAC
 * key of those lookup hashes. Changing it makes every existing account unfindable.
 */
import { Context } from "effect"

export class UserLookupKey extends Context.Service<
  UserLookupKey,
  {
    /** HMAC-SHA256 of `value` under the lookup key. */
    readonly hmac: (value: string) => Uint8Array
  }
>()("serenya/UserLookupKey") {}
