#!/usr/bin/env bash
# A Docker engine, a Python base image and a registry on 127.0.0.1:5000 for the image tests, on a Debian machine
# as root, with no Docker Hub: Debian's docker.io and docker-registry, a base image made with debootstrap and tagged
# as the python:<version>-slim MLflow's Dockerfiles ask for. Idempotent: what runs already is reused.
# Prints one line on stdout, `export DOCKER_HOST=…`; progress goes to stderr. Exit 1 when it cannot be done here.
#   usage: eval "$(tools/docker-engine.sh [PYTHON])"      (PYTHON: whose version the base image is tagged for)
set -euo pipefail
W=${TCDEPLOY_DOCKER_DIR:-${TMPDIR:-/tmp}/tcdeploy-docker}
PYTHON=${1:-python3}
SOCKET="unix://$W/docker.sock"
say() { printf 'docker-engine: %s\n' "$*" >&2; }

if [ -n "${DOCKER_HOST:-}" ] && docker info >/dev/null 2>&1 && curl -sf http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
    say "using the engine at DOCKER_HOST=$DOCKER_HOST and the registry on 127.0.0.1:5000"
    echo "export DOCKER_HOST=$DOCKER_HOST"
    exit 0
fi
if DOCKER_HOST=$SOCKET docker info >/dev/null 2>&1 && curl -sf http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
    say "engine and registry already running ($SOCKET)"
    echo "export DOCKER_HOST=$SOCKET"
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "needs root and apt-get to install an engine; image tests will not run here (under CI they fail)"
    exit 1
fi
mkdir -p "$W"
start=$(date +%s)
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || ! [ -x /usr/bin/docker-registry ]; then
    say "installing docker.io, debootstrap, docker-registry"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        docker.io debootstrap docker-registry ca-certificates curl >"$W/apt.log" 2>&1 \
        || { apt-get update -q >>"$W/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends docker.io debootstrap docker-registry ca-certificates curl >>"$W/apt.log" 2>&1; } \
        || { say "apt-get failed, see $W/apt.log"; exit 1; }
fi

if ! DOCKER_HOST=$SOCKET docker info >/dev/null 2>&1; then
    nohup /usr/sbin/dockerd -H "$SOCKET" --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/dockerd.pid" \
        --storage-driver overlay2 >"$W/dockerd.log" 2>&1 &
    for _ in $(seq 1 240); do DOCKER_HOST=$SOCKET docker info >/dev/null 2>&1 && break; sleep 0.25; done
    DOCKER_HOST=$SOCKET docker info >/dev/null 2>&1 || { say "dockerd did not start, see $W/dockerd.log"; exit 1; }
    say "engine ready ($SOCKET)"
fi
export DOCKER_HOST=$SOCKET

if ! curl -sf http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
    cat >"$W/registry.yml" <<EOF
version: 0.1
storage: {filesystem: {rootdirectory: $W/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:5000}
EOF
    nohup /usr/bin/docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
    for _ in $(seq 1 100); do curl -sf http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && break; sleep 0.1; done
    curl -sf http://127.0.0.1:5000/v2/ >/dev/null || { say "the registry did not start, see $W/registry.log"; exit 1; }
    say "registry ready on 127.0.0.1:5000"
fi

if ! docker image inspect local/debian:bookworm >/dev/null 2>&1; then
    say "building a Debian base image with debootstrap (Docker Hub is not reachable)"
    [ -x "$W/rootfs/bin/sh" ] || debootstrap --variant=minbase bookworm "$W/rootfs" http://deb.debian.org/debian \
        >"$W/debootstrap.log" 2>&1 || { say "debootstrap failed, see $W/debootstrap.log"; exit 1; }
    rm -rf "$W"/rootfs/var/cache/apt/archives/*.deb "$W"/rootfs/var/lib/apt/lists/*
    tar -C "$W/rootfs" -c . | docker import - local/debian:bookworm >/dev/null
fi
version=$("$PYTHON" -c 'import platform; print(platform.python_version())')
if ! docker image inspect "python:$version-slim" >/dev/null 2>&1; then
    say "building a Python base image, tagged python:$version-slim"
    context="$W/python-base"
    mkdir -p "$context"
    # Only Debian's CA certificates: a network that intercepts TLS must be trusted through the ca_bundle option.
    cat >"$context/Dockerfile" <<'EOF'
FROM local/debian:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv python3-pip \
    ca-certificates \
 && rm -rf /var/lib/apt/lists/* && python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_DISABLE_PIP_VERSION_CHECK=1
EOF
    docker build -q -t local/python:bookworm "$context" >"$W/python-base.log" 2>&1 \
        || { say "the Python base image did not build, see $W/python-base.log"; exit 1; }
    docker tag local/python:bookworm "python:$version-slim"
    docker tag local/python:bookworm "python:${version%.*}-slim"
fi
say "ready in $(( $(date +%s) - start ))s"
echo "export DOCKER_HOST=$SOCKET"
