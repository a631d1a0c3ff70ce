#!/usr/bin/env bash
# test_prometheus.sh -- deploy/prometheus: promtool accepts the scrape config
# and its alerting rules, the alerts fire when and only when their unit test
# (alerts_test.yml) says, and every metric they read is one the engine
# publishes. Scrape targets are checked against the engine's ports.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
need promtool
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
dir="$SRC/deploy/prometheus"

out=$(promtool check config "$dir/prometheus.yml" 2>&1) || fail "promtool check config: $out"
grep -q "SUCCESS: 1 rule files found" <<<"$out" || fail "prometheus.yml does not load exactly one rules file: $out"
out=$(promtool check rules "$dir/alerts.yml" 2>&1) || fail "promtool check rules alerts.yml: $out"
out=$(cd "$dir" && promtool test rules alerts_test.yml 2>&1) || fail "promtool test rules alerts_test.yml: $out"
/usr/bin/python3 "$SRC/tests/deploy/promql_names.py" "$SRC" rules "$dir/alerts.yml" || fail "alerts.yml reads unknown metrics"

# Every engine process is scraped on its default port (see the header of
# prometheus.yml): ingest 9091, riskd 9092, execd 9093, strategies 9100-9102.
for job_port in strategy-engine-ingest:9091 strategy-engine-riskd:9092 strategy-engine-execd:9093 \
                strategy-engine-strategyd:9100 strategy-engine-strategyd:9101 strategy-engine-strategyd:9102; do
  job=${job_port%:*} port=${job_port#*:}
  awk -v job="$job" -v port="$port" '
    /job_name:/ { in_job = ($NF == job) }
    in_job && $0 ~ ("127.0.0.1:" port "\"") { found = 1 }
    END { exit !found }' "$dir/prometheus.yml" || fail "prometheus.yml: job $job does not scrape port $port"
done
finish
