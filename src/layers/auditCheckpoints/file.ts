/**
 * Checkpoints as files under DATA_DIR/audit-checkpoints, one per checkpoint, written once (0600,
 * "wx": an existing file is never overwritten) and named so the latest sorts first
 * (services/auditCheckpoints.ts checkpointName). Outside the database, so its roles cannot touch
 * them; whoever owns the machine can — locally that is accepted, live they are S3 objects under
 * Object Lock (./s3.ts).
 */
import { Effect, Layer, Option, Schema } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { AppInfoConfig } from "../../config/app.js"
import { AuditUnavailable } from "../../services/audit.js"
import { AuditCheckpoint, AuditCheckpoints, checkpointName } from "../../services/auditCheckpoints.js"

const NAME = /^\d{16}-\d{16}\.json$/
const decode = Schema.decodeUnknownOption(Schema.fromJsonString(AuditCheckpoint))

export const makeFileCheckpoints = (folder: string) =>
  AuditCheckpoints.of({
    write: (checkpoint) =>
      Effect.tryPromise({
        try: async () => {
          await fs.mkdir(folder, { recursive: true, mode: 0o700 })
          const file = path.join(folder, checkpointName(checkpoint.position))
          // A temporary file renamed into place would allow overwriting; "wx" is write-once.
          await fs.writeFile(file, `${JSON.stringify(checkpoint)}\n`, { mode: 0o600, flag: "wx" }).catch((error: NodeJS.ErrnoException) => {
            if (error.code !== "EEXIST") throw error
          })
        },
        catch: () => new AuditUnavailable({ message: "The audit checkpoint could not be written" })
      }),
    latest: Effect.tryPromise({
      try: async () => {
        const names = await fs.readdir(folder).catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return [] as Array<string>
          throw error
        })
        const latest = names.filter((name) => NAME.test(name)).sort()[0]
        if (latest === undefined) return Option.none()
        const text = await fs.readFile(path.join(folder, latest), "utf8")
        const decoded = decode(text.trim())
        if (Option.isNone(decoded)) throw new Error("malformed")
        return decoded
      },
      catch: () => new AuditUnavailable({ message: "The last audit checkpoint could not be read" })
    })
  })

export const AuditCheckpointsFile: Layer.Layer<AuditCheckpoints, never, AppInfoConfig> = Layer.effect(
  AuditCheckpoints,
  Effect.map(AppInfoConfig, (config) => makeFileCheckpoints(path.join(config.dataDir, "audit-checkpoints")))
)
