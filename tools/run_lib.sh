# run_lib.sh -- what tools/run.sh (`make run`) and tools/run_live.sh
# (`make run-live`) share, sourced by both: the engine under its supervisor
# (bin/strategy-engine), the outside services run_live.sh starts around it,
# and the live view refreshed every second. Expects $conf, $bin and $logdir;
# sets $instance, $log and $sup.
# shellcheck shell=bash disable=SC2154 # conf, bin and logdir come from the sourcing script
instance=$(sed -n 's/^[[:space:]]*instance[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$conf" | head -n1)
instance=${instance:-default}
log=$logdir/engine.log
sup=
declare -A pids=()

# The supervisor refuses to start when another one runs this instance, and
# stops processes left without a supervisor before it starts its own.
engine_start() {
  "$bin/strategy-engine" -c "$conf" 2> "$log" &
  sup=$!
}

# Stops the supervisor, which stops every process (strategies first) and
# removes the instance's segments.
engine_stop() {
  [ -n "$sup" ] || return 0
  kill -TERM "$sup" 2>/dev/null
  wait "$sup"
  echo "supervisor exited with status $?; segments of instance '$instance' removed"
  sup=
}

# Returns 1, after saying why, when the supervisor or a started service died.
# (In the view's child process the supervisor is not its child: no status.)
engine_alive() {
  if [ -n "$sup" ] && ! kill -0 "$sup" 2>/dev/null; then
    wait "$sup" 2>/dev/null
    echo "$(basename "$0"): the supervisor exited (status $?, 127: unknown here); its log: $log" >&2
    grep '"level":"error"' "$log" | tail -n 3 >&2
    sup=
    return 1
  fi
  for name in "${!pids[@]}"; do
    if ! kill -0 "${pids[$name]}" 2>/dev/null; then
      echo "$(basename "$0"): $name exited; its log: $logdir/$name.log" >&2
      tail -n 3 "$logdir/$name.log" >&2
      return 1
    fi
  done
}

start() { # name command...: a service in the background, its output to $logdir/<name>.log
  local name=$1; shift
  "$@" > "$logdir/$name.log" 2>&1 & pids[$name]=$!
}

services_stop() { # name...: stops the started services named, in that order
  for name in "$@"; do
    [ -n "${pids[$name]:-}" ] || continue
    kill -TERM "${pids[$name]}" 2>/dev/null
    wait "${pids[$name]}" 2>/dev/null
    unset "pids[$name]"
  done
}

# view_run FUNCTION: runs the live view loop in a child and waits for it.
# The scripts' Ctrl-C/SIGTERM trap must run while the script sits in `wait`:
# a trap that fires while bash reads a command substitution of the view can
# fail to parse ("trap: unexpected EOF while looking for matching `)'", bash
# 5.2) and end the script with status 1, stopping nothing. Returns when the
# loop ends by itself (the engine or a service died); sets $view meanwhile.
view=
view_run() {
  "$1" &
  view=$!
  wait "$view"
  view=
}

# Stops the view loop, if it runs (first thing a stop does).
view_stop() {
  [ -n "$view" ] && kill "$view" 2>/dev/null && wait "$view" 2>/dev/null
  view=
}

view_metric() { # process name-and-labels-regex -> sum of matching samples
  "$bin/shmtool" stats "$1" -i "$instance" 2>/dev/null |
    awk -v re="$2" '$0 !~ /^#/ && $1 ~ re { s += $NF } END { printf "%.0f", s }'
}

view_prev_ticks=0
# One screen of the live view: the supervisor's process table, the rates
# (fills: the ones riskd booked, from execd in simulation, over NATS live),
# the extra lines given, the HTTP ports, rejects by rule, positions and PnL.
view_frame() { # mode [line...]
  local mode=$1; shift
  local status strategies ticks signals=0 n
  status=$("$bin/strategy-engine" -c "$conf" status 2>&1)
  strategies=$(printf '%s\n' "$status" | awk '$1 ~ /^strategyd\./ { sub(/^strategyd\./, "", $1); print $1 }')
  ticks=$(view_metric ingest '^market_data_received_total')
  # A signal (Ctrl-C) arriving while a command substitution reads can leave it
  # empty: `$((signals + ))` would then end the script before its trap runs.
  for s in $strategies; do n=$(view_metric "strategyd.$s" '^strategy_signals_total'); signals=$((signals + ${n:-0})); done
  [ -t 1 ] && printf '\033[H\033[2J'
  printf 'strategy-engine, instance %s, %s  (%s)   Ctrl-C stops; log: %s\n\n' "$instance" "$mode" "$(date +%T)" "$log"
  printf '%s\n\n' "$status" | sed 's/^/  /'
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
