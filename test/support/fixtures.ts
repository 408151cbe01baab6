/**
 * The synthetic documents under test/fixtures (no real patient data; see its README). Every test,
 * benchmark and walk reads them through here, so the repository alone is enough to run them.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export const FIXTURES_DIR = path.resolve(import.meta.dirname, "../fixtures")

/** The lab-report evaluation corpus (tuning/, tuning2/, heldout/ and heldout2/ documents with their truth; see its README). */
export const LAB_CORPUS_DIR = path.join(FIXTURES_DIR, "lab-corpus")

export type FixtureName = "lab-report-cbc-cmp.pdf" | "lab-report-cbc-cmp.txt" | "vitals-log.txt"

export const fixturePath = (name: FixtureName): string => path.join(FIXTURES_DIR, name)

/** A fixture's bytes (a fresh copy, not a slice of Node's shared pool). */
export const readFixture = (name: FixtureName): Uint8Array => new Uint8Array(fs.readFileSync(fixturePath(name)))
