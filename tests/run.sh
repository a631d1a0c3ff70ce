#!/usr/bin/env bash
# Runs test programs (check suites or scripts) from the build directory $1,
# each in its own process, and prints one closing line for the whole run.
# TEST_WRAPPER, if set, prefixes each program (e.g. valgrind).
set -u
out=$1; shift
passed=0 failed=0 failed_names=()
for t in "$@"; do
  bin="$out/$t"
  echo "=== $t"
  if ${TEST_WRAPPER:-} "$bin"; then passed=$((passed + 1)); else failed=$((failed + 1)); failed_names+=("$t"); fi
done
[ $failed -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "test programs: $passed passed, $failed failed"
[ $failed -eq 0 ]
