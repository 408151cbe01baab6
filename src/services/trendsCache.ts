/**
 * The trends cache: a user's trends index, opened (programs/trends.ts), kept under the user's
 * content stamp (`users.content_version`, which every change of their content moves), so a
 * trend read after a change never sees the old index. Like the timeline cache it holds opened
 * health data in memory: bounded by users and by age, and dropped at once for an erased account
 * (an instance that did not erase never serves it either: the stamp is read from the user's row,
 * which is gone).
 */
import { Context, type Effect, type Option } from "effect"
import type { ContentId, UserId } from "./ids.js"
import type { ResultFlag } from "./llm.js"

/** One result of one of the user's documents, as trends read it. */
export interface TrendIndexEntry {
  readonly contentId: ContentId
  readonly code?: string | undefined
  readonly name: string
  readonly value: number | string
  readonly unit: string
  readonly ucum?: string | undefined
  readonly flag: ResultFlag
  /** The report's collection date, or when the document was stored (`dated`). */
  readonly at: string
  readonly dated: "collected" | "stored"
}

export class TrendsCache extends Context.Service<
  TrendsCache,
  {
    /** False when nothing is ever kept: callers skip the stamp lookup then. */
    readonly enabled: boolean
    readonly lookup: (userId: UserId, version: string) => Effect.Effect<Option.Option<ReadonlyArray<TrendIndexEntry>>>
    readonly store: (userId: UserId, version: string, entries: ReadonlyArray<TrendIndexEntry>) => Effect.Effect<void>
    /** Drops the user's index (their account is gone). */
    readonly invalidate: (userId: UserId) => Effect.Effect<void>
  }
>()("serenya/TrendsCache") {}
