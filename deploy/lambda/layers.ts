/**
 * The Lambda layers the build stages beside the bundles (build.ts `stageLayers`) and the stack
 * attaches to the functions that need them (infra/functions.ts). One so far:
 *
 * - ocr: tesseract.js, its WebAssembly core and the English model, for the offline provider's
 *   OCR of photos and scanned pages (src/layers/llm/ocr/ocrRead.ts), on the processor only (the
 *   one function that interprets documents). A layer rather than the processor's own asset
 *   because tesseract.js cannot be bundled: it starts a worker thread of its own from a file in
 *   its package (src/worker-script/node/index.js), which loads the core's .js and .wasm beside
 *   it. The OCR thread loads it with `createRequire(...)("tesseract.js")`, which, unlike an ESM
 *   import, honours NODE_PATH, on which Lambda puts /opt/nodejs/node_modules. Its files change
 *   only with the package versions, so a deployment uploads it again only then.
 */
export type LayerName = "ocr"

/** Where build.ts stages a layer, under its output directory (deploy/lambda/dist by default). */
export const layerDir = (name: LayerName): string => `layers/${name}`

/** Inside a layer: Lambda extracts layers to /opt, and /opt/nodejs/node_modules is on NODE_PATH. */
export const LAYER_NODE_MODULES = "nodejs/node_modules"

/** On Lambda, where a layer's packages are (NODE_PATH names it). */
export const LAMBDA_LAYER_NODE_MODULES = `/opt/${LAYER_NODE_MODULES}`

/** Which function takes which layers (names as in build.ts FUNCTION_ENTRIES). */
export const FUNCTION_LAYERS: Readonly<Partial<Record<string, ReadonlyArray<LayerName>>>> = {
  processor: ["ocr"]
}

export const LAYER_DESCRIPTIONS: Readonly<Record<LayerName, string>> = {
  ocr: "OCR for the offline provider: tesseract.js, its WebAssembly core and the English model (LSTM)"
}

/** The layer's packages' licences (tesseract.js, its core, wasm-feature-detect: Apache-2.0; the model's package and the small helpers: MIT). */
export const LAYER_LICENSES: Readonly<Record<LayerName, string>> = {
  ocr: "Apache-2.0 AND MIT"
}
