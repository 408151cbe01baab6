/**
 * The server bench/jobEvents.ts measures: `npm start`'s server (src/main/server.ts, without the
 * in-process workers the bench environment turns off) with the job events layer the environment
 * names — BENCH_JOB_EVENTS_ROUTE=direct (LISTEN/NOTIFY, what the servers with a direct connection
 * run) or rdsProxy (polling, what the Lambda functions run) — chosen by src/main/layers.ts exactly
 * as the deployments choose it.
 */
// First: Schema's JIT compiler (see src/main/server.ts).
import "effect/schema/SchemaJITCompiler/enable"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Layer } from "effect"
import { HttpAppLive } from "../src/http/app.js"
import { makeNodeServer } from "../src/http/nodeServer.js"
import { AccessTokensLive } from "../src/layers/auth/jwt.js"
import { DatabaseLive } from "../src/layers/database/postgres.js"
import { JobQueuePostgres } from "../src/layers/jobQueue/postgres.js"
import { type DatabaseRoute, servicesLayer } from "../src/main/layers.js"
import { runEntryPoint } from "../src/main/runtime.js"

const route: DatabaseRoute = process.env.BENCH_JOB_EVENTS_ROUTE === "rdsProxy" ? "rdsProxy" : "direct"

runEntryPoint(
  "bench job events server",
  (settings) =>
    Layer.launch(
      HttpAppLive.pipe(
        Layer.provide(NodeHttpServer.layer(() => makeNodeServer({ keepAliveTimeout: 5_000 }), { port: settings.port, host: settings.host })),
        Layer.provide(Layer.mergeAll(JobQueuePostgres, AccessTokensLive, servicesLayer(settings, { route }))),
        Layer.provide(DatabaseLive)
      )
    ),
  () => Layer.empty
)
