#!/usr/bin/env bash
# npm run test:fresh-clone — what a stranger gets from `git clone` of this repository alone.
#
# Clones the current commit into an empty temporary folder (no sibling folders, so nothing from
# outside the repository can be picked up), then, in that clone:
#   1. checks that nothing in the tree refers to a folder outside the repository;
#   2. `npm ci` from the lockfile;
#   3. `npm start` on the embedded defaults and the README's first walk, run exactly as the README
#      writes it (sign in, upload the fixture, poll the job, read the timeline); the server must then
#      stop on SIGINT with exit code 0;
#   4. every test file that reads a fixture, and the Bun walk.
# CI runs it after `npm test`. Every wait is bounded; the folder is removed at the end.
set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
COMMIT=$(git -C "$ROOT" rev-parse HEAD)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/serenya-fresh-clone-XXXXXX")
CLONE="$TMP/serenya"
SERVER_PID=""
started=$SECONDS

step() { printf '[fresh-clone %3d s] %s\n' $((SECONDS - started)) "$*"; }
fail() { printf '[fresh-clone] FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 200); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

if [ -n "$(git -C "$ROOT" status --porcelain)" ]; then
  step "note: uncommitted changes in $ROOT are not part of the clone (it is of $COMMIT)"
fi
git clone --quiet --no-local "$ROOT" "$CLONE"
git -C "$CLONE" checkout --quiet --detach "$COMMIT"
[ "$(ls -A "$TMP")" = "serenya" ] || fail "the clone's folder is not alone in $TMP"
step "cloned $COMMIT into $CLONE"

# 1. Nothing refers to a folder beside the repository (the development machines have one; a
#    stranger does not). The patterns are written so that this file does not match itself.
if git -C "$CLONE" grep -nE '\.\./shared|shared[/]fixtures' -- . ':!package-lock.json'; then
  fail "the lines above refer to a folder outside the repository"
fi
step "no reference to a folder outside the repository"

cd "$CLONE"
unset DATABASE_URL OTEL_EXPORTER_OTLP_ENDPOINT OTEL_TRACES_EXPORTER
npm ci --no-audit --no-fund --loglevel=error
step "npm ci"

# 3. The server on its embedded defaults, and the README's walk against it.
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# Job control: npm start gets a process group of its own, as in a terminal, so that the SIGINT
# below reaches npm, its shell and the server together, exactly as Ctrl-C does.
set -m
PORT=$PORT npm start > "$TMP/server.log" 2>&1 &
SERVER_PID=$!
set +m
ready=""
for _ in $(seq 120); do
  if curl -sf "http://127.0.0.1:$PORT/ready" > /dev/null; then ready=1; break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.5
done
[ -n "$ready" ] || { tail -n 40 "$TMP/server.log" >&2; fail "npm start did not become ready within 60 s"; }
step "npm start is ready on 127.0.0.1:$PORT"

awk '/<!-- walk:/ { marked = 1; next } marked && /^```sh/ { inside = 1; next } inside && /^```/ { exit } inside' README.md > "$TMP/walk.sh"
[ -s "$TMP/walk.sh" ] || fail "README.md has no walk block (a \`\`\`sh block after the '<!-- walk:' marker)"
API="http://127.0.0.1:$PORT" timeout 120 bash -e "$TMP/walk.sh" > "$TMP/walk.out" 2>&1 \
  || { cat "$TMP/walk.out" >&2; fail "the README walk exited non-zero"; }
cat "$TMP/walk.out"; echo
grep -q ': completed$' "$TMP/walk.out" || fail "the walk's job did not complete"
grep -q '^event: completed$' "$TMP/walk.out" || fail "the walk's job events did not end with completed"
grep -q '^event: done$' "$TMP/walk.out" || fail "the walk's streamed chat answer did not end with done"
grep '^{"items"' "$TMP/walk.out" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const page = JSON.parse(s)
    const item = page.items?.[0]
    if (page.total !== 1 || item?.documentType !== "lab_results" || item?.flaggedCount !== 7) {
      console.error("unexpected timeline:", s); process.exit(1)
    }
  })' || fail "the walk's timeline does not show the fixture's 7 flagged results"
grep -q '^photo job .*: completed$' "$TMP/walk.out" || fail "the walk's photo was not read (its job did not complete)"
tail -n 1 "$TMP/walk.out" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const read = JSON.parse(s)
    if (!(read.read >= 12)) { console.error("too few results read from the photo:", s); process.exit(1) }
  })' || fail "the walk's photo gave fewer than 12 of the report's 16 results"
step "the README walk: signed in, uploaded, job completed, its events and a streamed answer, timeline shows the report, a photo read by OCR"

# Ctrl-C. npm reports an interrupt it received itself as 130 whatever the server did, so the
# server is judged by its log and by what is left running (its own exit code on SIGINT/SIGTERM
# is asserted by test/http/shutdown.test.ts).
kill -INT -- "-$SERVER_PID"
code=0; timeout 30 tail --pid="$SERVER_PID" -f /dev/null || fail "npm start did not stop within 30 s of Ctrl-C"
wait "$SERVER_PID" || code=$?
SERVER_PID=""
case $code in 0|130) ;; *) tail -n 40 "$TMP/server.log" >&2; fail "npm start exited with $code on Ctrl-C";; esac
grep -q '"level":"\(ERROR\|FATAL\)"' "$TMP/server.log" && { grep '"level":"\(ERROR\|FATAL\)"' "$TMP/server.log" >&2; fail "the server logged errors"; }
grep -q 'shutting down: finishing in-flight requests' "$TMP/server.log" || fail "the server did not shut down gracefully"
cluster_digest=$(node -e 'console.log(require("crypto").createHash("sha256").update(process.argv[1]).digest("hex").slice(0, 16))' "$CLONE/.data/postgres")
sleep 1
if pgrep -af "$CLONE/|serenya-pg-$cluster_digest" >&2; then fail "processes of the clone (above) outlived npm start"; fi
step "Ctrl-C: npm start stopped gracefully (npm's exit code $code), nothing of it left running"

# 4. The tests that read fixtures, from the clone.
mapfile -t files < <(git grep -l 'support/fixtures' -- 'test/**/*.test.ts')
[ "${#files[@]}" -gt 0 ] || fail "no test file reads a fixture (the search pattern is out of date)"
step "running the ${#files[@]} test files that read fixtures"
npx vitest run "${files[@]}"
npm run test:bun
step "passed"
