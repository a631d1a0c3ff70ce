# Dockerfile -- the engine in a container: built on Debian 12 with the
# project's own dependency script and Makefile, run by the supervisor
# (bin/strategy-engine) with the config and the plugins mounted.
#
#   docker build -t strategy-engine .
#   docker run -d --name se --shm-size=256m --stop-timeout=30 \
#     -v /srv/se/strategy-engine.conf:/etc/strategy-engine/strategy-engine.conf:ro \
#     -v /srv/se/plugins:/opt/strategy-engine/plugins:ro \
#     -p 127.0.0.1:9092:9092 strategy-engine
#
# - /dev/shm holds every ring: Docker's default 64 MB is too small to be safe
#   (the shipped config maps 47 MiB, and a process touching a ring page the
#   full tmpfs cannot back dies of SIGBUS). Size it above the sum of the
#   configured rings.
# - Processes in several containers must share /dev/shm AND pids: start the
#   first with --ipc=shareable, the others with --ipc=container:se
#   --pid=container:se (readers judge a ring's writer alive by its pid).
# - The endpoints bind 127.0.0.1 unless the mounted config sets
#   http.bind = "0.0.0.0"; only then do published ports (-p) and an outside
#   Prometheus reach them. The healthcheck asks riskd's /health from inside.
# - The mounted plugins directory replaces the built example plugins; the
#   config's engine.pluginsDir = "plugins" resolves to it (WORKDIR).

FROM debian:12 AS build
WORKDIR /src
# Dependencies first, in their own layer: rebuilt only when the list changes.
COPY tools/deps.sh tools/deps.sh
RUN tools/deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make \
 && DESTDIR=/stage deploy/install.sh bin \
 && deploy/docker/runtime-packages.sh /stage/opt/strategy-engine/bin/* /stage/opt/strategy-engine/plugins/*.so \
      > /stage/runtime-packages.txt

FROM debian:12-slim
# The shared libraries the programs and plugins load (nothing else from the
# build), tini as PID 1 (forwards SIGTERM, reaps), curl for the healthcheck.
COPY --from=build /stage/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini curl $(cat /tmp/runtime-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && useradd --system --user-group --no-create-home --home-dir /opt/strategy-engine \
      --shell /usr/sbin/nologin strategy-engine
COPY --from=build /stage/opt/strategy-engine /opt/strategy-engine
COPY --from=build --chown=root:strategy-engine /stage/etc/strategy-engine /etc/strategy-engine

ENV CONFIG_PATH=/etc/strategy-engine/strategy-engine.conf
WORKDIR /opt/strategy-engine
USER strategy-engine
# ingest, riskd, execd, then one port per strategy (strategyd.httpBasePort + index).
EXPOSE 9091 9092 9093 9100-9102
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD curl -fsS --max-time 2 http://127.0.0.1:9092/health >/dev/null || exit 1
# The supervisor stops strategies first, then riskd, execd and ingest.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["/opt/strategy-engine/bin/strategy-engine"]
