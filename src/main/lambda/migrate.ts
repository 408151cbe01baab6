/**
 * The migrate function: CloudFormation's custom resource (through the CDK Provider framework)
 * invokes it on every deployment, before the other functions' new versions go live. Create and
 * Update apply pending migrations as the schema's owner (DATABASE_OWNER_URL, from the master
 * secret) and give the application's role its login with DATABASE_URL's password (the application's
 * secret, so a rotated secret is applied here too); Delete does nothing (the schema outlives the
 * stack's resource). Migrations never run at a function's cold start. This function is the only one
 * that can read the master secret.
 */
import type { CloudFormationCustomResourceEvent } from "aws-lambda"
import { Effect, Layer } from "effect"
import type { AppInfoConfig } from "../../config/app.js"
import type { DatabaseConfig } from "../../config/database.js"
import { migrateDatabase } from "../../layers/database/migrate.js"
import { databaseConnections } from "../../layers/database/postgres.js"
import { makeContainer } from "./container.js"
import { baseLayer, flushTelemetry, loadLiveSettings } from "./live.js"
import { fnTraced } from "../../services/telemetry.js"

export const PHYSICAL_RESOURCE_ID = "serenya-schema-migrations"

export interface MigrateResult {
  readonly PhysicalResourceId: string
  readonly Data?: Record<string, string>
}

export const migrate = fnTraced("Lambda.migrate")(function* () {
  const applied = yield* Effect.scoped(Effect.flatMap(databaseConnections, migrateDatabase))
  const names = applied.map(([id, name]) => `${id}_${name}`)
  yield* Effect.logInfo(applied.length === 0 ? "schema is up to date" : "migrations applied").pipe(
    Effect.annotateLogs({ migrations: names })
  )
  return names
})

export const makeMigrateHandler = <E>(name: string, services: Layer.Layer<DatabaseConfig | AppInfoConfig, E>) => {
  const container = makeContainer(name, Layer.build(services))
  const handler = async (event: CloudFormationCustomResourceEvent): Promise<MigrateResult> => {
    if (event.RequestType === "Delete") return { PhysicalResourceId: event.PhysicalResourceId }
    const context = await container.get()
    const names = await Effect.runPromiseWith(context)(migrate().pipe(Effect.ensuring(flushTelemetry)))
    return { PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { Applied: String(names.length), Latest: names.at(-1) ?? "" } }
  }
  return { handler, dispose: container.dispose }
}

export const liveMigrateServices = Layer.unwrap(
  Effect.map(loadLiveSettings, ({ settings }) => baseLayer(settings))
)

export const { handler } = makeMigrateHandler(process.env.AWS_LAMBDA_FUNCTION_NAME ?? "migrate", liveMigrateServices)
