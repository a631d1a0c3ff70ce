#!/usr/bin/env bash
# run.sh -- `make run`: the whole engine on this machine under its supervisor,
# bin/strategy-engine (simulation mode with the shipped config), with a live
# view refreshed every second: the supervisor's process table, ticks/s,
# signals, orders, fills, rejects by rule, position and PnL per strategy.
# Ctrl-C stops the supervisor, which stops every process (strategies first)
# and removes the instance's segments.
# Usage: tools/run.sh [CONFIG] [BIN_DIR]
set -uo pipefail
conf=${1:-etc/strategy-engine.conf} bin=${2:-bin}
instance=$(sed -n 's/^[[:space:]]*instance[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$conf" | head -n1)
instance=${instance:-default}
logdir=$(mktemp -d /tmp/strategy-engine-run.XXXXXX)
log=$logdir/engine.log

# The supervisor refuses to start when another one runs this instance, and
# stops processes left without a supervisor before it starts its own.
"$bin/strategy-engine" -c "$conf" 2> "$log" &
sup=$!

stop_all() {
  trap - INT TERM
  echo; echo "stopping: strategies, riskd, execd, ingest"
  kill -TERM "$sup" 2>/dev/null
  wait "$sup"
  echo "supervisor exited with status $?; segments of instance '$instance' removed; log: $log"
  exit 0
}
trap stop_all INT TERM

metric() { # process name-and-labels-regex -> sum of matching samples
  "$bin/shmtool" stats "$1" -i "$instance" 2>/dev/null |
    awk -v re="$2" '$0 !~ /^#/ && $1 ~ re { s += $NF } END { printf "%.0f", s }'
}

prev_ticks=0
while true; do
  sleep 1
  if ! kill -0 "$sup" 2>/dev/null; then
    wait "$sup"
    echo "run.sh: the supervisor exited with status $?; its log: $log" >&2
    grep '"level":"error"' "$log" | tail -n 3 >&2
    exit 1
  fi
  status=$("$bin/strategy-engine" -c "$conf" status 2>&1)
  strategies=$(printf '%s\n' "$status" | awk '$1 ~ /^strategyd\./ { sub(/^strategyd\./, "", $1); print $1 }')
  ticks=$(metric ingest '^market_data_received_total')
  signals=0
  for s in $strategies; do signals=$((signals + $(metric "strategyd.$s" '^strategy_signals_total'))); done
  [ -t 1 ] && printf '\033[H\033[2J'
  printf 'strategy-engine, instance %s  (%s)   Ctrl-C stops; log: %s\n\n' "$instance" "$(date +%T)" "$log"
  printf '%s\n\n' "$status" | sed 's/^/  /'
  printf '  ticks/s %-10s ticks %-12s signals %-10s orders %-10s fills %-10s\n' \
    "$((ticks - prev_ticks))" "$ticks" "$signals" "$(metric execd '^orders_submitted_total')" \
    "$(metric execd '^execution_reports_total.*kind="fill"')"
  prev_ticks=$ticks
  printf '  http: riskd :%s (/health /status /killswitch /metrics), ingest :%s, execd :%s\n' \
    "$(metric riskd '^http_port')" "$(metric ingest '^http_port')" "$(metric execd '^http_port')"
  echo
  echo "  rejects by rule:"
  "$bin/shmtool" stats riskd -i "$instance" 2>/dev/null |
    awk '/^risk_violations_total/ && $NF > 0 { match($0, /rule="[^"]*"/); printf "    %-28s %s\n", substr($0, RSTART + 6, RLENGTH - 7), $NF }'
  echo
  printf '  %-16s %-10s %12s %14s %14s\n' strategy symbol position realized_pnl unrealized_pnl
  "$bin/shmtool" stats riskd -i "$instance" 2>/dev/null | awk '
    /^strategy_position[{]/ || /^strategy_realized_pnl[{]/ || /^strategy_unrealized_pnl[{]/ {
      match($0, /strategy="[^"]*"/); st = substr($0, RSTART + 10, RLENGTH - 11)
      match($0, /symbol="[^"]*"/); sy = substr($0, RSTART + 8, RLENGTH - 9)
      k = st " " sy; keys[k] = 1
      if ($0 ~ /^strategy_position/) pos[k] = $NF
      else if ($0 ~ /^strategy_realized/) rp[k] = $NF
      else up[k] = $NF
    }
    END { for (k in keys) { split(k, a, " "); printf "  %-16s %-10s %12.4f %14.2f %14.2f\n", a[1], a[2], pos[k], rp[k], up[k] } }' | sort
done
