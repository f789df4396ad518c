#!/usr/bin/env bash
# The MLflow compatibility matrix: for each MLflow version, a venv of its own (.compat/mlflow-<version>) with
# mlflow[auth]==<version> and the plugin's test extras, and in it: the plugin contract (entry point, the
# `mlflow deployments` CLI, and mlflow-skinny alone at that version in a venv of its own), the client's lifecycle
# against the emulator (create, predict through served models, pods, update, delete), MLflow's Dockerfile
# generation, and one real image build (scanned, built, pushed, deployed and served). The newest MLflow is the
# main suite's (./build.sh test). Prints what each version cost.
#   usage: tools/compat-matrix.sh [VERSION...]      (default: the versions in COMPAT_VERSIONS below)
set -euo pipefail
cd "$(dirname "$0")/.."
COMPAT_VERSIONS=(3.11.1 3.13.0)
TESTS=(
    tests/client/test_plugin.py
    tests/client/test_deployments.py
    tests/image/test_keys.py
    tests/image/test_images.py::test_the_first_deployment_builds_pushes_and_serves
)
[ $# -gt 0 ] && COMPAT_VERSIONS=("$@")
summary=()
for version in "${COMPAT_VERSIONS[@]}"; do
    venv=.compat/mlflow-$version
    started=$(date +%s)
    [ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow[auth]==$version" -e ".[test]"
    "$venv/bin/python" -c "import mlflow, sys; assert mlflow.__version__ == sys.argv[1], mlflow.__version__" "$version"
    installed=$(date +%s)
    # The venv's own mlflow first; trivy from the main venv (./build.sh test installed it).
    PATH="$PWD/$venv/bin:$PWD/.venv/bin:$PATH" TCDEPLOY_TRIVY_BIN="$PWD/.venv/bin/trivy" \
        "$venv/bin/python" -m pytest -p no:cacheprovider -q "${TESTS[@]}"
    done_at=$(date +%s)
    summary+=("mlflow $version: install $((installed - started)) s, tests $((done_at - installed)) s")
done
printf 'compat-matrix: %s\n' "${summary[@]}"
