#!/usr/bin/env bash
# The browser suite as CI runs it: installs Debian's Chromium when it is missing,
# starts the demo server that the test run built (target/debug/stimul) on a fresh data
# directory, runs run.sh (playwright-core from npm, the format unit tests, smoke.mjs),
# and stops the server. Screenshots of a failure are left in $OUT.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

bin=${STIMUL_BIN:-$root/target/debug/stimul}
[ -x "$bin" ] || { echo "web/tests/ci.sh: no server binary at $bin (run cargo build first)" >&2; exit 1; }
port=${PORT:-18095}
data=$(mktemp -d)
env -u DATABASE_URL -u REDIS_URL STIMUL_AUTH__AUTH_ATTEMPTS_PER_IP_PER_MINUTE=1000 RUST_LOG=warn \
  "$bin" serve --demo --data-dir "$data" --port "$port" >"$data/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$data/server.log" >&2; exit 1; }
  sleep 0.5
done

BASE_URL="http://127.0.0.1:$port" OUT="${OUT:-/tmp/stimul-smoke}" "$root/web/tests/run.sh"
