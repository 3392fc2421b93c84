#!/usr/bin/env bash
# The `credits` scenario through bench.sh, as RESULTS.md's commands call it:
#   loadtest/bench-credits.sh sqlite|postgres [stimul-loadtest credits flags...]
exec "$(dirname "$0")/bench.sh" credits "$@"
