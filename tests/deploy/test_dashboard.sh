#!/usr/bin/env bash
# test_dashboard.sh -- deploy/grafana/strategy-engine.json: the JSON parses,
# every panel has a query, every query reads only metrics the engine
# publishes and is valid PromQL (each becomes a recording rule for
# `promtool check rules`), and the views the issue asks for are there.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
need promtool
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"

/usr/bin/python3 "$SRC/tests/deploy/promql_names.py" "$SRC" dashboard \
  "$SRC/deploy/grafana/strategy-engine.json" "$TMP/dashboard_rules.yml" || fail "dashboard check"
if [ -s "$TMP/dashboard_rules.yml" ]; then
  out=$(promtool check rules "$TMP/dashboard_rules.yml" 2>&1) || fail "a dashboard query is not valid PromQL: $out"
  n=$(grep -c '"record"' "$TMP/dashboard_rules.yml")
  [ "$n" -ge 20 ] || fail "only $n queries found in the dashboard"
fi
finish
