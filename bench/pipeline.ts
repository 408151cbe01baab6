/**
 * The document pipeline in process, on the production local layers (local Crypto, filesystem
 * Storage, Postgres audit, costs and job queue, the offline LLM) over the bench database: N uploads
 * of the fixture PDF through `uploadDocument`, processed by the worker pool (`processJob`, 2
 * workers, as the server runs them) until every job is completed.
 *
 * Stage times come from wrapping the services, per job:
 * - upload side: seal = Crypto.seal of the document, store = Storage.put, accept = the rest of
 *   uploadDocument (quota, job row — the row is the queue, so this is the enqueue —, audit);
 * - worker side, from the JobQueue.setStage timestamps: open = `opening` → `interpreting`
 *   (Storage.get + Crypto.open), interpret = `interpreting` → `storing` (LLM.interpret, which for
 *   the offline provider is text extraction plus parsing), persist = `storing` → complete (sealed
 *   fields, content row, audit, completion in one transaction); extract = extractPdfText timed on
 *   its own on the same bytes, so interpret − extract is the parsing.
 */
import { Duration, Effect, Layer, ManagedRuntime, Redacted, References } from "effect"
import * as fs from "node:fs/promises"
import { configLayer } from "../src/config.js"
import { auditLayer } from "../src/main/layers.js"
import { EmfSink } from "../src/layers/telemetry/emf.js"
import { CostTrackerPostgres } from "../src/layers/costTracker/postgres.js"
import { CryptoLocal } from "../src/layers/crypto/local.js"
import { pgClientLayer } from "../src/layers/database/postgres.js"
import { JobQueuePostgres } from "../src/layers/jobQueue/postgres.js"
import { LLMOffline } from "../src/layers/llm/offline.js"
import { NotificationsMemory } from "../src/layers/notifications/memory.js"
import { extractPdfText } from "../src/layers/llm/pdfText.js"
import { StorageFilesystem } from "../src/layers/storage/filesystem.js"
import { makeWorkerPool } from "../src/main/workerPool.js"
import { makeUserLookupKey } from "../src/layers/auth/lookupKey.js"
import { TimelineCacheMemory } from "../src/layers/timelineCache/memory.js"
import { uploadDocument } from "../src/programs/uploadDocument.js"
import { findOrCreateUser } from "../src/programs/users.js"
import { Crypto } from "../src/services/crypto.js"
import { SqlClient } from "../src/services/database.js"
import { JobQueue } from "../src/services/jobQueue.js"
import { Storage } from "../src/services/storage.js"
import { UserLookupKey } from "../src/services/users.js"
import { type BenchEnvironment, FIXTURE_PDF } from "./environment.js"
import { UploadTargetsUnconfigured } from "../src/layers/uploadTargets/unconfigured.js"

export interface PipelineResult {
  readonly documents: number
  readonly seconds: number
  readonly documentsPerSecond: number
  /** Mean milliseconds per document and stage. */
  readonly stages: Record<string, number>
  readonly method: string
}

const now = () => performance.now()

