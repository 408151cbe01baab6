/**
 * The in-memory layer against the shared contract, plus the service's own vocabulary: the one
 * key rule every layer uses, the document key, and how the storage errors classify themselves.
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { StorageMemory } from "../../../src/layers/storage/memory.js"
import { errorInfo, isTransient, retryAfterSeconds } from "../../../src/services/errors.js"
import {
  documentKey,
  InvalidObjectKey,
  ObjectNotFound,
  StorageUnavailable,
  validateObjectKey,
  validateObjectKeyPrefix
} from "../../../src/services/storage.js"
import { INVALID_KEYS, storageContract } from "./contract.js"

storageContract("memory", () => StorageMemory)

describe("validateObjectKey", () => {
  it("accepts ids joined by '/', including dots, dashes and underscores inside segments", () => {
    for (const key of [
      "jobs/8f14e45f-ceea-467f-a0e6-b2c1a5f0d3b9_original",
      "a",
      "a/b/c",
      ".hidden",
      "a/..b/c..",
      "v1.2/file.tar.gz",
      "x".repeat(512)
    ]) {
      expect(validateObjectKey(key)).toEqual(Result.succeed(key))
    }
  })

  it("refuses the contract's hostile keys, and more", () => {
    const refused = [
      ...INVALID_KEYS.map(([key]) => key),
      "..",
      ".",
      "a/..",
      "a/.",
      "a/",
      "\\\\server\\share",
      "\\x",
      "c:x",
      "a\nb",
      "a\u007fb",
      "a\u0085b",
      "a b",
      "a:b",
      "a%2e%2e",
      "ключ",
      "a?b",
      "x".repeat(513)
    ]
    for (const key of refused) {
      const result = validateObjectKey(key)
      expect(Result.isFailure(result), JSON.stringify(key)).toBe(true)
      if (Result.isFailure(result)) expect(result.failure).toBeInstanceOf(InvalidObjectKey)
    }
  })

  it("says why without echoing the key", () => {
    const why = (key: string) => Result.getFailure(validateObjectKey(key)).pipe((o) => (o._tag === "Some" ? o.value.message : ""))
    expect(why("")).toBe("Invalid object key: it is empty")
    expect(why("a\u0000secret")).toBe("Invalid object key: it contains a control character")
    expect(why("/etc/passwd")).toBe("Invalid object key: it is an absolute path")
    expect(why("C:\\Windows")).toBe("Invalid object key: it is an absolute path")
    expect(why("a\\b")).toBe("Invalid object key: it contains a backslash")
    expect(why("a//b")).toBe("Invalid object key: it has an empty segment")
    expect(why("a/../b")).toBe("Invalid object key: it has a '.' or '..' segment")
    expect(why("x".repeat(513))).toBe("Invalid object key: it is longer than 512 bytes")
    expect(why("patient name.pdf")).toBe("Invalid object key: only A-Z, a-z, 0-9, '.', '_', '-' and '/' are allowed")
  })

  it("list prefixes: '' and anything a valid key can start with", () => {
    for (const prefix of ["", "jobs/", "jobs/ab", "jobs", ".", "a/.", "a/.."]) {
      expect(Result.isSuccess(validateObjectKeyPrefix(prefix)), prefix).toBe(true)
    }
    for (const prefix of ["/", "../", "./", "a//", "a/../", "\u0000", "C:"]) {
      expect(Result.isFailure(validateObjectKeyPrefix(prefix)), prefix).toBe(true)
    }
  })

  it("documentKey is jobs/{jobId}_original and is a valid key", () => {
    expect(documentKey("8f14e45f-ceea-467f-a0e6-b2c1a5f0d3b9")).toBe("jobs/8f14e45f-ceea-467f-a0e6-b2c1a5f0d3b9_original")
    expect(Result.isSuccess(validateObjectKey(documentKey("8f14e45f-ceea-467f-a0e6-b2c1a5f0d3b9")))).toBe(true)
  })
})

describe("storage errors", () => {
  it("InvalidObjectKey: validation, ignore, 400", () => {
    expect(errorInfo(new InvalidObjectKey({ message: "x" }))).toEqual({
      code: "INVALID_OBJECT_KEY",
      category: "validation",
      recovery: "ignore",
      status: 400
    })
  })

  it("ObjectNotFound: business, ignore, 404, carries the key", () => {
    const error = new ObjectNotFound({ message: "x", key: "jobs/a_original" })
    expect(errorInfo(error)).toEqual({ code: "OBJECT_NOT_FOUND", category: "business", recovery: "ignore", status: 404 })
    expect(error.key).toBe("jobs/a_original")
  })

  it("StorageUnavailable: technical, 503, Retry-After 5; retried only when transient", () => {
    const transient = new StorageUnavailable({ message: "x", transient: true })
    const refused = new StorageUnavailable({ message: "x", transient: false })
    expect(errorInfo(transient)).toEqual({ code: "STORAGE_UNAVAILABLE", category: "technical", recovery: "retry", status: 503 })
    expect(errorInfo(refused)).toEqual({ code: "STORAGE_UNAVAILABLE", category: "technical", recovery: "escalate", status: 503 })
    expect([isTransient(transient), isTransient(refused)]).toEqual([true, false])
    expect([retryAfterSeconds(transient), retryAfterSeconds(refused)]).toEqual([5, 5])
  })
})
