/** Ids for tests that name their users: a label ("alice", "u1") becomes a valid, stable UUID. */
import { createHash } from "node:crypto"
import { UserId } from "../../src/services/ids.js"

/** The same label gives the same id; different labels, different ids (a v4-shaped UUID from SHA-256). */
export const userIdOf = (label: string): UserId => {
  const h = createHash("sha256").update(label, "utf8").digest("hex")
  return UserId.make(`${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`)
}
