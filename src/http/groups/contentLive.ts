/** Handlers of the content group. */
import { HttpApiBuilder } from "effect/http-api"
import { Effect, Option } from "effect"
import { readContent, readTimeline, removeContent } from "../../programs/content.js"
import { contentAsFhir } from "../../programs/fhirExport.js"
import { listTrends, readTrend } from "../../programs/trends.js"
import { NotFound } from "../../services/errors.js"
import { Api } from "../api.js"
import { ContentBody, TimelineBody, TrendBody, TrendsBody } from "./content.js"
import { fhirBody } from "../fhirBody.js"
import { auditContext, classifiedOnly, currentUserId } from "./requestContext.js"

// Response bodies are built unvalidated (`, true`): the platform validates them once, as it encodes the response.

const noSuchContent = new NotFound({ message: "No such content" })

export const ContentLive = HttpApiBuilder.group(Api, "content", (handlers) =>
  handlers
    .handle("timeline", ({ query }) =>
      Effect.gen(function* () {
        const page = { limit: query.limit, offset: query.offset }
        const { items, total } = yield* readTimeline(yield* currentUserId, page, yield* auditContext)
        return new TimelineBody({ items, total, ...page }, { disableChecks: true })
      }).pipe(classifiedOnly)
    )
    .handle("get", ({ params }) =>
      Effect.gen(function* () {
        const content = yield* readContent(yield* currentUserId, params.contentId, yield* auditContext).pipe(classifiedOnly)
        if (Option.isNone(content)) return yield* noSuchContent
        const { contentId, document, provider, modelId, createdAt } = content.value
        return new ContentBody({ ...document, contentId, provider, modelId, createdAt }, { disableChecks: true })
      })
    )
    .handle("fhir", ({ params, query }) =>
      Effect.gen(function* () {
        const options = { includeOriginal: query.include === "original" }
        const bundle = yield* contentAsFhir(yield* currentUserId, params.contentId, yield* auditContext, options).pipe(classifiedOnly)
        if (Option.isNone(bundle)) return yield* noSuchContent
        return fhirBody(bundle.value)
      })
    )
    .handle("trends", ({ query }) =>
      Effect.gen(function* () {
        const userId = yield* currentUserId
        const context = yield* auditContext
        // a code names a test exactly; a name only when there is no code (documented on the parameter)
        if (query.code !== undefined || query.name !== undefined) {
          const test = query.code !== undefined ? { code: query.code } : { name: query.name ?? "" }
          return new TrendBody(yield* readTrend(userId, test, context).pipe(classifiedOnly), { disableChecks: true })
        }
        return new TrendsBody({ tests: yield* listTrends(userId, context).pipe(classifiedOnly) }, { disableChecks: true })
      })
    )
    .handle("delete", ({ params }) =>
      Effect.gen(function* () {
        const deleted = yield* removeContent(yield* currentUserId, params.contentId, yield* auditContext).pipe(classifiedOnly)
        if (!deleted) return yield* noSuchContent
      })
    )
)
