/**
 * Interpreted documents at rest. Every field that says anything about a person's health is
 * sealed with its own field context before it reaches the `content` table:
 * - `title_encrypted`: the title;
 * - `summary_encrypted`: the timeline card, JSON `{ summary, flaggedCount, criticalCount, unreadCount }`
 *   — the counts are health information too, and the timeline must not open whole documents to
 *   show them (cards stored before the last two existed read them as 0);
 * - `body_encrypted`: the whole InterpretedDocument, encoded with its Schema;
 * - `trends_encrypted`: its results as the trends index keeps them (trendIndex.ts, trends.ts).
 * Every query is scoped to the signed-in user in the SQL itself (repos/content.ts): another user's
 * id reads as absent.
 */
import { Effect, Option, Schema } from "effect"
import * as Content from "../repos/content.js"
import * as Users from "../repos/users.js"
import { Audit, type RequestContext } from "../services/audit.js"
import { Crypto, fieldContext, type SealedItem } from "../services/crypto.js"
import { ContentId, type JobId, newUuid, type UserId } from "../services/ids.js"
import { InterpretedDocument, isCriticalFlag, isOutOfRange, type LLMProviderName } from "../services/llm.js"
import { TimelineCache, type TimelineItem, type TimelinePage, type TimelineWindow } from "../services/timelineCache.js"
import { fnTraced } from "../services/telemetry.js"
import { removeOriginalOf } from "./sweepOriginals.js"
import { encodeTrendEntries, trendEntriesOf } from "./trendIndex.js"

export type { TimelineItem, TimelinePage } from "../services/timelineCache.js"

/** Results outside the normal (critical ones included). */
export const flaggedCount = (document: InterpretedDocument): number =>
  document.results.filter((r) => isOutOfRange(r.flag)).length

/** Critical values: the card says so, so the timeline shows them without opening the document. */
export const criticalCount = (document: InterpretedDocument): number =>
  document.results.filter((r) => isCriticalFlag(r.flag)).length

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
/** A count that older cards lack: absent reads as 0. */
const Count = NonNegativeInt.pipe(Schema.withDecodingDefault(Effect.succeed(0)))
/** The timeline card as sealed in `summary_encrypted` (JSON); the benchmark's baselines read the same four fields by hand (bench/baselines/honest/timeline.ts). */
export const Card = Schema.fromJsonString(
  Schema.Struct({ summary: Schema.String, flaggedCount: NonNegativeInt, criticalCount: Count, unreadCount: Count })
)

/** The timeline card of a document, as sealed in `summary_encrypted`. */
export const cardOf = (document: InterpretedDocument): typeof Card.Type => ({
  summary: document.summary,
  flaggedCount: flaggedCount(document),
  criticalCount: criticalCount(document),
  unreadCount: document.unreadLines.length
})
/** The card as stored: JSON. */
export const encodeCard = Schema.encodeSync(Card)
const Body = Schema.fromJsonString(InterpretedDocument)
const decodeCards = Schema.decodeUnknownEffect(Schema.Array(Card))
const decodeBody = Schema.decodeUnknownEffect(Body)

const sealedField = (userId: UserId, column: string, contentId: ContentId) =>
  fieldContext(userId, "content", column, contentId)

export interface StoredContent {
  readonly contentId: ContentId
  readonly userId: UserId
  readonly jobId: Option.Option<JobId>
  readonly document: InterpretedDocument
  readonly provider: LLMProviderName
  readonly modelId: string
  readonly createdAt: Date
}

/**
 * Stores an interpretation. The id is chosen first so that the sealed fields can be bound to the
 * row they belong to; a job's content is stored at most once (`job_id` is unique).
 */
export const saveContent = fnTraced("Content.save")(function* (input: {
  readonly userId: UserId
  readonly jobId?: JobId
  readonly document: InterpretedDocument
  readonly provider: LLMProviderName
  readonly modelId: string
}) {
  const crypto = yield* Crypto
  const contentId = ContentId.make(yield* newUuid)
  const title = yield* crypto.sealString(input.document.title, sealedField(input.userId, "title_encrypted", contentId))
  const card = yield* crypto.sealString(
    encodeCard(cardOf(input.document)),
    sealedField(input.userId, "summary_encrypted", contentId)
  )
  const body = yield* crypto.sealString(
    Schema.encodeSync(Body)(input.document),
    sealedField(input.userId, "body_encrypted", contentId)
  )
  // the trends index, stored with the document (trendIndex.ts)
  const trends = yield* crypto.sealString(
    encodeTrendEntries(trendEntriesOf(input.document)),
    sealedField(input.userId, "trends_encrypted", contentId)
  )
  yield* Content.insertContent({
    id: contentId,
    userId: input.userId,
    jobId: input.jobId ?? null,
    documentType: input.document.documentType,
    titleEncrypted: title,
    summaryEncrypted: card,
    bodyEncrypted: body,
    trendsEncrypted: trends,
    provider: input.provider,
    modelId: input.modelId
  })
  return contentId
})

