#!/usr/bin/env bash
# Project tasks. Each makes ./.venv (with the python3 on PATH, or $PYTHON) and installs what it needs.
#   ./build.sh test [pytest args]   install the package with its test extras, start a Docker engine and registry
#                                   (tools/docker-engine.sh), run ruff (lint and format), mypy and every test
#   ./build.sh compat [VERSION...]  the MLflow compatibility matrix (tools/compat-matrix.sh): the contract, the
#                                   lifecycle and an image build with each older MLflow the plugin supports
#   ./build.sh demo                 the whole flow on the embedded emulator: train, register, scan, deploy,
#                                   predict, logs, scale, delete (with the `mlflow deployments` CLI)
#   ./build.sh lint                 ruff check, ruff format --check and mypy
#   ./build.sh bench [--quick]      every benchmark, side by side with its baseline: a table, and benchmarks/results.json
#   ./build.sh emulator [args]      run `tcdeploy emulator` from the venv
#   ./build.sh ui                   the release pages in MLflow's server (basic-auth) on the embedded emulator, with a
#                                   registered model: open the printed address and release it
set -euo pipefail
cd "$(dirname "$0")"

venv() {
    if [ ! -x .venv/bin/python ]; then
        "${PYTHON:-python3}" -m venv .venv
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
}

task=${1:-}
[ $# -gt 0 ] && shift
case "$task" in
    test)
        venv
        # The Trivy tests need the real binary (installed for the test run only; the package never depends on it).
        PYTHON=.venv/bin/python tools/install-trivy.sh .venv/bin
        # The image tests need a Docker engine, a base image and a registry: started here where the machine allows
        # (root, Debian); elsewhere they skip, and under CI they fail.
        if engine=$(tools/docker-engine.sh .venv/bin/python); then eval "$engine"; fi
        # The release pages are tested in Debian's headless Chromium (driven by Playwright).
        tools/install-chromium.sh || true
        .venv/bin/ruff check .
        .venv/bin/ruff format --check .
        .venv/bin/mypy
        .venv/bin/python -m pytest "$@"
        ;;
    compat)
        venv
        PYTHON=.venv/bin/python tools/install-trivy.sh .venv/bin
        if engine=$(tools/docker-engine.sh .venv/bin/python); then eval "$engine"; fi
        tools/compat-matrix.sh "$@"
        ;;
    demo)
        venv
        PYTHON=.venv/bin/python tools/install-trivy.sh .venv/bin
        PATH="$PWD/.venv/bin:$PATH" demo/run.sh
        ;;
    bench)
        venv
        # Figure 3 (an unchanged redeploy with the gate and the image builder) needs trivy, an engine and a registry.
        PYTHON=.venv/bin/python tools/install-trivy.sh .venv/bin
        if engine=$(tools/docker-engine.sh .venv/bin/python); then eval "$engine"; fi
        .venv/bin/python -m benchmarks "$@"
        ;;
    lint)
        venv
        .venv/bin/ruff check .
        .venv/bin/ruff format --check .
        .venv/bin/mypy
        ;;
    emulator)
        venv
        exec .venv/bin/tcdeploy emulator "$@"
        ;;
    ui)
        venv
        PYTHON=.venv/bin/python tools/install-trivy.sh .venv/bin
        PATH="$PWD/.venv/bin:$PATH" exec demo/ui.sh
        ;;
    *)
        sed -n '2,14p' "$0"
        exit 2
        ;;
esac
