#!/usr/bin/env bash
# run_live.sh -- `make run-live`: the engine in live mode on this machine.
# Starts redis-server, nats-server (JetStream) and bin/venue-sim on free
# loopback ports, bin/md-publisher (a random walk on md.<SYMBOL>), and the
# engine under its supervisor (bin/strategy-engine) on a copy of CONFIG with
# those ports, then shows the live view of `make run` plus what the venue
# received and filled. Ctrl-C stops everything (publisher, the engine through
# its supervisor, venue, NATS, Redis) and removes the segments and the scratch
# directory (KEEP=1 keeps it: logs, journal, the venue's orders and fills).
# Usage: tools/run_live.sh [CONFIG] [BIN_DIR]   env: RATE (md-publisher msgs/s, 20)
set -uo pipefail
template=${1:-etc/strategy-engine-live.conf} bin=${2:-bin}
for tool in redis-server nats-server; do
  command -v "$tool" >/dev/null || { echo "run_live.sh: $tool is missing (make deps installs it)" >&2; exit 1; }
done
logdir=$(mktemp -d /tmp/strategy-engine-live.XXXXXX)
conf=$logdir/strategy-engine-live.conf
cp "$template" "$conf"
# shellcheck source=tools/run_lib.sh
. "$(dirname "$0")/run_lib.sh"

stop_all() {
  trap - INT TERM
  view_stop
  echo; echo "stopping: md-publisher, the engine (strategies, riskd, execd, ingest), venue-sim, nats-server, redis-server"
  services_stop md-publisher
  engine_stop
  services_stop venue-sim nats-server redis-server
  if [ "${KEEP:-0}" = 1 ]; then
    echo "logs, journal and venue files in $logdir"
  else
    rm -rf "$logdir"
    echo "$logdir removed"
  fi
  exit 0
}
trap stop_all INT TERM

free_port() { # a loopback port nobody listened on a moment ago
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # what seconds command...: polls the command until it succeeds
  local what=$1 until=$((SECONDS + $2)); shift 2
  until "$@" 2>/dev/null; do
    if [ $SECONDS -ge $until ] || ! engine_alive; then echo "run_live.sh: $what did not come up" >&2; stop_all; fi
    sleep 0.1
  done
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if "$bin/strategy-engine" -c "$conf" status >/dev/null 2>&1; then
  echo "run_live.sh: instance '$instance' is already running ($bin/strategy-engine -c $template status); stop it first" >&2
  rm -rf "$logdir"; exit 1
fi
redis_port=$(free_port) nats_port=$(free_port)
start redis-server redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no
start nats-server nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$logdir/jetstream"
wait_for "redis-server on port $redis_port" 10 listening "$redis_port"
wait_for "nats-server on port $nats_port" 10 listening "$nats_port"
# venue-sim prints its port first: fills at the Redis price, published on NATS.
"$bin/venue-sim" --port 0 --redis "127.0.0.1:$redis_port" --nats "nats://127.0.0.1:$nats_port" \
  --fills-file "$logdir/venue-fills.jsonl" --orders-file "$logdir/venue-orders.jsonl" \
  > "$logdir/venue-sim.out" 2> "$logdir/venue-sim.log" & pids[venue-sim]=$!
wait_for venue-sim 10 grep -q '^[0-9]' "$logdir/venue-sim.out"
venue_port=$(head -n1 "$logdir/venue-sim.out")

# The config names these services and this run's journal.
sed -i -e "/^redis/s/port = [0-9]*;/port = $redis_port;/" \
       -e "s|nats://127.0.0.1:[0-9]*|nats://127.0.0.1:$nats_port|" \
       -e "s|target = \"[^\"]*\"|target = \"127.0.0.1:$venue_port\"|" \
       -e "s|journalFile = \"[^\"]*\"|journalFile = \"$logdir/execd.journal\"|" "$conf"
engine_start
start md-publisher "$bin/md-publisher" --redis "127.0.0.1:$redis_port" --rate "${RATE:-20}"

live_view() { # every second until the engine or a service dies
  while sleep 1 && engine_alive; do
    orders=$(grep -c '"rpc":"submit","[^}]*"duplicate":false' "$logdir/venue-orders.jsonl" 2>/dev/null)
    retries=$(grep -c '"duplicate":true' "$logdir/venue-orders.jsonl" 2>/dev/null)
    cancels=$(grep -c '"rpc":"cancel"' "$logdir/venue-orders.jsonl" 2>/dev/null)
    fills=$(grep -c '^{"fill_id"' "$logdir/venue-fills.jsonl" 2>/dev/null)
    view_frame live \
      "venue-sim :$venue_port  orders ${orders:-0}  retried ${retries:-0}  cancels ${cancels:-0}  fills ${fills:-0}  (NATS fills booked by riskd: $(view_metric riskd '^fills_applied_total'))" \
      "redis-server :$redis_port  nats-server :$nats_port (JetStream)  md-publisher ${RATE:-20} msgs/s  files: $logdir"
  done
}
view_run live_view
KEEP=1 stop_all # the view ended: something died (it said what); keep the files to look at
