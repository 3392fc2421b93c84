#!/usr/bin/env bash
# Runs the browser smoke test (smoke.mjs) against a server that is already running at
# BASE_URL (start one with `cargo run -- serve --demo --data-dir /tmp/ui-demo --port 18090`).
# Builds nothing; installs playwright-core here if it is missing; uses the system
# Chromium (Debian: apt-get install -y chromium). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"

fail() { echo "web/tests/run.sh: $*" >&2; exit 1; }

[ -n "${BASE_URL:-}" ] || fail "set BASE_URL to a running demo server, e.g. BASE_URL=http://127.0.0.1:18090"
command -v node >/dev/null || fail "node is not installed"
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || fail "no Chromium at $chromium (apt-get install -y chromium, or set CHROMIUM)"
curl -fsS --max-time 5 "$BASE_URL/healthz" >/dev/null || fail "no server answers at $BASE_URL/healthz"
curl -fsS --max-time 5 "$BASE_URL/" | grep -q '/app.js' || fail "$BASE_URL serves no web UI (is the binary built with web/app?)"

if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/@asyncapi/parser ]; then
  npm install --omit=dev --no-audit --no-fund --loglevel=error || fail "npm install failed"
fi

node --test format.test.mjs i18n.test.mjs expiry.test.mjs expiry-ru.test.mjs tax.test.mjs tax-ru.test.mjs recalculation.test.mjs recalculation-ru.test.mjs tasks-admin.test.mjs tasks-admin-ru.test.mjs support.test.mjs support-ru.test.mjs content.test.mjs content-ru.test.mjs webhooks.test.mjs notifications.test.mjs company.test.mjs messaging-ru.test.mjs mailings.test.mjs mailings-ru.test.mjs contracts.test.mjs >/dev/null ||
  fail "the unit tests of format.js, the dictionaries, the expiry rule, the tax rule, recalculation, the staff's task pieces, support requests, the inbox, news, rules and FAQ, webhooks, message templates and settings, the company lookup, mailings or the AsyncAPI document failed (node --test web/tests/format.test.mjs web/tests/i18n.test.mjs web/tests/expiry.test.mjs web/tests/expiry-ru.test.mjs web/tests/tax.test.mjs web/tests/tax-ru.test.mjs web/tests/recalculation.test.mjs web/tests/recalculation-ru.test.mjs web/tests/tasks-admin.test.mjs web/tests/tasks-admin-ru.test.mjs web/tests/support.test.mjs web/tests/support-ru.test.mjs web/tests/content.test.mjs web/tests/content-ru.test.mjs web/tests/webhooks.test.mjs web/tests/notifications.test.mjs web/tests/company.test.mjs web/tests/messaging-ru.test.mjs web/tests/mailings.test.mjs web/tests/mailings-ru.test.mjs web/tests/contracts.test.mjs)"
node smoke.mjs || fail "the smoke test failed (screenshots in ${OUT:-/tmp/stimul-smoke})"
