#!/usr/bin/env bash
# test_run_live.sh -- `make run-live` does what README "Live mode" says:
# tools/run_live.sh on a copy of etc/strategy-engine-live.conf (an instance of
# its own, HTTP off so no port collides) shows orders reaching venue-sim and
# every venue fill booked by riskd over NATS; SIGTERM (as Ctrl-C) then stops every
# process it started and removes the segments and its scratch directory.
. "$(dirname "$(readlink -f "$0")")/../deploy/lib.sh"
need redis-server nats-server
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed (run_live.sh picks ports with it)"
bindir=${SE_BIN_DIR:-$SRC/bin}
for p in ingest strategyd riskd execd venue-sim md-publisher shmtool; do
  [ -x "$bindir/$p" ] || skip "no $bindir/$p (run make)"
done
inst="t$$-runlive"
sed -e "s/instance = \"live\"/instance = \"$inst\"/" -e 's/enabled = true; bind/enabled = false; bind/' \
    -e "s|pluginsDir = \"plugins\"|pluginsDir = \"$SRC/plugins\"|" \
    "$SRC/etc/strategy-engine-live.conf" > "$TMP/live.conf"
if ! grep -q "instance = \"$inst\"" "$TMP/live.conf" || ! grep -q 'enabled = false; bind' "$TMP/live.conf"; then
  fail "the template's instance or http lines changed: update this test"; finish
fi

(cd "$SRC" && RATE=200 exec tools/run_live.sh "$TMP/live.conf" "$bindir") > "$TMP/view.txt" 2>&1 &
script=$!
# Polls the view (one frame a second) until the venue has orders and riskd has
# booked as many fills as the venue made, 60 s at most.
venue_line=""
for _ in $(seq 1 600); do
  venue_line=$(grep '^  venue-sim :' "$TMP/view.txt" | tail -n1)
  if [[ $venue_line =~ orders\ ([0-9]+).*fills\ ([0-9]+).*booked\ by\ riskd:\ ([0-9]+) ]] &&
     [ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[2]}" -gt 0 ] &&
     [ "${BASH_REMATCH[2]}" = "${BASH_REMATCH[3]}" ]; then
    break
  fi
  kill -0 "$script" 2>/dev/null || break
  sleep 0.1
done
echo "$TEST: $venue_line"
if ! [[ $venue_line =~ orders\ ([1-9][0-9]*).*fills\ ([1-9][0-9]*).*booked\ by\ riskd:\ ([0-9]+) ]] ||
   [ "${BASH_REMATCH[2]}" != "${BASH_REMATCH[3]}" ]; then
  fail "no orders at the venue with every fill booked by riskd; the view said: ${venue_line:-nothing}"
  tail -n 20 "$TMP/view.txt"
fi
scratch=$(sed -n 's/.*files: \(\/tmp\/strategy-engine-live\.[A-Za-z0-9]*\).*/\1/p' "$TMP/view.txt" | tail -n1)

# SIGTERM, which run_live.sh handles like Ctrl-C's SIGINT: a background job
# of a script starts with SIGINT ignored, and bash cannot trap it then.
kill -TERM "$script"
for _ in $(seq 1 300); do kill -0 "$script" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$script" 2>/dev/null; then
  fail "run_live.sh did not stop within 30 s of SIGTERM"; kill -KILL "$script"
fi
wait "$script"; rc=$?
[ "$rc" = 0 ] || fail "run_live.sh exited $rc after SIGTERM"
[ -n "$scratch" ] || fail "the view never named its scratch directory"
if [ -n "$scratch" ]; then
  [ ! -e "$scratch" ] || fail "$scratch was not removed"
  mapfile -t left < <(pgrep -f "$scratch")
  [ ${#left[@]} = 0 ] || { fail "processes of the run still running: ${left[*]}"; kill "${left[@]}" 2>/dev/null; }
fi
ls /dev/shm/se."$inst".* >/dev/null 2>&1 && { fail "segments of $inst left"; rm -f /dev/shm/se."$inst".*; }
finish
