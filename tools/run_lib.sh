# run_lib.sh -- what tools/run.sh (`make run`) and tools/run_live.sh
# (`make run-live`) share, sourced by both: the engine's processes started
# from one config and stopped in order (strategies first), and the live view
# refreshed every second. Expects $conf, $bin and $logdir; sets $instance and
# $strategies.
# shellcheck shell=bash disable=SC2154 # conf, bin and logdir come from the sourcing script
instance=$(sed -n 's/^[[:space:]]*instance[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$conf" | head -n1)
instance=${instance:-default}
strategies=$(sed -n '/^strategies/,/^};/s/^[[:space:]]*enabled[[:space:]]*=[[:space:]]*\[\(.*\)\];.*/\1/p' "$conf" | tr -d '" ' | tr ',' ' ')
declare -A pids=()

# Refuses to start over a running instance; removes what a dead one left.
engine_check_free() {
  if "$bin/shmtool" ls -i "$instance" 2>/dev/null | grep -q alive; then
    echo "$(basename "$0"): instance '$instance' is already running (bin/shmtool ls -i $instance); stop it first" >&2
    exit 1
  fi
  "$bin/shmtool" gc -i "$instance" >/dev/null 2>&1
}

start() { # name command...: runs it in the background, its output to $logdir/<name>.log
  local name=$1; shift
  "$@" > "$logdir/$name.log" 2>&1 & pids[$name]=$!
}

# execd, riskd, one strategyd per strategy, ingest: each reader before its writer.
engine_start() {
  start execd "$bin/execd" -c "$conf"
  start riskd "$bin/riskd" -c "$conf"
  for s in $strategies; do start "strategyd.$s" "$bin/strategyd" -c "$conf" -s "$s"; done
  start ingest "$bin/ingest" -c "$conf"
}

# Stops the started processes in the order of the groups named (each a
# pattern over their names), then removes the instance's segments.
engine_stop() { # pattern...
  for group in "$@"; do
    for name in "${!pids[@]}"; do
      # shellcheck disable=SC2254 # the group is a pattern on purpose
      case "$name" in $group) kill -TERM "${pids[$name]}" 2>/dev/null; wait "${pids[$name]}" 2>/dev/null; unset "pids[$name]" ;; esac
    done
  done
  "$bin/shmtool" gc -i "$instance" >/dev/null 2>&1
}

# Returns 1 (after saying which and its last log lines) when a process died.
engine_alive() {
  for name in "${!pids[@]}"; do
    if ! kill -0 "${pids[$name]}" 2>/dev/null; then
      echo "$(basename "$0"): $name exited; its log: $logdir/$name.log" >&2
      tail -n 3 "$logdir/$name.log" >&2
      return 1
    fi
  done
}

view_metric() { # process name-and-labels-regex -> sum of matching samples
  "$bin/shmtool" stats "$1" -i "$instance" 2>/dev/null |
    awk -v re="$2" '$0 !~ /^#/ && $1 ~ re { s += $NF } END { printf "%.0f", s }'
}

view_prev_ticks=0
# One screen of the live view: MODE, then extra lines shown under the rates.
view_frame() { # mode [line...]
  local mode=$1; shift
  local ticks signals=0
  ticks=$(view_metric ingest '^market_data_received_total')
  for s in $strategies; do signals=$((signals + $(view_metric "strategyd.$s" '^strategy_signals_total'))); done
  [ -t 1 ] && printf '\033[H\033[2J'
  printf 'strategy-engine, instance %s, %s  (%s)   Ctrl-C stops\n\n' "$instance" "$mode" "$(date +%T)"
  printf '  ticks/s %-10s ticks %-12s signals %-10s orders %-10s fills %-10s\n' \
    "$((ticks - view_prev_ticks))" "$ticks" "$signals" "$(view_metric execd '^orders_submitted_total')" \
    "$(view_metric riskd '^fills_applied_total')"
  view_prev_ticks=$ticks
  for line in "$@"; do printf '  %s\n' "$line"; done
  printf '  http: riskd :%s (/health /status /killswitch /metrics), ingest :%s, execd :%s\n' \
    "$(view_metric riskd '^http_port')" "$(view_metric ingest '^http_port')" "$(view_metric execd '^http_port')"
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
}
