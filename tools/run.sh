#!/usr/bin/env bash
# run.sh -- `make run`: the whole pipeline on this machine in simulation mode
# (ingest's synthetic feed, the three built-in strategies, riskd, execd), with
# a live view refreshed every second. Ctrl-C stops every process, strategies
# first, and removes the instance's segments.
# Usage: tools/run.sh [CONFIG] [BIN_DIR]   (the real supervisor comes later)
set -uo pipefail
conf=${1:-etc/strategy-engine.conf} bin=${2:-bin}
instance=$(sed -n 's/^[[:space:]]*instance[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$conf" | head -n1)
instance=${instance:-default}
logdir=$(mktemp -d /tmp/strategy-engine-run.XXXXXX)
strategies=$(sed -n '/^strategies/,/^};/s/^[[:space:]]*enabled[[:space:]]*=[[:space:]]*\[\(.*\)\];.*/\1/p' "$conf" | tr -d '" ' | tr ',' ' ')
declare -A pids=()

stop_all() {
  trap - INT TERM
  echo; echo "stopping: strategies, riskd, execd, ingest"
  for group in "strategies" "riskd" "execd" "ingest"; do
    for name in "${!pids[@]}"; do
      case "$group:$name" in strategies:strategyd.*|riskd:riskd|execd:execd|ingest:ingest)
        kill -TERM "${pids[$name]}" 2>/dev/null; wait "${pids[$name]}" 2>/dev/null ;; esac
    done
  done
  "$bin/shmtool" gc -i "$instance" >/dev/null 2>&1
  echo "segments of instance '$instance' removed; logs in $logdir"
  exit 0
}
trap stop_all INT TERM

if "$bin/shmtool" ls -i "$instance" 2>/dev/null | grep -q alive; then
  echo "run.sh: instance '$instance' is already running (bin/shmtool ls -i $instance); stop it first" >&2
  exit 1
fi
"$bin/shmtool" gc -i "$instance" >/dev/null 2>&1

start() { # name command...
  local name=$1; shift
  "$@" 2> "$logdir/$name.log" & pids[$name]=$!
}
start execd "$bin/execd" -c "$conf"
start riskd "$bin/riskd" -c "$conf"
for s in $strategies; do start "strategyd.$s" "$bin/strategyd" -c "$conf" -s "$s"; done
start ingest "$bin/ingest" -c "$conf"

metric() { # process name-and-labels-regex -> sum of matching samples
  "$bin/shmtool" stats "$1" -i "$instance" 2>/dev/null |
    awk -v re="$2" '$0 !~ /^#/ && $1 ~ re { s += $NF } END { printf "%.0f", s }'
}

prev_ticks=0
while true; do
  sleep 1
  for name in "${!pids[@]}"; do
    if ! kill -0 "${pids[$name]}" 2>/dev/null; then
      echo "run.sh: $name exited; its log: $logdir/$name.log" >&2
      tail -n 3 "$logdir/$name.log" >&2
      stop_all
    fi
  done
  ticks=$(metric ingest '^market_data_received_total')
  signals=0
  for s in $strategies; do signals=$((signals + $(metric "strategyd.$s" '^strategy_signals_total'))); done
  [ -t 1 ] && printf '\033[H\033[2J'
  printf 'strategy-engine, instance %s, simulation  (%s)   Ctrl-C stops\n\n' "$instance" "$(date +%T)"
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
