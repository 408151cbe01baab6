/**
 * The ADOT collector's configuration file (collector.yaml beside this module): build.ts puts it
 * beside every bundle, infra/functions.ts points the collector at it. Its own module, so that the
 * stack does not load the bundler to learn a file name.
 */
import { fileURLToPath } from "node:url"

export const COLLECTOR_CONFIG_FILE = "collector.yaml"

export const COLLECTOR_CONFIG_PATH = fileURLToPath(new URL(`./${COLLECTOR_CONFIG_FILE}`, import.meta.url))
