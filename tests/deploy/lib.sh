# lib.sh -- sourced by the deploy tests (tests/deploy/test_*.sh): the source
# root, a temporary directory removed on exit, and the pass/fail/skip verdict.
# The tests run through a link in build/<variant>/tests/deploy/ (Makefile), so
# the source root is found from the link's target.
set -uo pipefail
SRC=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
TEST=$(basename "$0" .sh)
TMP=$(mktemp -d "/tmp/se-$TEST.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failures=0

# skip REASON: the test cannot run here; says so and passes (never silently).
skip() { echo "$TEST: skip: $*"; exit 0; }

# fail WHAT: records a failure and goes on, so one run shows every problem.
fail() { echo "$TEST: FAIL: $*"; failures=$((failures + 1)); }

need() { # need TOOL...: skip unless every tool is installed
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || skip "$t is not installed (tools/deps.sh installs it)"; done
}

# finish: the verdict, as the exit status tests/run.sh reads.
finish() {
  if [ "$failures" -gt 0 ]; then echo "$TEST: $failures failure(s)"; exit 1; fi
  echo "$TEST: ok"; exit 0
}
