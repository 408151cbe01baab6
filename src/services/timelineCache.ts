/**
 * Timeline pages kept in memory per instance for a few minutes (the architecture's 5-minute
 * timeline cache). An entry is served only while the user's content stamp (`users.content_version`,
 * bumped by the database on every change of their content) is the one it was stored under, so a
 * change made through any instance is seen at once. Entries hold opened titles and summaries:
 * they live in this process's memory only, never on disk or in logs.
 */
import { Context, type Effect, type Option } from "effect"
import type { ContentId, UserId } from "./ids.js"
import type { DocumentType } from "./llm.js"

export interface TimelineItem {
  readonly contentId: ContentId
  readonly documentType: DocumentType
  readonly title: string
  readonly summary: string
  readonly flaggedCount: number
  readonly criticalCount: number
  readonly unreadCount: number
  readonly createdAt: Date
}

export interface TimelinePage {
  readonly items: ReadonlyArray<TimelineItem>
  readonly total: number
}

export interface TimelineWindow {
  readonly limit: number
  readonly offset: number
}

export class TimelineCache extends Context.Service<
  TimelineCache,
  {
    /** False when nothing is ever kept (a zero time-to-live): callers skip the stamp lookup then. */
    readonly enabled: boolean
    /** The page stored for this user, window and content stamp, unless it has expired. */
    readonly lookup: (userId: UserId, window: TimelineWindow, version: string) => Effect.Effect<Option.Option<TimelinePage>>
    readonly store: (userId: UserId, window: TimelineWindow, version: string, page: TimelinePage) => Effect.Effect<void>
    /** Drops every page of the user (their account is gone, or their content changed here). */
    readonly invalidate: (userId: UserId) => Effect.Effect<void>
  }
>()("serenya/TimelineCache") {}