export const runPipelineBench = async (environment: BenchEnvironment, documents: number): Promise<PipelineResult> => {
  const samples: Record<string, Array<number>> = {}
  const add = (stage: string, ms: number) => (samples[stage] ??= []).push(ms)
  const timed = <A, E, R>(stage: string, effect: Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      const started = now()
      return Effect.ensuring(effect, Effect.sync(() => add(stage, now() - started)))
    })
  const stageAt = new Map<string, Record<string, number>>()
  const mark = (jobId: string, stage: string) => {
    const marks = stageAt.get(jobId) ?? {}
    marks[stage] = now()
    stageAt.set(jobId, marks)
  }

  const TimedCrypto = Layer.effect(
    Crypto,
    Effect.map(Crypto, (crypto) => ({
      ...crypto,
      seal: (plaintext: Uint8Array, options: Parameters<typeof crypto.seal>[1]) =>
        options.purpose === "documents" ? timed("seal", crypto.seal(plaintext, options)) : crypto.seal(plaintext, options)
    }))
  ).pipe(Layer.provide(CryptoLocal))
  const TimedStorage = Layer.effect(
    Storage,
    Effect.map(Storage, (storage) => ({ ...storage, put: (...args: Parameters<typeof storage.put>) => timed("store", storage.put(...args)) }))
  ).pipe(Layer.provide(StorageFilesystem))
  const TimedQueue = Layer.effect(
    JobQueue,
    Effect.map(JobQueue, (queue) => ({
      ...queue,
      setStage: (...args: Parameters<typeof queue.setStage>) => Effect.andThen(Effect.sync(() => mark(args[0], args[2])), queue.setStage(...args)),
      complete: (...args: Parameters<typeof queue.complete>) => Effect.tap(queue.complete(...args), () => Effect.sync(() => mark(args[0], "completed")))
    }))
  ).pipe(Layer.provide(JobQueuePostgres))

  const dataDir = environment.settings.dataDir
  const settings = { ...environment.settings, dataDir: `${dataDir}-pipeline` }
  const base = pgClientLayer(Redacted.make(environment.databaseUrl), settings.database)
  const services = Layer.mergeAll(TimedCrypto, TimedStorage, UploadTargetsUnconfigured, TimedQueue, auditLayer(settings), CostTrackerPostgres, LLMOffline, TimelineCacheMemory, NotificationsMemory).pipe(
    Layer.provideMerge(Layer.succeed(UserLookupKey, makeUserLookupKey(Buffer.from(environment.env.USER_LOOKUP_KEY!, "hex")))),
    Layer.provideMerge(base),
    Layer.provideMerge(configLayer(settings)),
    // The usage metrics' EMF lines and the pool's info logs would drown the bench's own output.
    Layer.provideMerge(Layer.succeed(EmfSink, { emit: () => Effect.void })),
    Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Warn"))
  )
  const runtime = ManagedRuntime.make(services)
  try {
    const pdf = await fs.readFile(FIXTURE_PDF)
    const { user } = await runtime.runPromise(findOrCreateUser({ email: "pipeline@example.com" }))

    // The PDF's text extraction alone, on the same bytes, for the extract/parse split.
    for (let i = 0; i < Math.min(documents, 20); i++) {
      await runtime.runPromise(timed("extract", extractPdfText(new Uint8Array(pdf), {})))
    }

    const started = now()
    const jobIds: Array<string> = []
    await runtime.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const pool = yield* makeWorkerPool({ concurrency: 2, lease: "60 seconds", poll: "10 millis", shutdownTimeout: "10 seconds" })
          for (let i = 0; i < documents; i++) {
            const accepted = yield* timed(
              "upload",
              uploadDocument({ userId: user.id, bytes: new Uint8Array(pdf), declaredContentType: "application/pdf", fileName: `cbc-${i}.pdf`, request: {} })
            )
            jobIds.push(accepted.jobId)
          }
          const sql = yield* SqlClient.SqlClient
          for (;;) {
            const [row] = yield* sql<{ open: number }>`
              SELECT count(*)::int AS open FROM jobs WHERE user_id = ${user.id}::uuid AND status NOT IN ('completed', 'failed')`
            if ((row?.open ?? 0) === 0) break
            yield* Effect.sleep(Duration.millis(20))
          }
          const stats = yield* pool.stats
          if (stats.completed !== documents) yield* Effect.logWarning("pipeline: not every job completed", stats)
        })
      )
    )
    const seconds = (now() - started) / 1000
    for (const jobId of jobIds) {
      const m = stageAt.get(jobId)
      if (m?.opening === undefined || m.interpreting === undefined || m.storing === undefined || m.completed === undefined) continue
      add("open", m.interpreting - m.opening)
      add("interpret", m.storing - m.interpreting)
      add("persist", m.completed - m.storing)
    }
    const mean = (stage: string) => {
      const values = samples[stage] ?? []
      return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length
    }
    const stages: Record<string, number> = {
      seal: mean("seal"),
      store: mean("store"),
      "accept (quota, job row = enqueue, audit)": mean("upload") - mean("seal") - mean("store"),
      "upload total": mean("upload"),
      open: mean("open"),
      extract: mean("extract"),
      "interpret (incl. extract)": mean("interpret"),
      persist: mean("persist")
    }
    return {
      documents,
      seconds,
      documentsPerSecond: documents / seconds,
      stages,
      method: "in-process uploadDocument + worker pool (2) of processJob; stage times from wrapped services and JobQueue.setStage timestamps"
    }
  } finally {
    await runtime.dispose()
  }
}
