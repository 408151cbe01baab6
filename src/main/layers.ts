/** The one place that picks an implementation for each capability from the settings. */
import type { Settings } from "../config.js"
import { CryptoKms } from "../layers/crypto/kms.js"
import { CryptoLocal } from "../layers/crypto/local.js"
import { StorageLocal } from "../layers/storage/filesystem.js"
import { StorageS3 } from "../layers/storage/s3.js"

export const cryptoLayer = (settings: Settings) => (settings.crypto.provider === "kms" ? CryptoKms : CryptoLocal)

export const storageLayer = (settings: Settings) => (settings.storage.provider === "s3" ? StorageS3 : StorageLocal)
