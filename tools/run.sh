#!/usr/bin/env bash
# run.sh -- `make run`: the whole pipeline on this machine in simulation mode
# (ingest's synthetic feed, the three built-in strategies, riskd, execd), with
# a live view refreshed every second. Ctrl-C stops every process, strategies
# first, and removes the instance's segments.
# Usage: tools/run.sh [CONFIG] [BIN_DIR]   (the real supervisor comes later)
set -uo pipefail
conf=${1:-etc/strategy-engine.conf} bin=${2:-bin}
logdir=$(mktemp -d /tmp/strategy-engine-run.XXXXXX)
# shellcheck source=tools/run_lib.sh
. "$(dirname "$0")/run_lib.sh"

stop_all() {
  trap - INT TERM
  echo; echo "stopping: strategies, riskd, execd, ingest"
  engine_stop 'strategyd.*' riskd execd ingest
  echo "segments of instance '$instance' removed; logs in $logdir"
  exit 0
}
trap stop_all INT TERM

engine_check_free
engine_start
while true; do
  sleep 1
  engine_alive || stop_all
  view_frame simulation
done
