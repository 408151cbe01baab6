/**
 * bench/against.ts without installing anything: ref resolution (a bogus ref and an option-like
 * ref are refused, HEAD resolves to its commit), argv parsing, and the install step's reuse
 * (an injected install instead of npm ci; the marker holds the lockfile's hash).
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { againstArgument, ensureInstalled, resolveRef } from "../../bench/against.js"

const scratch: Array<string> = []
afterAll(async () => {
  for (const dir of scratch) await fs.rm(dir, { recursive: true, force: true })
})

describe("bench --against", () => {
  it("resolves HEAD to the full commit sha, labelled serenya@<short sha>", async () => {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim()
    const resolved = await resolveRef("HEAD")
    expect(resolved.sha).toBe(head)
    expect(resolved.label).toBe(`serenya@${head.slice(0, 8)}`)
  })

  it("refuses refs that name no commit and refs that look like options", async () => {
    await expect(resolveRef("no-such-ref-anywhere-3f9c")).rejects.toThrow(/names no commit/)
    await expect(resolveRef("--upload-pack=x")).rejects.toThrow(/not a git ref/)
    await expect(resolveRef("-h")).rejects.toThrow(/not a git ref/)
    await expect(resolveRef("")).rejects.toThrow(/not a git ref/)
    // a tree is not a commit
    await expect(resolveRef("HEAD^{tree}")).rejects.toThrow(/names no commit/)
  })

  it("reads --against <ref> and --against=<ref> from argv", () => {
    expect(againstArgument(["--against", "main"])).toBe("main")
    expect(againstArgument(["x", "--against=v1.2"])).toBe("v1.2")
    expect(againstArgument([])).toBeUndefined()
    expect(() => againstArgument(["--against"])).toThrow(/needs a git ref/)
  })

  it("installs once per lockfile: the marker holds its hash", async () => {
    const worktree = await fs.mkdtemp(path.join(os.tmpdir(), "serenya-against-test-"))
    scratch.push(worktree)
    await fs.writeFile(path.join(worktree, "package-lock.json"), '{"lockfileVersion":3}')
    const installs: Array<string> = []
    const install = async (dir: string) => {
      installs.push(dir)
      await fs.mkdir(path.join(dir, "node_modules"), { recursive: true })
    }
    await ensureInstalled(worktree, install)
    await ensureInstalled(worktree, install)
    expect(installs).toEqual([worktree])
    await fs.writeFile(path.join(worktree, "package-lock.json"), '{"lockfileVersion":3,"changed":true}')
    await ensureInstalled(worktree, install)
    expect(installs).toHaveLength(2)
  })
})
