#!/usr/bin/env bash
# bench_pipeline.sh -- the processes together on this machine: how fast the
# synthetic feed fills ring `in` when asked for everything it has, and the
# latency of the ingest -> strategy hop and inside each strategy, read from the
# strategies' own histograms while ingest publishes at a steady rate.
# Usage: tools/bench/bench_pipeline.sh [BIN_DIR] [RATE] [SECONDS]
set -euo pipefail
bin=${1:-bin} rate=${2:-20000} secs=${3:-5}
inst="bench$$" dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"; rm -f /dev/shm/se."$inst".* /dev/shm/se."$inst"-max.*
}
trap cleanup EXIT

conf() { # instance feed-settings
  cat > "$dir/$1.conf" <<CONF
engine = { instance = "$1"; };
strategies = { enabled = ["momentum", "market_making", "scalping"]; configs = {}; };
ingest = { feed = "synthetic"; synthetic = { $2 }; };
CONF
}

echo "== synthetic feed into ring in, as fast as it goes (3 runs of 5M records)"
conf "$inst-max" "ratePerSecond = 0.0; maxRecords = 5000000L;"
rates=()
for run in 1 2 3; do
  rm -f /dev/shm/se."$inst"-max.*
  t0=$(date +%s%N)
  "$bin/ingest" -c "$dir/$inst-max.conf" 2>/dev/null
  t1=$(date +%s%N)
  rates+=("$(( 5000000 * 1000000000 / (t1 - t0) ))")
done
printf '%s\n' "${rates[@]}" | sort -n | awk '{r[NR]=$1} END {printf "  records/s: median %d (runs: %d %d %d)\n", r[2], r[1], r[2], r[3]}'

echo "== ingest -> 3 strategyd at $rate records/s for ${secs}s"
conf "$inst" "ratePerSecond = $rate.0;"
for s in momentum market_making scalping; do
  "$bin/strategyd" -c "$dir/$inst.conf" -s "$s" 2>/dev/null & pids+=($!)
done
"$bin/ingest" -c "$dir/$inst.conf" 2>/dev/null & pids+=($!)
sleep "$secs"
# Percentiles from a Prometheus histogram: the upper bound of the bucket
# where the cumulative count passes the quantile.
for s in momentum market_making scalping; do
  "$bin/shmtool" stats "strategyd.$s" -i "$inst" | awk -v s="$s" '
    /_bucket/ { split($0, a, "le=\""); split(a[2], b, "\""); le = b[1]; n = $NF
                name = $1; sub(/_bucket.*/, "", name); key = name
                les[key, ++cnt[key]] = le; cum[key, cnt[key]] = n }
    /_sum/ { name = $1; sub(/_sum.*/, "", name); sum[name] = $NF }
    /_count/ { name = $1; sub(/_count.*/, "", name); total[name] = $NF }
    END {
      for (k in total) {
        if (total[k] == 0) continue
        p50 = p99 = "?"
        for (i = 1; i <= cnt[k]; i++) {
          if (p50 == "?" && cum[k, i] >= 0.5 * total[k]) p50 = les[k, i]
          if (p99 == "?" && cum[k, i] >= 0.99 * total[k]) p99 = les[k, i]
        }
        printf "  %-14s %-34s n=%-8d mean %7.2f us  p50 <= %s us  p99 <= %s us\n", s, k, total[k], sum[k] / total[k], p50, p99
      }
    }'
done
