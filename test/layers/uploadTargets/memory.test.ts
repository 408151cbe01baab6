/** The memory layer under the shared contract: a client's upload is a deposit under the target's key. */
import { Context, Effect, Layer } from "effect"
import { MemoryUploads, UploadTargetsMemory } from "../../../src/layers/uploadTargets/memory.js"
import { UploadTargets } from "../../../src/services/uploadTargets.js"
import { uploadTargetsContract } from "./contract.js"

// One build shared by the layer under test and the deposits.
const built = Effect.runSync(Effect.scoped(Layer.build(UploadTargetsMemory)))

uploadTargetsContract(
  "memory",
  () => Layer.succeed(UploadTargets, Context.get(built, UploadTargets)),
  (target, bytes) => Effect.flatMap(Effect.provide(MemoryUploads, built), (uploads) => uploads.deposit(target.fields.key ?? "", bytes))
)
