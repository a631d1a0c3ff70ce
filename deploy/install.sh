#!/usr/bin/env bash
# install.sh -- installs a built engine for systemd: programs and plugins in
# /opt/strategy-engine, units in /etc/systemd/system, the system user, and the
# example config as /etc/strategy-engine/strategy-engine.conf (never over an
# existing one). README "Production with systemd" walks through it; the
# deploy tests install with DESTDIR into a temporary root.
# Usage: deploy/install.sh [BIN_DIR]        (run `make` first; default: bin)
#        DESTDIR=/tmp/root deploy/install.sh  (stage only: touches nothing live)
set -euo pipefail
src=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
bin=${1:-$src/bin}
root=${DESTDIR:-}
prefix=/opt/strategy-engine
units=/etc/systemd/system

die() { echo "install.sh: $*" >&2; exit 1; }
programs=(ingest strategyd riskd execd shmtool)
for p in "${programs[@]}"; do
  [ -x "$bin/$p" ] || die "$bin/$p missing: run make first"
done
# The supervisor (bin/strategy-engine) is installed when built: systemd does
# not need it, the container does.
[ -x "$bin/strategy-engine" ] && programs+=(strategy-engine)

install -d "$root$prefix/bin" "$root$prefix/plugins" "$root$units" "$root/etc/sysusers.d"
for p in "${programs[@]}"; do install -m 0755 "$bin/$p" "$root$prefix/bin/$p"; done
shopt -s nullglob
for so in "$src"/plugins/*.so; do install -m 0644 "$so" "$root$prefix/plugins/"; done
install -m 0644 "$src/README.md" "$root$prefix/README.md"

for u in "$src"/deploy/systemd/*.service "$src"/deploy/systemd/*.target; do
  install -m 0644 "$u" "$root$units/"
done
install -d "$root$units/strategy-engine-.service.d"
install -m 0644 "$src"/deploy/systemd/strategy-engine-.service.d/*.conf "$root$units/strategy-engine-.service.d/"
install -m 0644 "$src/deploy/systemd/strategy-engine.sysusers" "$root/etc/sysusers.d/strategy-engine.conf"

# The config belongs to the operator once installed: root writes it, the
# engine's group reads it.
conf=/etc/strategy-engine/strategy-engine.conf
install -d -m 0750 "$root/etc/strategy-engine"
if [ ! -e "$root$conf" ]; then
  # The units' users and group (strategy-engine.sysusers), named in the config
  # so that each process trusts the rings of the others.
  sed -e 's/^  # shmGroup = .*/  shmGroup = "strategy-engine";\
  users = { ingest = "se-ingest"; strategies = "se-strategy"; riskd = "se-risk"; execd = "se-exec"; };/' \
    "$src/etc/strategy-engine.conf" > "$root$conf.new"
  grep -q '^  users = { ingest = "se-ingest"' "$root$conf.new" || die "etc/strategy-engine.conf has no shmGroup line to fill in"
  chmod 0640 "$root$conf.new"
  mv "$root$conf.new" "$root$conf"
  echo "installed the example config as $root$conf: review it (engine.mode; engine.users and shmGroup are the units')"
fi

if [ -n "$root" ]; then
  echo "staged into $root"
  exit 0
fi
systemd-sysusers /etc/sysusers.d/strategy-engine.conf
chgrp strategy-engine /etc/strategy-engine "$conf"
[ -d /run/systemd/system ] && systemctl daemon-reload
echo "installed. To run the engine at boot:"
echo "  systemctl enable strategy-engine.target"
echo "  systemctl enable strategy-engine-strategy@NAME.service   # each NAME of strategies.enabled in $conf"
echo "  systemctl start strategy-engine.target"
