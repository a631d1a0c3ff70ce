#!/usr/bin/env bash
# Installs the Debian packages the engine needs to build, test and benchmark.
# Called by `make deps` (and so by every other target); a warm machine skips apt.
set -euo pipefail

# One line per package; the comment says which part of the tree needs it.
PACKAGES=(
  gcc make pkg-config   # the build
  libconfig-dev         # common/config
  libjsmn-dev           # ingest: JSON tokenizer of the validator
  check                 # unit tests
  valgrind              # make valgrind
  libzmq3-dev           # bench: ZeroMQ baseline of bench-ring
  libuv1-dev            # ingest: event loop of the Redis and NATS feeds
  libhiredis-dev        # ingest: Redis market data
  libnats-dev           # ingest: NATS fills and positions
  libgrpc-dev           # execd and venue-sim: gRPC core C API
  libprotobuf-c-dev protobuf-c-compiler   # proto/execution.proto
  libmicrohttpd-dev     # every process: /health and /metrics
  libsystemd-dev        # every process: sd_notify READY and WATCHDOG
  libpython3-dev        # strategyd: Python strategies
  libseccomp-dev        # strategyd: the seccomp filter confining strategy code (strategyd/sandbox.c)
  golang-go             # plugins/go: the Go example strategy
  redis-server nats-server   # live-mode tests start their own servers
  prometheus            # promtool and the Prometheus integration test
  python3-grpcio python3-redis   # independent peers in interoperability tests
  systemd               # systemd-analyze verify of deploy/systemd
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: run as root: apt-get update && $cmd" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A bare machine has no package lists yet; update once, then install.
apt-get update -qq
$cmd -qq
