#!/usr/bin/env bash
# test_users.sh -- engine.users: the supervisor, started as root, runs each
# kind of process as a user of its own, and file modes then keep the
# strategies' user away from what it must not touch. As that user (setpriv,
# the strategy's uid and groups) nothing can write ring ord or exe, move
# execd's position in ord's registry, signal riskd or execd, or use the
# supervisor's control socket, while the engine trades on; each attempt is
# paired with one that must succeed, so the checks cannot pass vacuously.
# Users and groups come from Debian's base-passwd (daemon, games, bin, sys;
# group users). Needs root; otherwise it says "skip".
. "$(dirname "$(readlink -f "$0")")/../deploy/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root: the supervisor starts each process as its engine.users user"
need setpriv
bindir=${SE_BIN_DIR:-$SRC/bin}
for p in strategy-engine ingest strategyd riskd execd shmtool; do
  [ -x "$bindir/$p" ] || skip "no $bindir/$p (run make)"
done
U_INGEST=daemon U_STRAT=games U_RISK=bin U_EXEC=sys GROUP=users
for u in $U_INGEST $U_STRAT $U_RISK $U_EXEC; do id "$u" >/dev/null 2>&1 || skip "no user $u here"; done
getent group $GROUP >/dev/null || skip "no group $GROUP here"

inst="t$$-users"
chmod 0755 "$TMP" # the engine's users read the config from here
conf=$TMP/users.conf
sed -e "s/instance = \"default\";/instance = \"$inst\"; shmGroup = \"$GROUP\";\
 users = { ingest = \"$U_INGEST\"; strategies = \"$U_STRAT\"; riskd = \"$U_RISK\"; execd = \"$U_EXEC\"; };/" \
    -e 's/^  enabled = true;/  enabled = false;/' \
    -e "s|pluginsDir = \"plugins\"|pluginsDir = \"$SRC/plugins\"|" "$SRC/etc/strategy-engine.conf" > "$conf"
grep -q "users = { ingest" "$conf" && grep -q '^  enabled = false;' "$conf" ||
  { fail "the template's engine or http lines changed: update this test"; finish; }
chmod 0644 "$conf"
seg=/dev/shm/se.$inst

"$bindir/strategy-engine" -c "$conf" 2> "$TMP/engine.log" &
sup=$!
stop_engine() { kill -TERM "$sup" 2>/dev/null; wait "$sup" 2>/dev/null; }

# Until execd has submitted orders (so every ring and registry exists), 60 s at most.
orders() { "$bindir/shmtool" stats execd -i "$inst" 2>/dev/null | awk '/^orders_submitted_total/ { s += $NF } END { print s + 0 }'; }
for _ in $(seq 1 600); do [ "$(orders)" -gt 0 ] && break; kill -0 $sup 2>/dev/null || break; sleep 0.1; done
if [ "$(orders)" -eq 0 ]; then
  fail "no orders within 60 s; the supervisor's log:"; tail -n 20 "$TMP/engine.log"
  stop_engine; finish
fi

# Each process runs as its role's user.
pid_of() { pgrep -f "$bindir/$1 -c $conf" | head -n1; }
for pair in ingest:$U_INGEST riskd:$U_RISK execd:$U_EXEC "strategyd:$U_STRAT"; do
  prog=${pair%%:*} want=${pair#*:}
  pid=$(pid_of "$prog")
  got=$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ')
  [ "$got" = "$want" ] || fail "$prog (pid ${pid:-none}) runs as '${got:-?}', not $want"
done

# The rings: the writer's user owns them, the group reads, nobody else.
check_mode() { # path owner group mode
  local got; got=$(stat -c '%U %G %a' "$1" 2>/dev/null)
  [ "$got" = "$2 $3 $4" ] || fail "$1 is '${got:-missing}', expected '$2 $3 $4'"
}
check_mode "$seg.in" $U_INGEST $GROUP 640
check_mode "$seg.exe" $U_EXEC $GROUP 640
check_mode "$seg.ord" $U_RISK $GROUP 640
check_mode "$seg.sig.momentum" $U_STRAT $GROUP 640
check_mode "/dev/shm/se.$inst@bcast/exe" $U_EXEC $GROUP 660
check_mode "/dev/shm/se.$inst@spsc/ord" $U_RISK "$(id -gn $U_EXEC)" 660

# as USER CMD...: runs CMD with that user's uid, primary group and the engine's group.
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --groups="$(getent group $GROUP | cut -d: -f3)" "$@"; }
opens() { # as USER MODE FILE: can USER open FILE (r or rw)?
  local redir='<'; [ "$2" = rw ] && redir='<>'
  as "$1" bash -c "exec 3$redir'$3'" 2>/dev/null
}
# What a strategy's user must be able to do (or the checks below prove nothing) ...
opens $U_STRAT r "$seg.in" || fail "the strategies' user cannot even read ring in"
opens $U_STRAT rw "/dev/shm/se.$inst@bcast/exe" || fail "the strategies' user cannot register as a reader of exe"
opens $U_EXEC rw "/dev/shm/se.$inst@spsc/ord" || fail "execd's user cannot use ord's registry"
# ... and what it must not.
opens $U_STRAT rw "$seg.ord" && fail "the strategies' user opened ring ord for writing"
opens $U_STRAT rw "$seg.exe" && fail "the strategies' user opened ring exe for writing"
opens $U_STRAT rw "$seg.in" && fail "the strategies' user opened ring in for writing"
opens $U_STRAT rw "/dev/shm/se.$inst@spsc/ord" && fail "the strategies' user opened ord's registry (execd's position)"
as $U_STRAT rm -f "/dev/shm/se.$inst@spsc/ord" 2>/dev/null
[ -e "/dev/shm/se.$inst@spsc/ord" ] || fail "the strategies' user removed ord's registry"
for prog in riskd execd ingest; do
  as $U_STRAT kill -0 "$(pid_of $prog)" 2>/dev/null && fail "the strategies' user may signal $prog"
done
as $U_STRAT "$bindir/strategy-engine" -c "$conf" stop > "$TMP/stop.out" 2>&1
kill -0 $sup 2>/dev/null || fail "the strategies' user stopped the engine through the control socket"
# ... and the engine trades on.
before=$(orders)
for _ in $(seq 1 100); do [ "$(orders)" -gt "$before" ] && break; sleep 0.1; done
[ "$(orders)" -gt "$before" ] || fail "no new orders after the attempts"

stop_engine
ls "$seg".* >/dev/null 2>&1 && fail "segments of $inst left after the stop: $(ls "$seg".*)"
ls -d /dev/shm/se.$inst@* >/dev/null 2>&1 && fail "registry directories of $inst left: $(ls -d /dev/shm/se.$inst@*)"
rm -rf "$seg".* /dev/shm/se.$inst@*
finish