/** The whole document, or none when it does not exist or belongs to someone else. */
export const loadContent = fnTraced("Content.load")(function* (userId: UserId, contentId: ContentId) {
  const crypto = yield* Crypto
  const found = yield* Content.findContent(userId, contentId)
  if (Option.isNone(found)) return Option.none<StoredContent>()
  const row = found.value
  // The context is built from the id as stored (canonical), not as the caller spelled it.
  const json = yield* crypto.openString(row.bodyEncrypted, sealedField(userId, "body_encrypted", row.id))
  const document = yield* decodeBody(json)
  return Option.some<StoredContent>({
    contentId: row.id,
    userId: row.userId,
    jobId: Option.fromNullishOr(row.jobId),
    document,
    provider: row.provider,
    modelId: row.modelId,
    createdAt: row.createdAt
  })
})

/** Newest first; opens only the title and the card of each item, never the documents. */
export const listTimeline = fnTraced("Content.timeline")(function* (userId: UserId, page: TimelineWindow) {
  const crypto = yield* Crypto
  const { rows: decoded, total } = yield* Content.timelinePage(userId, page)
  // Every title and card of the page opened in one pass, and the cards decoded in one step:
  // one Effect for 40 fields instead of one per field.
  const sealed: Array<SealedItem> = []
  for (const row of decoded) {
    sealed.push(
      { envelope: row.titleEncrypted, options: sealedField(userId, "title_encrypted", row.id) },
      { envelope: row.summaryEncrypted, options: sealedField(userId, "summary_encrypted", row.id) }
    )
  }
  const texts = yield* crypto.openStrings(sealed)
  const cards = yield* decodeCards(texts.filter((_, i) => i % 2 === 1))
  const items = decoded.map((row, i): TimelineItem => {
    const card = cards[i]!
    return {
      contentId: row.id,
      documentType: row.documentType,
      title: texts[2 * i]!,
      summary: card.summary,
      flaggedCount: card.flaggedCount,
      criticalCount: card.criticalCount,
      unreadCount: card.unreadCount,
      createdAt: row.createdAt
    }
  })
  return { items, total } satisfies TimelinePage
})

/**
 * Removes the content, (by cascade) its conversation, and the original kept with it; false when
 * there was nothing of this user's to remove.
 */
export const deleteContent = fnTraced("Content.delete")(function* (userId: UserId, contentId: ContentId) {
  const deleted = yield* Content.deleteContent(userId, contentId)
  if (Option.isNone(deleted)) return false
  if (deleted.value !== null) yield* removeOriginalOf(deleted.value)
  return true
})

const record = (
  userId: UserId,
  requestContext: RequestContext,
  event: { readonly action: "content.list" | "content.read" | "content.delete"; readonly contentId?: ContentId; readonly found: boolean }
) =>
  Effect.flatMap(Audit, (audit) =>
    audit.record({
      ...requestContext,
      actorUserId: userId,
      action: event.action,
      resourceType: "content",
      ...(event.contentId !== undefined ? { resourceId: event.contentId } : {}),
      outcome: event.found ? "success" : "failure"
    })
  )

/** The page from the cache while the user's stamp holds; read, opened and stored otherwise. */
const cachedPage = (cache: (typeof TimelineCache)["Service"], userId: UserId, window: TimelineWindow) =>
  Effect.gen(function* () {
    const version = yield* Users.contentVersion(userId)
    if (Option.isNone(version)) {
      yield* cache.invalidate(userId)
      return { items: [], total: 0 } satisfies TimelinePage
    }
    const cached = yield* cache.lookup(userId, window, version.value)
    yield* Effect.annotateCurrentSpan("cache.hit", Option.isSome(cached))
    if (Option.isSome(cached)) return cached.value
    const page = yield* listTimeline(userId, window)
    yield* cache.store(userId, window, version.value, page)
    return page
  })

/**
 * `GET /content/timeline`: a page of the user's cards, from the cache while the user's content
 * stamp has not moved (5 minutes at most), else read and opened again. Audited either way.
 */
export const readTimeline = fnTraced("Content.readTimeline")(function* (
  userId: UserId,
  window: TimelineWindow,
  requestContext: RequestContext = {}
) {
  const cache = yield* TimelineCache
  // Without a cache the stamp would be a query for nothing.
  const page = cache.enabled ? yield* cachedPage(cache, userId, window) : yield* listTimeline(userId, window)
  yield* record(userId, requestContext, { action: "content.list", found: true })
  return page
})

/** `GET /content/{contentId}`: the whole document, audited; another user's id reads as absent. */
export const readContent = fnTraced("Content.read")(function* (
  userId: UserId,
  contentId: ContentId,
  requestContext: RequestContext = {}
) {
  const content = yield* loadContent(userId, contentId)
  yield* record(userId, requestContext, { action: "content.read", contentId, found: Option.isSome(content) })
  return content
})

/** `DELETE /content/{contentId}`: gone with its conversation, audited; false when there was nothing of this user's. */
export const removeContent = fnTraced("Content.remove")(function* (
  userId: UserId,
  contentId: ContentId,
  requestContext: RequestContext = {}
) {
  const deleted = yield* deleteContent(userId, contentId)
  if (deleted) yield* Effect.flatMap(TimelineCache, (cache) => cache.invalidate(userId))
  yield* record(userId, requestContext, { action: "content.delete", contentId, found: deleted })
  return deleted
})
