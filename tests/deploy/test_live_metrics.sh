#!/usr/bin/env bash
# test_live_metrics.sh -- the dashboard and the alerts against a running
# engine: starts ingest (synthetic feed), execd, riskd and the three built-in
# strategies on a private instance, waits until trades are booked, reads
# every process's metrics (shmtool stats, the text /metrics serves) and checks
# that every metric the queries read appears there with the labels they use.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
bindir=${SE_BIN_DIR:-$SRC/bin}
shmtool=${SHMTOOL:-$bindir/shmtool}
for p in ingest strategyd riskd execd; do [ -x "$bindir/$p" ] || skip "no $bindir/$p (run make)"; done
[ -x "$shmtool" ] || skip "no $shmtool (run make)"

inst="t$$-deploy"
strategies=(momentum market_making scalping)
# A fast synthetic feed so that orders, fills and positions come within
# seconds; HTTP off so no port can collide with another run.
cat > "$TMP/engine.conf" <<CONF
engine = { mode = "simulation"; instance = "$inst"; idleSpinUs = 0; pluginsDir = "$SRC/plugins"; };
http = { enabled = false; };
strategies = {
  enabled = ["momentum", "market_making", "scalping"];
  configs = {
    momentum = { lookback_period = 10; threshold = 0.0005; max_position = 5.0; };
    market_making = { spread = 0.001; order_size = 1.0; max_inventory = 10.0; inventory_skew = 0.5;
                      refresh_ms = 50; tick_size = 0.01; };
    scalping = { profit_target = 0.001; stop_loss = 0.001; max_hold_time_seconds = 2; entry_ticks = 3;
                 entry_threshold = 0.0005; order_size = 1.0; cooldown_ms = 100; };
  };
};
ingest = { feed = "synthetic"; synthetic = { symbols = ["BTC-USD", "ETH-USD"]; ratePerSecond = 2000.0;
                                             volatility = 0.001; spreadBps = 2.0; startPrice = 100.0; seed = 7; }; };
risk = { enabled = true; maxPositionSize = 20.0; };
execution = { sim = { slippageBps = 1.0; latencyUs = 200; }; };
CONF

pids=()
stop_all() { # strategies first, as the engine stops; only the processes this test started
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  pids=()
  "$shmtool" gc -i "$inst" >/dev/null 2>&1
}
trap 'stop_all; rm -rf "$TMP"' EXIT
start() { "$@" 2>>"$TMP/engine.log" & pids+=($!); }
start "$bindir/ingest" -c "$TMP/engine.conf"
start "$bindir/execd" -c "$TMP/engine.conf"
start "$bindir/riskd" -c "$TMP/engine.conf"
for s in "${strategies[@]}"; do start "$bindir/strategyd" -c "$TMP/engine.conf" -s "$s"; done

# Poll (deadline 60 s, for the sanitizer builds) until riskd has booked a
# position and every process has published its block.
dump() {
  local p
  : > "$TMP/metrics.txt"
  for p in ingest execd riskd "${strategies[@]/#/strategyd.}"; do
    "$shmtool" stats "$p" -i "$inst" >> "$TMP/metrics.txt" 2>/dev/null || return 1
  done
  grep -q '^strategy_position{' "$TMP/metrics.txt" && grep -q '^tick_to_order_microseconds_count.* [1-9]' "$TMP/metrics.txt"
}
deadline=$((SECONDS + 60))
until dump; do
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { fail "an engine process exited early; its log:"; tail -n 5 "$TMP/engine.log"; finish; }
  done
  [ $SECONDS -lt $deadline ] || { fail "no booked position within 60 s"; tail -n 5 "$TMP/engine.log"; finish; }
  sleep 0.2
done
stop_all

/usr/bin/python3 "$SRC/tests/deploy/promql_names.py" "$SRC" live "$TMP/metrics.txt" \
  "$SRC/deploy/grafana/strategy-engine.json" "$SRC/deploy/prometheus/alerts.yml" ||
  fail "queries read metrics or labels the running engine does not publish"
finish
