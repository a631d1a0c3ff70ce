#!/usr/bin/env bash
# test_systemd.sh -- the systemd units of deploy/systemd: installs them with
# deploy/install.sh into a temporary root, points their paths there, and runs
# `systemd-analyze verify` on every unit (any warning fails: verify only warns
# about unknown keys and bad values), checks the sysusers entry and holds the
# sandbox to an exposure level (`systemd-analyze security --offline`).
# Works as root or not, with or without systemd as PID 1.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
need systemd-analyze systemd-sysusers
bindir=${SE_BIN_DIR:-$SRC/bin}
[ -x "$bindir/riskd" ] || skip "no built programs in $bindir (run make)"

DESTDIR="$TMP/root" "$SRC/deploy/install.sh" "$bindir" >/dev/null || { fail "deploy/install.sh"; finish; }
units="$TMP/root/etc/systemd/system"
# The units name /opt/strategy-engine and /etc/strategy-engine; verify wants
# ExecStart's program to exist, so send them into the staged root.
find "$units" -type f -exec sed -i "s#/opt/strategy-engine#$TMP/root/opt/strategy-engine#g; s#/etc/strategy-engine#$TMP/root/etc/strategy-engine#g" {} +

expected="strategy-engine.target strategy-engine-ingest.service strategy-engine-execd.service
          strategy-engine-riskd.service strategy-engine-strategy@.service"
for u in $expected; do [ -f "$units/$u" ] || fail "$u not installed"; done

# verify UNIT...: passes when systemd-analyze exits 0 and says nothing.
verify() {
  local out
  out=$(cd "$units" && systemd-analyze verify --man=no "$@" 2>&1)
  local rc=$?
  [ $rc -eq 0 ] && [ -z "$out" ] && return 0
  printf '%s\n' "$out" | sed 's/^/    /'
  return 1
}

# The template is verified as an instance, the way it runs.
for u in strategy-engine.target strategy-engine-ingest.service strategy-engine-execd.service \
         strategy-engine-riskd.service strategy-engine-strategy@momentum.service; do
  verify "$units/$u" || fail "systemd-analyze verify $u"
done

# The check must be able to fail: a bad value in a unit and in the shared
# drop-in (whose settings every unit takes) are both reported.
mkdir -p "$TMP/bad/strategy-engine-.service.d"
sed 's/^ExecStart=.*/&\nType=notfy/' "$units/strategy-engine-riskd.service" > "$TMP/bad/strategy-engine-riskd.service"
sed 's/^WatchdogSec=.*/WatchdogSec=soon/' "$units/strategy-engine-.service.d/50-engine.conf" \
  > "$TMP/bad/strategy-engine-.service.d/50-engine.conf"
out=$(cd "$TMP/bad" && systemd-analyze verify --man=no "$TMP/bad/strategy-engine-riskd.service" 2>&1)
grep -q "notfy" <<<"$out" || fail "verify did not report a bad Type= (got: $out)"
grep -q "soon" <<<"$out" || fail "verify did not read the shared drop-in (got: $out)"

# What every engine unit must have, after the drop-in: the contract with the
# processes (notify, watchdog) and the shared /dev/shm.
dropin="$units/strategy-engine-.service.d/50-engine.conf"
for want in "Type=notify" "NotifyAccess=main" "WatchdogSec=" "Restart=on-failure" "StartLimitBurst=" \
            "ReadWritePaths=/dev/shm" "RemoveIPC=no" "ProtectSystem=strict" "SystemCallFilter=@system-service"; do
  grep -q "^$want" "$dropin" || fail "50-engine.conf lacks $want"
done
for bad in PrivateDevices PrivateIPC PrivateUsers; do
  grep -qE "^$bad=(yes|true|1)" "$units"/*.service "$dropin" && fail "$bad= would hide the processes' /dev/shm or group from each other"
done

# The sandbox may only get tighter: every service at exposure 2.0 or less
# (1.7 when written; 0 is best, 10 an unprotected service). The review reads
# the drop-in too.
for u in strategy-engine-ingest.service strategy-engine-execd.service strategy-engine-riskd.service \
         strategy-engine-strategy@momentum.service; do
  level=$(cd "$units" && systemd-analyze security --offline=yes "$units/$u" 2>&1 |
          sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if [ -z "$level" ]; then fail "$u: systemd-analyze security gave no exposure level"
  elif ! awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then fail "$u: exposure $level, above 2.0"
  fi
done

# The system user: sysusers accepts the entry (dry run in a scratch root).
mkdir -p "$TMP/users/etc"
cp /etc/passwd /etc/group "$TMP/users/etc/"
out=$(systemd-sysusers --dry-run --root="$TMP/users" "$TMP/root/etc/sysusers.d/strategy-engine.conf" 2>&1) ||
  fail "systemd-sysusers rejects strategy-engine.conf: $out"
for u in se-ingest se-strategy se-risk se-exec; do
  grep -q "user '$u'" <<<"$out" || fail "sysusers entry does not create user $u: $out"
done
# Each unit runs as its own user; the installed config names the same ones.
for pair in ingest:se-ingest strategy@:se-strategy riskd:se-risk execd:se-exec; do
  grep -q "^User=${pair#*:}$" "$units/strategy-engine-${pair%%:*}.service" ||
    fail "strategy-engine-${pair%%:*}.service does not run as ${pair#*:}"
done
grep -q "^SupplementaryGroups=strategy-engine se-exec" "$units/strategy-engine-riskd.service" ||
  fail "riskd's unit is not in execd's group (it gives ring ord's registry to it)"
grep -q '^  users = { ingest = "se-ingest"; strategies = "se-strategy"; riskd = "se-risk"; execd = "se-exec"; };' \
  "$TMP/root/etc/strategy-engine/strategy-engine.conf" || fail "the installed config does not name the units' users"
finish
