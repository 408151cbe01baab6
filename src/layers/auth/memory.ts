/**
 * The test layer of the user lookup key: a fixed, known key — never in production (tests that
 * insert users directly hash with it, as the app does).
 */
import { Layer } from "effect"
import { UserLookupKey } from "../../services/users.js"
import { makeUserLookupKey } from "./lookupKey.js"

export const testUserLookupKey = makeUserLookupKey(Buffer.alloc(32, 7))

export const UserLookupKeyMemory: Layer.Layer<UserLookupKey> = Layer.succeed(UserLookupKey, testUserLookupKey)
