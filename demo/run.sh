#!/usr/bin/env bash
# The whole flow on one machine: the embedded emulator, a registered scikit-learn model, the `mlflow deployments`
# CLI. Run through `./build.sh demo` (which makes the venv and puts it first on PATH).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tcdeploy-demo.XXXXXX")
model=demo_iris
emulator_pid=""

cleanup() {
    if [ -n "$emulator_pid" ] && kill -0 "$emulator_pid" 2>/dev/null; then
        kill -TERM "$emulator_pid"
        wait "$emulator_pid" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

export MLFLOW_TRACKING_URI="sqlite:///$work/mlflow.db"
step "1. Train a scikit-learn model and register it as default.default.$model ($MLFLOW_TRACKING_URI)"
# Run from the work directory: MLflow keeps artifacts in ./mlruns beside the database.
(cd "$work" && python "$here/train.py" "$model") 2> "$work/train.log" || { cat "$work/train.log"; exit 1; }
# The same model, logged with an old Requests pinned: the dependency gate must refuse it.
(cd "$work" && python "$here/train.py" demo_old_requests requests==2.31.0 scikit-learn) 2>> "$work/train.log" \
    || { cat "$work/train.log"; exit 1; }

step "2. Start the emulator of the WeData model-service API"
tcdeploy emulator --port 0 --data-dir "$work/emulator" --new-delay 1 > "$work/env.sh" 2> "$work/emulator.log" &
emulator_pid=$!
for _ in $(seq 1 100); do
    grep -q MLFLOW_TRACKING_URI "$work/env.sh" 2>/dev/null && break
    kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.log"; exit 1; }
    sleep 0.2
done
cat "$work/env.sh"
# shellcheck disable=SC1091
source "$work/env.sh"

step "3. The dependency gate: tcdeploy scan, with Trivy and a small offline demo DB (no internet here)"
export TCDEPLOY_TRIVY_CACHE_DIR="$work/trivy-cache" TCDEPLOY_TRIVY_OFFLINE=true
export TCDEPLOY_SCAN_CACHE_DIR="$work/scan-cache" TCDEPLOY_SCAN_REPORT_DIR="$work/scan-reports"
python -m tests.fixtures.trivy_db "$TCDEPLOY_TRIVY_CACHE_DIR" > /dev/null
status=0
tcdeploy scan --fail-on MEDIUM models:/default.default.demo_old_requests/1 || status=$?
[ "$status" -eq 1 ] || { echo "the gate should have refused requests==2.31.0 (exit 1), not exited $status"; exit 1; }
echo "(refused, as it should be: exit code 1; deploying it would fail the same way before any request)"

step "4. Deploy the clean model: mlflow deployments create -t tcdeploy (the gate scans it first)"
mlflow deployments create -t tcdeploy --name demo-iris -m "models:/default.default.$model/1" \
    -C instance_type=TI.S.MEDIUM.POST -C poll_interval=0.5 | tee "$work/create.out"
service_id=$(sed -n 's/.*deployment \([^ ]*\) is created.*/\1/p' "$work/create.out")

step "5. Predict: mlflow deployments predict --input-path demo/input.json"
mlflow deployments predict -t tcdeploy --name "$service_id" --input-path "$here/input.json"

step "6. The replica's logs"
python "$here/show_logs.py" "$service_id"

step "7. Scale to 2 replicas: mlflow deployments update -C service_action=SCALE -C replicas=2"
mlflow deployments update -t tcdeploy --name "$service_id" -C service_action=SCALE -C replicas=2 -C poll_interval=0.5
mlflow deployments list -t tcdeploy

step "8. The releases recorded in MLflow (the create was verified with the model's input example): tcdeploy releases"
tcdeploy releases --model "default.default.$model"
tcdeploy releases show "$(tcdeploy releases --model "default.default.$model" --format json \
    | python -c 'import json, sys; print(json.load(sys.stdin)[-1]["id"])')"

step "9. Delete the deployment and its endpoint"
mlflow deployments delete -t tcdeploy --name "$service_id"
mlflow deployments delete-endpoint -t tcdeploy --endpoint demo-iris
mlflow deployments list-endpoints -t tcdeploy

step "Done: the whole flow ran against the local emulator."
