/** Where documents are stored: files under DATA_DIR/objects, or an S3 bucket. */
import { Config, Context, Layer, Option } from "effect"
import { collect, unless, validated } from "./shared.js"

export interface StorageSettings {
  readonly provider: "local" | "s3"
  readonly bucket: Option.Option<string>
  /** S3-compatible servers (and tests): an endpoint URL and path-style addressing. */
  readonly endpoint: Option.Option<string>
  readonly forcePathStyle: boolean
}

/** The variables, read and defaulted; the rule across them is storageProblems. */
export const storageValues: Config.Config<StorageSettings> = collect({
  provider: Config.Literals(["local", "s3"], "STORAGE_PROVIDER").pipe(Config.withDefault("local" as const)),
  bucket: Config.String("S3_BUCKET").pipe(Config.option),
  endpoint: Config.String("S3_ENDPOINT").pipe(Config.option),
  forcePathStyle: Config.Boolean("S3_FORCE_PATH_STYLE").pipe(Config.withDefault(false))
})

export const storageProblems = (storage: StorageSettings): ReadonlyArray<Config.ConfigError> =>
  unless(storage.provider !== "s3" || Option.isSome(storage.bucket), "S3_BUCKET", "is required when STORAGE_PROVIDER=s3")

export const storageConfig: Config.Config<StorageSettings> = validated(storageValues, storageProblems)

export class StorageConfig extends Context.Service<StorageConfig, StorageSettings>()("serenya/config/Storage") {
  /** This slice alone, from the current ConfigProvider. */
  static readonly layer = Layer.effect(StorageConfig, storageConfig)
}
