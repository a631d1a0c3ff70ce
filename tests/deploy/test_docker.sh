#!/usr/bin/env bash
# test_docker.sh -- the Dockerfile, read without Docker (no container can run
# here): base image and entry point, the paths it relies on (config, plugins,
# the supervisor install.sh installs), a .dockerignore that hides no source,
# and the runtime package list it computes, run on this machine's build.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
need dpkg-query ldd
df="$SRC/Dockerfile"
[ -f "$df" ] || { fail "no Dockerfile"; finish; }
bindir=${SE_BIN_DIR:-$SRC/bin}

instr() { grep -E "^$1[[:space:]]" "$df"; } # instr KEYWORD: that instruction's lines
[ "$(instr FROM | head -n1 | awk '{print $2}')" = "debian:12" ] || fail "the build stage is not FROM debian:12"
instr FROM | tail -n1 | grep -q "debian:12" || fail "the runtime stage is not Debian 12 (the libraries must match the build)"
instr RUN | grep -q "tools/deps.sh" || fail "the build does not install dependencies with tools/deps.sh"
instr ENV | grep -q "CONFIG_PATH=/etc/strategy-engine/strategy-engine.conf" || fail "CONFIG_PATH is not the mounted config"
instr WORKDIR | tail -n1 | grep -q "/opt/strategy-engine$" ||
  fail "WORKDIR is not /opt/strategy-engine: engine.pluginsDir = \"plugins\" would miss the mounted plugins"
instr CMD | grep -q '"/opt/strategy-engine/bin/strategy-engine"' || fail "CMD does not run the supervisor"
instr USER | grep -qv root || fail "the engine runs as root"
# Every COPY from the context names a file that exists.
while read -r src; do
  [ -e "$SRC/$src" ] || fail "COPY $src: no such file in the source tree"
done < <(instr COPY | grep -v -- "--from" | awk '{ for (i = 2; i < NF; i++) print $i }')

# The supervisor is another branch's program: checked once it is built.
if [ -x "$bindir/strategy-engine" ]; then
  DESTDIR="$TMP/stage" "$SRC/deploy/install.sh" "$bindir" >/dev/null
  [ -x "$TMP/stage/opt/strategy-engine/bin/strategy-engine" ] || fail "install.sh does not install bin/strategy-engine"
else
  echo "$TEST: skip: $bindir/strategy-engine (the supervisor, CMD) is not built on this tree"
fi

# .dockerignore must not hide sources (a `**/*.d` rule would drop the units'
# drop-in directory and break install.sh in the build).
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$SRC" ls-files > "$TMP/tracked"
  /usr/bin/python3 - "$SRC/.dockerignore" "$TMP/tracked" <<'PY' || fail ".dockerignore hides tracked files"
import fnmatch, re, sys
pats = [l.strip() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
def hides(pat, path):
    rx = "^" + re.escape(pat).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]") + "(/.*)?$"
    return re.match(rx, path) is not None
bad = [p for p in open(sys.argv[2]).read().split() if not p.startswith(".git") and any(hides(q, p) for q in pats if not q.startswith("!"))]
for p in bad:
    print("  hidden from the build:", p)
sys.exit(1 if bad else 0)
PY
else
  echo "$TEST: skip: .dockerignore check needs a git checkout"
fi

# The runtime stage installs what runtime-packages.sh prints: it must resolve
# every library of this build, and name run-time packages only.
if [ -x "$bindir/riskd" ]; then
  files=("$bindir"/ingest "$bindir"/strategyd "$bindir"/riskd "$bindir"/execd "$bindir"/shmtool)
  for so in "$SRC"/plugins/*.so; do [ -e "$so" ] && files+=("$so"); done
  pkgs=$("$SRC/deploy/docker/runtime-packages.sh" "${files[@]}") || fail "runtime-packages.sh failed"
  grep -qx libc6 <<<"$pkgs" || fail "runtime packages lack libc6: $pkgs"
  grep -qx 'libconfig[0-9]*' <<<"$pkgs" || fail "runtime packages lack libconfig: $pkgs"
  for p in $pkgs; do
    case $p in *-dev) fail "runtime package $p is a development package" ;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || fail "runtime package $p is not a package here"
  done
else
  echo "$TEST: skip: runtime packages: no built programs in $bindir"
fi
finish
