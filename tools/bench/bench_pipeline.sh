#!/usr/bin/env bash
# bench_pipeline.sh -- `make bench-pipeline`: the engine's processes together on
# this machine. First how fast the synthetic feed fills ring `in` when asked
# for everything it has; then, per rate, the whole pipeline (execd, riskd, the
# three built-in strategies, ingest's synthetic feed) for a measured window:
# tick-to-order latency and its hops from the records (pipeline_report), drops,
# and CPU per process. Writes bench/results/pipeline.json and prints a table.
# Usage: tools/bench/bench_pipeline.sh [BIN_DIR] [RATE...]
#   RATE defaults to 10000 100000 1000000 (ticks/s over all symbols).
#   PIPELINE_SECONDS (default 10): the measured window of each run.
#   PIPELINE_COMPARE=0: skip the two 100k comparison runs (idleSpinUs 0 and 100).
#   PIPELINE_JSON (default bench/results/pipeline.json): where the result goes.
# See tools/bench/README.md, "The pipeline benchmark".
set -euo pipefail
bin=${1:-bin}
[ $# -gt 0 ] && shift
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(10000 100000 1000000)
secs=${PIPELINE_SECONDS:-10}
compare=${PIPELINE_COMPARE:-1}
json_out=${PIPELINE_JSON:-bench/results/pipeline.json}
strategies=(momentum market_making scalping)
base="bench$$" dir=$(mktemp -d /tmp/bench-pipeline.XXXXXX)
declare -A pids=()
sleeper=""

# The report tool lives beside the programs' build (build/<variant>/bin ->
# build/<variant>/tools/bench); the Makefile's `build` target does not build it
# (BENCH_BINS lists its benchmarks), so it is made here from its pattern rule.
case "$bin" in
  build/*/bin) out=${bin%/bin} ;;
  *) out=build/release ;;
esac
report=$out/tools/bench/pipeline_report
make --no-print-directory -s BUILD="$(basename "$out")" "$report"

stop_all() { # stop every started process, strategies first; never hang
  local group name p deadline
  for group in strategies riskd execd ingest; do
    for name in "${!pids[@]}"; do
      case "$group:$name" in strategies:strategyd.*|riskd:riskd|execd:execd|ingest:ingest) ;; *) continue ;; esac
      p=${pids[$name]}
      kill -TERM "$p" 2>/dev/null || true
      deadline=$((SECONDS + 5))
      while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
      if kill -0 "$p" 2>/dev/null; then
        echo "bench_pipeline: $name (pid $p) ignored SIGTERM for 5 s; killing it" >&2
        kill -KILL "$p" 2>/dev/null || true
      fi
      wait "$p" 2>/dev/null || true
      unset "pids[$name]"
    done
  done
}
cleanup() {
  trap - EXIT INT TERM
  [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
  stop_all
  rm -rf /dev/shm/se."$base"-*
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo "bench_pipeline: interrupted" >&2; exit 130' INT TERM

# ---- part 1: the feed alone --------------------------------------------------

echo "== synthetic feed into ring in, as fast as it goes (3 runs of 5M records)"
cat > "$dir/max.conf" <<CONF
engine = { instance = "$base-max"; };
strategies = { enabled = ["momentum", "market_making", "scalping"]; configs = {}; };
ingest = { feed = "synthetic"; synthetic = { ratePerSecond = 0.0; maxRecords = 5000000L; }; };
http = { enabled = false; };  # no fixed port: another engine may run here
CONF
max_rates=()
for _ in 1 2 3; do
  rm -rf /dev/shm/se."$base"-max.* /dev/shm/se."$base"-max@*
  t0=$(date +%s%N)
  "$bin/ingest" -c "$dir/max.conf" 2>/dev/null
  t1=$(date +%s%N)
  max_rates+=("$(( 5000000 * 1000000000 / (t1 - t0) ))")
done
rm -rf /dev/shm/se."$base"-max.* /dev/shm/se."$base"-max@*
feed_max=$(printf '%s\n' "${max_rates[@]}" | sort -n | sed -n 2p)
printf '%s\n' "${max_rates[@]}" | sort -n | awk '{r[NR]=$1} END {printf "  records/s: median %d (runs: %d %d %d)\n", r[2], r[1], r[2], r[3]}'

# ---- part 2: the pipeline at each rate ---------------------------------------

# The example configuration's strategies and simulator, with risk limits that
# let every order through (the rate limits are off) and rings large enough that
# `exe` keeps every report of the run and nobody laps on a burst.
write_conf() { # file instance rate spin_us ("" = the engine's default)
  local spin=""
  [ -n "$4" ] && spin="idleSpinUs = $4;"
  cat > "$1" <<CONF
engine = { mode = "simulation"; instance = "$2"; $spin pluginsDir = "plugins"; };
strategies = {
  enabled = ["momentum", "market_making", "scalping"];
  configs = {
    momentum = { lookback_period = 20; threshold = 0.002; max_position = 10.0; };
    market_making = { spread = 0.001; order_size = 1.0; max_inventory = 10.0;
                      inventory_skew = 0.5; refresh_ms = 500; tick_size = 0.01; };
    scalping = { profit_target = 0.002; stop_loss = 0.001; max_hold_time_seconds = 30;
                 entry_ticks = 5; entry_threshold = 0.001; order_size = 1.0; cooldown_ms = 1000; };
  };
};
ingest = {
  feed = "synthetic";
  ringCapacity = 1048576L;
  synthetic = { symbols = ["BTC-USD", "ETH-USD", "SOL-USD"]; ratePerSecond = $3.0;
                volatility = 0.0005; spreadBps = 2.0; startPrice = 100.0; seed = 42; };
};
strategyd = { signalRingCapacity = 65536; };
riskd = { orderRingCapacity = 1048576L; };
http = { enabled = false; };  # no fixed port: another engine may run here
risk = {
  enabled = true;
  maxOrderSize = 1000.0;
  maxOrderValue = 1.0e9;
  priceCollarPct = 50.0;
  maxQuoteAgeMs = 60000;
  maxPositionSize = 1.0e6;
  maxDailyLoss = 1.0e12;
  maxDrawdown = 1.0e12;
  dailyResetUtc = "00:00";
  maxOrdersPerSecond = 0;     # off
  maxOrdersPerMinute = 0;     # off
  duplicateWindowMs = 0;
};
execution = {
  exeRingCapacity = 4194304L;
  sim = { slippageBps = 1.0; latencyUs = 200; };
};
CONF
}

start() { # name logfile command...
  local name=$1 log=$2; shift 2
  "$@" 2> "$log" & pids[$name]=$!
}

alive_readers() { # instance ring -> live readers of the ring (0 when it does not exist)
  "$bin/shmtool" info "$2" -i "$1" --json 2>/dev/null | grep -o '"alive":true' | wc -l || true
}

writer_up() { # instance ring -> the ring exists and its writer is alive
  "$bin/shmtool" info "$2" -i "$1" --json 2>/dev/null | grep -q '"writer_alive":true'
}

writers_up() { # instance ring... -> writer_up for each
  local inst=$1 r; shift
  for r in "$@"; do writer_up "$inst" "$r" || return 1; done
}

# Polls CHECK until it succeeds, for at most 15 s and only while every started
# process lives. Returns 1, saying what it waited for and who exited, otherwise.
wait_until() { # instance description check args...
  local what=$2 deadline=$((SECONDS + 15)) name; shift 2
  while [ $SECONDS -lt $deadline ]; do
    "$@" && return 0
    for name in "${!pids[@]}"; do
      if ! kill -0 "${pids[$name]}" 2>/dev/null; then
        echo "  $name exited while waiting for $what" >&2
        return 1
      fi
    done
    sleep 0.02
  done
  echo "  waited 15 s for $what" >&2
  return 1
}

# Every ring exists and has all its readers: in (strategies, riskd, execd),
# sig.* (riskd), ord (execd), exe (riskd, strategies), risk (strategies).
all_attached() { # instance
  local n=${#strategies[@]} s
  [ "$(alive_readers "$1" in)" -ge $((n + 2)) ] || return 1
  [ "$(alive_readers "$1" ord)" -ge 1 ] || return 1
  [ "$(alive_readers "$1" exe)" -ge $((n + 1)) ] || return 1
  [ "$(alive_readers "$1" risk)" -ge "$n" ] || return 1
  for s in "${strategies[@]}"; do [ "$(alive_readers "$1" "sig.$s")" -ge 1 ] || return 1; done
}

cpu_ticks() { # pid -> utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat)
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'
}

host_busy() { # -> busy clock ticks of the whole host: /proc/stat's cpu line less idle and iowait
  awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

in_lag() { # instance -> records the slowest reader of `in` is behind its head
  "$bin/shmtool" info in -i "$1" --json 2>/dev/null |
    grep -o '"lag":[0-9]*' | awk -F: '$2 > m { m = $2 } END { print m + 0 }'
}

ticks_published() { # instance -> ingest's market_data_received_total
  "$bin/shmtool" stats ingest -i "$1" 2>/dev/null | awk '$1 ~ /^market_data_received_total/ { print $NF }'
}

clk_tck=$(getconf CLK_TCK)
runs=() rows=() cpu_rows=() failed=()
declare -A drops_at=() reached_at=() lag_at=() p50_at=()

# One run: start everything on a fresh instance, wait for every attach, measure
# for $secs, stop (strategies first), report, remove the segments. Appends the
# run's JSON to runs[] and its table lines to rows[] and cpu_rows[]; returns 1
# when the run could not be measured.
run_pipeline() { # rate label spin_us ("" = default)
  local rate=$1 label=$2 spin=$3 inst="$base-$2"
  local conf="$dir/$inst.conf" logs="$dir/$inst" name s
  mkdir -p "$logs"
  write_conf "$conf" "$inst" "$rate" "$spin"
  rm -rf /dev/shm/se."$inst".* /dev/shm/se."$inst"@*
  echo "== $label: pipeline at $rate ticks/s for ${secs}s (instance $inst${spin:+, idleSpinUs $spin})"
  # Each stage is up before the next starts, as a supervisor would do it: a
  # strategy that opens before `exe` exists trades blind to its fills until it
  # attaches (up to 100 ms later, and only when idle), and at high rates its
  # order table fills with orders it never sees filled.
  local n=${#strategies[@]} failed_stage=""
  start execd "$logs/execd.log" "$bin/execd" -c "$conf"
  wait_until "$inst" "execd's ring exe" writer_up "$inst" exe || failed_stage="execd"
  if [ -z "$failed_stage" ]; then
    start riskd "$logs/riskd.log" "$bin/riskd" -c "$conf"
    wait_until "$inst" "riskd's rings ord and risk" writers_up "$inst" ord risk || failed_stage="riskd"
  fi
  if [ -z "$failed_stage" ]; then
    for s in "${strategies[@]}"; do start "strategyd.$s" "$logs/$s.log" "$bin/strategyd" -c "$conf" -s "$s"; done
    wait_until "$inst" "the strategies' signal rings" writers_up "$inst" "${strategies[@]/#/sig.}" ||
      failed_stage="strategyd"
  fi
  if [ -z "$failed_stage" ]; then
    start ingest "$logs/ingest.log" "$bin/ingest" -c "$conf"
    wait_until "$inst" "every reader of every ring" all_attached "$inst" || failed_stage="ingest"
  fi
  if [ -n "$failed_stage" ]; then
    echo "  not measured: the pipeline did not come up (stage $failed_stage; logs below)" >&2
    tail -n 2 "$logs"/*.log >&2 || true
    stop_all; rm -rf /dev/shm/se."$inst".* /dev/shm/se."$inst"@*
    return 1
  fi

  # The window is [t0, t1]; the tick counter is read just outside it, and its
  # reads are timed so the rate divides by the span they really cover.
  local -A cpu0=() cpu1=()
  local tick0 tick1 t0 t1 ta tb host0 host1 lag
  ta=$(date +%s%N)
  tick0=$(ticks_published "$inst")
  t0=$(date +%s%N)
  host0=$(host_busy)
  for name in "${!pids[@]}"; do cpu0[$name]=$(cpu_ticks "${pids[$name]}"); done
  sleep "$secs" & sleeper=$!   # waited for with `wait`, so a signal ends the window at once
  wait $sleeper; sleeper=""
  for name in "${!pids[@]}"; do cpu1[$name]=$(cpu_ticks "${pids[$name]}"); done
  host1=$(host_busy)
  t1=$(date +%s%N)
  lag=$(in_lag "$inst")
  tick1=$(ticks_published "$inst")
  tb=$(date +%s%N)
  local dead=""
  for name in "${!pids[@]}"; do kill -0 "${pids[$name]}" 2>/dev/null || dead+=" $name"; done
  stop_all
  if [ -n "$dead" ]; then
    echo "  not measured: exited during the window:$dead (logs in the lines below)" >&2
    tail -n 2 "$logs"/*.log >&2 || true
    rm -rf /dev/shm/se."$inst".* /dev/shm/se."$inst"@*
    return 1
  fi

  local wall_s tps other cpu_args=() cpu_line total=0 v
  wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
  tps=$(awk -v n=$((tick1 - tick0)) -v a=$(((ta + t0) / 2)) -v b=$(((t1 + tb) / 2)) \
          'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')
  cpu_line=$(printf '%-16s' "$label")
  for name in ingest "${strategies[@]/#/strategyd.}" riskd execd; do
    v=$(awk -v a="${cpu0[$name]:-0}" -v b="${cpu1[$name]:-0}" -v hz="$clk_tck" -v w="$wall_s" \
          'BEGIN { printf "%.3f", (b - a) / hz / w }')
    cpu_args+=(--cpu "$name=$v")
    cpu_line+=$(printf ' %8s' "$v")
    total=$(awk -v t="$total" -v v="$v" 'BEGIN { printf "%.3f", t + v }')
  done
  # Everything else the host ran meanwhile (other users, this script): noise.
  other=$(awk -v a="$host0" -v b="$host1" -v hz="$clk_tck" -v w="$wall_s" -v t="$total" \
            'BEGIN { o = (b - a) / hz / w - t; printf "%.3f", o < 0 ? 0 : o }')
  cpu_line+=$(printf ' %8s %8s %10s' "$total" "$other" "$lag")
  local common=(-i "$inst" --from-ns "$t0" --to-ns "$t1" --rate "$rate" --label "$label"
                --spin-us "${spin:-$default_spin}" --ticks-per-s "$tps" --field "host_other_cpu=$other"
                --field "in_lag_end=$lag")
  local json row
  json=$("$report" "${common[@]}" "${cpu_args[@]}")
  row=$("$report" "${common[@]}" --row)
  rm -rf /dev/shm/se."$inst".* /dev/shm/se."$inst"@*
  runs+=("$json") rows+=("$row") cpu_rows+=("$cpu_line")
  echo "  $row"
  drops_at[$label]=$(printf '%s' "$json" | sed 's/.*"drops":\([0-9]*\).*/\1/')
  lag_at[$label]=$lag
  p50_at[$label]=$(printf '%s' "$json" | sed 's/.*"tick_to_order_p50_us":\([0-9.]*\|null\).*/\1/')
  reached_at[$label]=$(awk -v t="$tps" -v r="$rate" 'BEGIN { print (t >= 0.95 * r) ? 1 : 0 }')
}

