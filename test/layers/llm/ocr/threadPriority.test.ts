/**
 * The OCR threads' priority (threadPriority.ts). That an OCR thread and tesseract's run at
 * OCR_THREAD_NICE while the main thread keeps its own is checked during a real OCR in
 * ocrOffline.test.ts; here, that the main thread — the API's — is never the one lowered.
 */
import { describe, expect, it } from "vitest"
import { getPriority } from "node:os"
import { lowerThreadPriority } from "../../../../src/layers/llm/ocr/threadPriority.js"

describe("lowerThreadPriority", () => {
  it("refuses on the main thread (its id is the process's: lowering it would lower the API)", () => {
    const before = getPriority()
    expect(lowerThreadPriority()).toBe(false)
    expect(getPriority()).toBe(before)
  })
})
