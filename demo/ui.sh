#!/usr/bin/env bash
# The release pages on one machine: the embedded emulator, a registered scikit-learn model, and
# `mlflow server --app-name tcdeploy` (MLflow's basic-auth plus the pages). Run through `./build.sh ui`; Ctrl-C stops.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tcdeploy-ui.XXXXXX")
port=${TCDEPLOY_UI_PORT:-5055}
emulator_pid=""

cleanup() {
    if [ -n "$emulator_pid" ] && kill -0 "$emulator_pid" 2>/dev/null; then
        kill -TERM "$emulator_pid"
        wait "$emulator_pid" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

export MLFLOW_TRACKING_URI="sqlite:///$work/mlflow.db"
(cd "$work" && python "$here/train.py" demo_iris) 2> "$work/train.log" || { cat "$work/train.log"; exit 1; }
tcdeploy emulator --port 0 --data-dir "$work/emulator" --new-delay 1 > "$work/env.sh" 2> "$work/emulator.log" &
emulator_pid=$!
for _ in $(seq 1 100); do
    grep -q MLFLOW_TRACKING_URI "$work/env.sh" 2>/dev/null && break
    kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.log"; exit 1; }
    sleep 0.2
done
# shellcheck disable=SC1091
source "$work/env.sh"
# The gate with its small offline demo DB (no internet here).
export TCDEPLOY_TRIVY_CACHE_DIR="$work/trivy-cache" TCDEPLOY_TRIVY_OFFLINE=true
python -m tests.fixtures.trivy_db "$TCDEPLOY_TRIVY_CACHE_DIR" > /dev/null

password=$(python -c 'import secrets; print(secrets.token_urlsafe(12))')
printf '[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///%s/auth.db\nadmin_username = admin\nadmin_password = %s\n' \
    "$work" "$password" > "$work/auth.ini"
export MLFLOW_AUTH_CONFIG_PATH="$work/auth.ini"
MLFLOW_FLASK_SERVER_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(16))')
export MLFLOW_FLASK_SERVER_SECRET_KEY
cat <<TEXT

  Release pages: http://127.0.0.1:$port/tcdeploy/   (user admin, password $password)
  Release default.default.demo_iris/1: model URI models:/default.default.demo_iris/1, target tcdeploy,
  endpoint name demo-iris, options instance_type=TI.S.MEDIUM.POST. Ctrl-C stops everything.

TEXT
mlflow server --app-name tcdeploy --backend-store-uri "$MLFLOW_TRACKING_URI" --host 127.0.0.1 --port "$port" \
    --artifacts-destination "$work/mlartifacts" --workers 1