default_spin=$(sed -n 's/^#define SHM_DEFAULT_IDLE_SPIN_US[[:space:]]*\([0-9]*\).*/\1/p' shm/settings.h 2>/dev/null)
default_spin=${default_spin:-20}
# Drop-free: no drop, and ingest published at least 95% of the asked rate.
# Sustained: drop-free and tick-to-order p50 under 1 ms -- a standing backlog
# raises the median, scheduling noise only the tail. A run can be drop-free
# only because its backlog stayed under one ring's worth for the window.
drop_free() { [ "${reached_at[$1]:-0}" = 1 ] && [ "${drops_at[$1]:-1}" = 0 ]; }
sustained() { drop_free "$1" && awk -v p="${p50_at[$1]:-null}" 'BEGIN { exit !(p != "null" && p + 0 < 1000) }'; }

best_free=0 best=0 worst_fail=0
judge() { # label rate
  if drop_free "$1" && (( $2 > best_free )); then best_free=$2; fi
  if sustained "$1"; then
    if (( $2 > best )); then best=$2; fi
  elif (( worst_fail == 0 || $2 < worst_fail )); then
    worst_fail=$2
  fi
}
for r in "${rates[@]}"; do
  run_pipeline "$r" "$r" "" || failed+=("$r")
  judge "$r" "$r"
