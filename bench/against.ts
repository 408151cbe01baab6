/**
 * `npm run bench -- --against <git-ref>`: the other commit's checkout, so that its server (and its
 * Lambda bundles) run side by side with the current tree in one bench run. The other ref may
 * have different dependencies (e.g. an Effect 3 → Effect 4 migration), so it gets a git worktree
 * of its own with `node_modules` installed from ITS lockfile (`npm ci`).
 *
 * - The ref is resolved with `git rev-parse --verify <ref>^{commit}`: anything that does not name
 *   a commit is refused, and so is anything starting with "-" (git would read it as an option).
 *   Every git and npm call passes its arguments as an array (execFile), never through a shell.
 * - The worktree is `$TMPDIR/serenya-against/<full sha>` (os.tmpdir()), created detached with
 *   `git worktree add --detach` and reused by later runs; `node_modules` is reused as long as the
 *   marker file `.serenya-against-installed` holds the SHA-256 of its package-lock.json.
 * - Nothing is removed automatically (a reused worktree saves the minutes of `npm ci`). To clean up:
 *     git worktree remove --force "$TMPDIR/serenya-against/<sha>"   (one ref)
 *     node --import tsx bench/against.ts --remove-all                (every one under serenya-against)
 *   and `git worktree prune` if the directory was deleted by hand.
 */
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const run = promisify(execFile)
const REPOSITORY = fileURLToPath(new URL("..", import.meta.url))
/** Where the worktrees live: one directory per full commit sha. */
export const AGAINST_DIR = path.join(os.tmpdir(), "serenya-against")
const MARKER = ".serenya-against-installed"

/** Our server at another commit, in tables, charts and latest.json. */
export type AgainstImplementation = `serenya@${string}`

export const isAgainst = (implementation: string): implementation is AgainstImplementation => implementation.startsWith("serenya@")

export interface AgainstRef {
  /** The ref as given on the command line. */
  readonly ref: string
  /** The full commit sha it names. */
  readonly sha: string
  /** The implementation label in tables and latest.json: "serenya@<short sha>". */
  readonly label: AgainstImplementation
}

/**
 * The commit `ref` names, or a clear error: refs that look like options ("--upload-pack=x") and
 * anything `git rev-parse --verify <ref>^{commit}` does not accept are refused.
 */
export const resolveRef = async (ref: string, repository: string = REPOSITORY): Promise<AgainstRef> => {
  if (ref.length === 0 || ref.startsWith("-") || /[\0\n\r]/.test(ref)) {
    throw new Error(`--against: ${JSON.stringify(ref)} is not a git ref (refs may not be empty, start with "-" or hold control characters)`)
  }
  let sha: string
  try {
    // "--end-of-options" as well: whatever the check above missed is still never an option to git
    const { stdout } = await run("git", ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`], { cwd: repository })
    sha = stdout.trim()
  } catch {
    throw new Error(`--against: ${JSON.stringify(ref)} names no commit in ${repository} (git rev-parse --verify ${ref}^{commit} failed)`)
  }
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) throw new Error(`--against: git rev-parse answered ${JSON.stringify(sha)} for ${JSON.stringify(ref)}`)
  return { ref, sha, label: `serenya@${sha.slice(0, 8)}` }
}

/** `npm ci` from the worktree's own lockfile (injectable: the tests never install). */
export type Install = (worktree: string) => Promise<void>

export const npmCi: Install = async (worktree) => {
  console.log(`against: npm ci in ${worktree} (its own package-lock.json; a minute or more)`)
  await run("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], {
    cwd: worktree,
    maxBuffer: 64 * 1024 * 1024,
    // the lockfile decides, not this process's npm_config_* (npm run sets some)
    env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_"))) as NodeJS.ProcessEnv
  })
}

const exists = (file: string) => fs.access(file).then(() => true, () => false)

/** A detached worktree of `sha` at AGAINST_DIR/<sha>, reused when it is already there. */
export const ensureWorktree = async (sha: string, repository: string = REPOSITORY, base: string = AGAINST_DIR): Promise<string> => {
  const worktree = path.join(base, sha)
  if (await exists(path.join(worktree, ".git"))) {
    const { stdout } = await run("git", ["rev-parse", "HEAD"], { cwd: worktree })
    if (stdout.trim() === sha) return worktree
    throw new Error(`against: ${worktree} exists but is at ${stdout.trim()}; remove it (git worktree remove --force ${worktree})`)
  }
  await fs.mkdir(base, { recursive: true })
  // a worktree directory deleted by hand is still registered: prune before adding it again
  await run("git", ["worktree", "prune"], { cwd: repository })
  await run("git", ["worktree", "add", "--detach", "--end-of-options", worktree, sha], { cwd: repository })
  return worktree
}

/** Installs the worktree's dependencies unless the marker says this lockfile is installed already. */
export const ensureInstalled = async (worktree: string, install: Install = npmCi): Promise<void> => {
  const lockfile = await fs.readFile(path.join(worktree, "package-lock.json")).catch(() => {
    throw new Error(`against: ${worktree} has no package-lock.json; npm ci needs one`)
  })
  const hash = createHash("sha256").update(lockfile).digest("hex")
  const marker = path.join(worktree, MARKER)
  const installed = await fs.readFile(marker, "utf8").catch(() => "")
  if (installed.trim() === hash && (await exists(path.join(worktree, "node_modules")))) return
  await fs.rm(marker, { force: true })
  await install(worktree)
  await fs.writeFile(marker, `${hash}\n`)
}

export interface Against extends AgainstRef {
  /** The worktree's root: serve its src/main/server.ts with this as the cwd. */
  readonly root: string
}

/** The other ref, checked out and installed: resolve, create or reuse the worktree, npm ci unless done. */
export const prepareAgainst = async (ref: string, options: { readonly install?: Install; readonly repository?: string } = {}): Promise<Against> => {
  const resolved = await resolveRef(ref, options.repository)
  const root = await ensureWorktree(resolved.sha, options.repository)
  await ensureInstalled(root, options.install)
  return { ...resolved, root }
}

/** `--against <ref>` or `--against=<ref>` in argv; undefined when absent. */
export const againstArgument = (argv: ReadonlyArray<string>): string | undefined => {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--against") {
      const value = argv[i + 1]
      if (value === undefined) throw new Error("--against needs a git ref: npm run bench -- --against <ref>")
      return value
    }
    if (arg.startsWith("--against=")) return arg.slice("--against=".length)
  }
  return undefined
}

/** Removes every worktree under AGAINST_DIR (`node --import tsx bench/against.ts --remove-all`). */
export const removeAll = async (repository: string = REPOSITORY): Promise<ReadonlyArray<string>> => {
  const entries = await fs.readdir(AGAINST_DIR).catch(() => [] as Array<string>)
  const removed: Array<string> = []
  for (const entry of entries) {
    const worktree = path.join(AGAINST_DIR, entry)
    await run("git", ["worktree", "remove", "--force", "--end-of-options", worktree], { cwd: repository }).catch(() => undefined)
    await fs.rm(worktree, { recursive: true, force: true })
    removed.push(worktree)
  }
  await run("git", ["worktree", "prune"], { cwd: repository })
  return removed
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--remove-all")) {
    for (const worktree of await removeAll()) console.log(`removed ${worktree}`)
  } else {
    const ref = againstArgument(process.argv.slice(2)) ?? process.argv[2]
    if (ref === undefined) throw new Error("usage: node --import tsx bench/against.ts <ref> | --remove-all")
    const against = await prepareAgainst(ref)
    console.log(`${against.label} (${against.sha}) ready at ${against.root}`)
  }
}
