#!/usr/bin/env bash
# Runs the README's commands as written, on this checkout: `make run` in the background
# (until it prints the line that says where to open the site), then every other ```sh
# block of the README in order, each as one bash -e script. `make test` is the one command
# left out: CI runs it on its own. Exits non-zero, naming the block, on the first failure.
# Its data (a local database of its own, as `make run` makes one) is kept apart, under
# .data/readme-check, so that it starts empty every time; the database is stopped and the
# directory removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export STARLING_DATA_DIR="$PWD/.data/readme-check"
go run ./cmd/starling devdb stop --cluster dev >/dev/null 2>&1 || true
rm -rf "$STARLING_DATA_DIR"
mkdir -p "$STARLING_DATA_DIR"

log=$(mktemp)
# In a process group of its own, so that Ctrl-C reaches make, go run and starling alike.
setsid make run >"$log" 2>&1 &
run_pid=$!
cleanup() {
  kill -INT -- "-$run_pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$run_pid" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$run_pid" 2>/dev/null || true
  wait "$run_pid" 2>/dev/null || true
  go run ./cmd/starling devdb stop --cluster dev >/dev/null 2>&1 || true
  rm -rf "$STARLING_DATA_DIR" "$log"
}
trap cleanup EXIT

for _ in $(seq 1 300); do
  if grep -q '^Starling is running: open http' "$log"; then break; fi
  if ! kill -0 "$run_pid" 2>/dev/null; then cat "$log"; echo "readme-check: make run exited" >&2; exit 1; fi
  sleep 1
done
grep -q '^Starling is running: open http' "$log" || { cat "$log"; echo "readme-check: make run never said it was running" >&2; exit 1; }
echo "readme-check: make run: $(grep '^Starling is running' "$log")"

# The README's sh blocks, numbered; the first is "the two commands".
blocks=$(mktemp -d)
awk -v dir="$blocks" '
  /^```sh$/ { n++; inblock = 1; next }
  /^```$/   { inblock = 0; next }
  inblock   { print > (dir "/" n ".sh") }
' README.md
n=0
for f in $(ls "$blocks" | sort -n); do
  n=$((n + 1))
  if [ "$f" = 1.sh ]; then
    # make run is running; make test is CI's own step.
    grep -Eq '^make run ' "$blocks/$f" && grep -Eq '^make test ' "$blocks/$f" || { echo "readme-check: the first block is not make run / make test" >&2; exit 1; }
    continue
  fi
  echo "readme-check: block $f:"
  sed 's/^/  | /' "$blocks/$f"
  if ! bash -e "$blocks/$f" >"$blocks/out" 2>&1; then
    cat "$blocks/out"
    echo "readme-check: block $f failed" >&2
    exit 1
  fi
  sed 's/^/  > /' "$blocks/out" | head -20
done
rm -rf "$blocks"
echo "readme-check: every README command worked ($n blocks)"