done
# The highest sustained rate between the last good and the first failing one:
# at most two more runs from a ladder of round rates.
if (( worst_fail > best )); then
  for _ in 1 2; do
    pick=0
    for r in 300000 500000 200000 700000 150000 50000 30000; do
      if (( r > best && r < worst_fail )); then pick=$r; break; fi
    done
    (( pick > 0 )) || break
    run_pipeline "$pick" "$pick" "" || failed+=("$pick")
    if sustained "$pick"; then best=$pick; else worst_fail=$pick; fi
    if drop_free "$pick" && (( pick > best_free )); then best_free=$pick; fi
  done
fi
if [ "$compare" = 1 ]; then
  run_pipeline 100000 100000-spin0 0 || failed+=(100000-spin0)
  run_pipeline 100000 100000-spin100 100 || failed+=(100000-spin100)
fi

# ---- the result -------------------------------------------------------------

if [ ${#failed[@]} -gt 0 ]; then
  echo "bench_pipeline: not measured: ${failed[*]}; $json_out left as it was" >&2
  exit 1
fi
mkdir -p "$(dirname "$json_out")"
{
  printf '{"runs":['
  sep=""
  for j in "${runs[@]}"; do printf '%s%s' "$sep" "$j"; sep=","; done
  printf '],"highest_drop_free_rate":%s,"highest_sustained_rate":%s,"feed_max_records_per_s":%s,' \
    "$best_free" "$best" "$feed_max"
  printf '"seconds":%s,"default_spin_us":%s,"ncpu":%s}\n' "$secs" "$default_spin" "$(nproc)"
} > "$json_out"

echo
echo "== tick-to-order (ingest publishes the tick -> execd dequeues the order), µs; hops p50/p99"
"$report" --header
printf '%s\n' "${rows[@]}"
echo
echo "== CPU seconds per second of wall time; the slowest reader's lag on ring in at the end, records"
printf '%-16s %8s %8s %8s %8s %8s %8s %8s %8s %10s\n' run ingest momentum mkt_mkng scalping riskd execd total other "in lag"
printf '%s\n' "${cpu_rows[@]}"
echo
if (( best_free > 0 )); then
  echo "highest rate reached without drops: $best_free ticks/s (engine.idleSpinUs $default_spin, the default)"
  awk -v lag="${lag_at[$best_free]:-0}" -v r="$best_free" 'BEGIN { if (lag > r / 100)
    printf "  with a backlog: the slowest reader of in was %d records (%.0f ms of ticks) behind at the end\n", lag, lag * 1000 / r }'
  echo "highest sustained rate (drop-free, tick-to-order p50 under 1 ms): ${best/#0/none} ticks/s"
else
  echo "no rate ran without drops"
fi
echo "written: $json_out"
