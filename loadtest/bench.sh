#!/usr/bin/env bash
# Measures one scenario against a release build of the server on one backend, the way
# RESULTS.md records it: starts the server with the login limit lifted, samples its
# threads with pidstat (when installed), runs the load generator, stops the server.
#
#   cargo build --release -p stimul -p stimul-loadtest
#   loadtest/bench.sh credits sqlite       [stimul-loadtest credits flags...]
#   loadtest/bench.sh moderation postgres  [stimul-loadtest moderation flags...]
#   loadtest/bench.sh codes sqlite         [stimul-loadtest codes flags...]
#   loadtest/bench.sh orders postgres      [stimul-loadtest orders flags...]
#   loadtest/bench.sh expiry sqlite        [stimul-loadtest expiry flags...]
#
# For `codes` the anti-fraud limits are lifted too: one seller registers far more than
# 30 codes a minute in a load test, and a burst of 40 an hour would be held for review.
# For `orders` the server's rewards provider is the load generator's simulated one on
# PROVIDER_PORT (18190). For `expiry` the lots are seeded into the database once the
# server has loaded the demo (seed-expiry.sql: PARTICIPANTS, default 100000, each with
# LOTS, default 10, lots that expired yesterday); use FRESH=1.
#
# Environment: PORT (18181), OUT (/tmp/lt-BACKEND: data, logs, JSON), FRESH=1 to start
# from an empty database, PG (postgres://postgres@127.0.0.1:5432) and PG_DB (stimul_lt)
# for PostgreSQL, DROP=1 to drop that database afterwards, STIMUL_BIN and LOADTEST_BIN
# to use other binaries. Talks to 127.0.0.1 only.
set -euo pipefail

usage="usage: bench.sh credits|moderation|codes|orders|expiry sqlite|postgres [loadtest flags...]"
scenario=${1:?$usage}
backend=${2:?$usage}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
server_bin=${STIMUL_BIN:-$root/target/release/stimul}
loadtest_bin=${LOADTEST_BIN:-$root/target/release/stimul-loadtest}
port=${PORT:-18181}
out=${OUT:-/tmp/lt-$backend}
pg=${PG:-postgres://postgres@127.0.0.1:5432}
pg_db=${PG_DB:-stimul_lt}

if [[ ${FRESH:-0} == 1 ]]; then rm -rf "$out"; fi
mkdir -p "$out"
watch=(--watch "$(basename "$server_bin" | cut -c1-15)")
case $backend in
  sqlite) unset DATABASE_URL ;;
  postgres)
    if [[ ${FRESH:-0} == 1 ]]; then
      psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $pg_db"
    fi
    psql "$pg/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$pg_db'" | grep -q 1 ||
      psql "$pg/postgres" -qc "CREATE DATABASE $pg_db"
    export DATABASE_URL="$pg/$pg_db"
    watch+=(--watch postgres)
    ;;
  *) echo "backend is sqlite or postgres, not $backend" >&2; exit 2 ;;
esac

# Each seller holds a socket on both sides.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

server_pid= pidstat_pid=
cleanup() {
  [[ -n $pidstat_pid ]] && kill "$pidstat_pid" 2>/dev/null || true
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  if [[ $backend == postgres && ${DROP:-0} == 1 ]]; then
    psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $pg_db"
  fi
}
trap cleanup EXIT

server_env=(STIMUL_AUTH__AUTH_ATTEMPTS_PER_IP_PER_MINUTE=1000000 "RUST_LOG=${RUST_LOG:-warn}")
if [[ $scenario == codes ]]; then
  server_env+=(STIMUL_FRAUD__PARTICIPANT_PER_MINUTE=1000000 STIMUL_FRAUD__STORE_PER_MINUTE=1000000
    STIMUL_FRAUD__BURST_MINIMUM=1000000)
fi
provider_port=${PROVIDER_PORT:-18190}
if [[ $scenario == expiry ]]; then
  # The scenario starts its run by hand; a nightly run starting beside it would share
  # the work and blur the figures.
  server_env+=(STIMUL_EXPIRY__NIGHTLY_CHECK_MS=0)
fi
if [[ $scenario == orders ]]; then
  server_env+=(STIMUL_REWARDS__PROVIDER=http "STIMUL_REWARDS__URL=http://127.0.0.1:$provider_port")
  set -- --provider-port "$provider_port" "$@"
fi
env "${server_env[@]}" "$server_bin" serve --demo --data-dir "$out/data" --port "$port" >"$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.log" >&2; exit 2; }
  sleep 0.5
done

if [[ $scenario == expiry ]]; then
  participants=${PARTICIPANTS:-100000} lots=${LOTS:-10}
  now_ms=$(($(date +%s%N) / 1000000))
  seed=$(sed -e "s/PARTICIPANTS/$participants/g" -e "s/LOTS/$lots/g" -e "s/NOW_MS/$now_ms/g" \
    "$root/loadtest/seed-expiry.sql")
  echo "seeding $((participants * lots)) due lots of $participants participants…" >&2
  seeded_at=$(date +%s)
  case $backend in
    sqlite)
      printf '.timeout 60000\nBEGIN;\n%s\nCOMMIT;\n' "$seed" | sqlite3 "$out/data/stimul.db" ;;
    postgres)
      { echo "$seed"
        # Rows were written with explicit ids: move the identity sequences past them.
        for table in users accounts ledger_transactions; do
          echo "SELECT setval(pg_get_serial_sequence('$table', 'id'), (SELECT MAX(id) FROM $table));"
        done
      } | psql -q -1 -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null ;;
  esac
  echo "seeded in $(($(date +%s) - seeded_at)) s" >&2
  set -- --lots $((participants * lots)) "$@"
fi

if command -v pidstat >/dev/null; then
  # Per thread, so a report can say which part of the server is busy.
  pidstat -t -u -h -p "$server_pid" 2 >"$out/pidstat-server.txt" &
  pidstat_pid=$!
fi

set +e
"$loadtest_bin" "$scenario" --base-url "http://127.0.0.1:$port" "${watch[@]}" \
  --json "$out/$scenario.json" "$@" 2>&1 | tee "$out/$scenario.txt"
status=${PIPESTATUS[0]}
set -e
echo "figures: $out/$scenario.txt, $out/$scenario.json; server threads: $out/pidstat-server.txt" >&2
exit "$status"
