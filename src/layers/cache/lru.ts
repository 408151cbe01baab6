/**
 * What the per-instance caches in memory share (the timeline's pages, the subscription status's
 * usage): a map bounded by its number of entries that forgets the least recently used first, and
 * entries valid under one stamp until an instant. Time is the caller's (Clock), so tests move it.
 */

/**
 * A Map of at most `capacity` entries; storing past it drops the least recently used. A capacity
 * of 0 (or less) keeps nothing. Reading with `get` counts as a use, `peek` does not.
 */
export class LruMap<K, V> {
  // A Map iterates in insertion order: re-inserting a key on use keeps the least recent first.
  private readonly entries = new Map<K, V>()

  constructor(readonly capacity: number) {}

  /** The value, which becomes the most recently used. */
  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined
    const value = this.entries.get(key) as V
    this.entries.delete(key)
    this.entries.set(key, value)
    return value
  }

  /** The value, leaving the order as it is. */
  peek(key: K): V | undefined {
    return this.entries.get(key)
  }

  /** Stores the value as the most recently used, then drops the least recently used past the capacity. */
  set(key: K, value: V): void {
    this.entries.delete(key)
    if (this.capacity <= 0) return
    this.entries.set(key, value)
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next()
      if (oldest.done === true) break
      this.entries.delete(oldest.value)
    }
  }

  delete(key: K): boolean {
    return this.entries.delete(key)
  }

  /** Drops every entry `drop` selects. */
  deleteWhere(drop: (value: V, key: K) => boolean): void {
    for (const [key, value] of this.entries) if (drop(value, key)) this.entries.delete(key)
  }

  get size(): number {
    return this.entries.size
  }
}

/** A value served only under the stamp it was stored with, and only before `expiresAt` (epoch ms). */
export interface Stamped<A> {
  readonly stamp: string
  readonly expiresAt: number
  readonly value: A
}

/** Whether `entry` may still be served for `stamp` at `now`. */
export const isCurrent = (entry: Stamped<unknown>, stamp: string, now: number): boolean =>
  entry.stamp === stamp && now < entry.expiresAt
