#!/usr/bin/env bash
# runtime-packages.sh -- prints, one per line, the Debian packages that own the
# shared libraries the given programs and plugins load (ldd), so the
# Dockerfile's runtime image installs exactly those and none of the build
# tools. Fails naming the library when one is missing or owned by no package.
# Usage: deploy/docker/runtime-packages.sh FILE...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: runtime-packages.sh FILE..." >&2; exit 2; }
deps=$(ldd "$@")
if grep -q "not found" <<<"$deps"; then
  echo "runtime-packages: unresolved libraries:" >&2
  grep "not found" <<<"$deps" >&2
  exit 1
fi
# Debian 12 merged /lib into /usr/lib, but dpkg still knows each file by the
# path its package ships: try both spellings and the resolved one.
owner() {
  local lib=$1 p
  for p in "$lib" "/usr${lib#/usr}" "${lib#/usr}" "$(readlink -f "$lib")"; do
    dpkg-query -S "$p" 2>/dev/null | grep -v '^diversion' | head -n1 | cut -d: -f1 && return 0
  done
  return 1
}
awk '$2 == "=>" && $3 ~ /^\// { print $3 }' <<<"$deps" | sort -u | while read -r lib; do
  owner "$lib" || { echo "runtime-packages: no Debian package owns $lib" >&2; exit 1; }
done | sort -u
