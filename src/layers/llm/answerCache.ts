/**
 * The answers the Bedrock layer keeps for its circuit breaker's fallback, and the key they are kept
 * under: a hash of the operation, the model, the user and the request's content.
 */
import type { Duration } from "effect"
import { createHash } from "node:crypto"

/**
 * Answers kept for the breaker's fallback: bounded in number and in age, in memory only, never
 * persisted. Each entry remembers whose it is, so that erasing an account drops its answers (they
 * hold the user's results and questions) instead of leaving them until pushed out.
 */
export class AnswerCache<A> {
  private readonly entries = new Map<string, { readonly value: A; readonly owner: string; readonly expiresAt: number }>()
  constructor(private readonly max: number, private readonly ttlMillis: number) {}
  get(key: string, now: number): A | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value
  }
  set(key: string, value: A, owner: string, now: number) {
    if (this.max <= 0 || this.ttlMillis <= 0) return
    this.entries.delete(key)
    this.entries.set(key, { value, owner, expiresAt: now + this.ttlMillis })
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next()
      if (oldest.done) break
      this.entries.delete(oldest.value)
    }
  }
  forget(owner: string) {
    for (const [key, entry] of this.entries) if (entry.owner === owner) this.entries.delete(key)
  }
  get size() {
    return this.entries.size
  }
}

export const hashOf = (...parts: ReadonlyArray<string | Uint8Array>) => {
  const hash = createHash("sha256")
  for (const part of parts) {
    hash.update(typeof part === "string" ? Buffer.from(part, "utf8") : part)
    hash.update("\u0000")
  }
  return hash.digest("hex")
}

/** Long enough to ride out an open breaker (30 s) many times over, short enough not to hoard answers. */
export const DEFAULT_ANSWER_CACHE_TTL: Duration.Input = "15 minutes"
