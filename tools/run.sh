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
logdir=$(mktemp -d /tmp/strategy-engine-run.XXXXXX)
# shellcheck source=tools/run_lib.sh
. "$(dirname "$0")/run_lib.sh"

stop_all() {
  trap - INT TERM
  view_stop
  echo; echo "stopping: strategies, riskd, execd, ingest"
  engine_stop
  echo "log: $log"
  exit 0
}
trap stop_all INT TERM

engine_start
sim_view() { # every second until the engine dies
  while sleep 1 && engine_alive; do view_frame simulation; done
}
view_run sim_view
exit 1 # the view ended: the engine died (it said how)
