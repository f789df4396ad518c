"""8. The dependency gate's cost, side by side with the old direct-pins-only scan on the same model: a scikit-learn
model (``scikit-learn``, ``pandas``, ``mlflow==<this MLflow>`` pinned as MLflow's inference pins them), resolved
against the real package index for Python 3.11 on linux/amd64 and scanned by the real trivy with the offline test DB.

- cold: empty gate caches and an empty uv cache (every index page and metadata fetched); target <= 15 s;
- warm: the same model again (resolution and report cached; Trivy only asked for its version); target <= 0.5 s;
- baseline: ``trivy fs`` on the model's own ``==`` lines, which is all the old gate scanned.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import mlflow

from mlflow_tcdeploy_plugin import options as opt
from mlflow_tcdeploy_plugin.scan import gate, trivy
from mlflow_tcdeploy_plugin.scan.config import gate_config

from .figures import Figure

PIP_INDEX_URL = os.environ.get("TCDEPLOY_TEST_PIP_INDEX_URL", "https://pypi.org/simple")
REQUIREMENTS = f"mlflow=={mlflow.__version__}\nscikit-learn\npandas\n"
FILES = {"requirements.txt": REQUIREMENTS, "python_env.yaml": "python: 3.11\n"}


def _trivy() -> str | None:
    found = os.environ.get("TCDEPLOY_TRIVY_BIN") or shutil.which("trivy") or str(Path(sys.executable).parent / "trivy")
    return found if Path(found).exists() else None


def run(rounds: int) -> list[Figure]:
    binary = _trivy()
    if binary is None:
        return [Figure("8 gate", "not measured", 0, "s", note="trivy is not installed (./build.sh bench installs it)")]
    from tests.fixtures.trivy_db import build

    cold, warm, old, packages = [], [], [], 0
    with tempfile.TemporaryDirectory(prefix="tcdeploy-bench-gate-") as name:
        root = Path(name)
        db = build(root / "trivy")
        for i in range(rounds):
            env = {
                "TCDEPLOY_TRIVY_BIN": binary,
                "TCDEPLOY_TRIVY_CACHE_DIR": str(db),
                "TCDEPLOY_TRIVY_OFFLINE": "true",
                "TCDEPLOY_SCAN_CACHE_DIR": str(root / f"cache-{i}"),
                "TCDEPLOY_SCAN_REPORT_DIR": str(root / "reports"),
            }
            config = gate_config(opt.parse({"scan": "required", "pip_index_url": PIP_INDEX_URL}, opt.CREATE), env)
            os.environ["UV_CACHE_DIR"] = str(root / f"uv-{i}")  # a cold uv cache each round
            for samples in (cold, warm):
                started = time.perf_counter()
                summary = gate.check("bench", "bench-model", config, read_files=lambda _: FILES)
                samples.append(time.perf_counter() - started)
            packages = summary["coverage"]["scanned"]
            pins = root / f"pins-{i}"
            pins.mkdir()
            (pins / "requirements.txt").write_text(f"mlflow=={mlflow.__version__}\n")
            started = time.perf_counter()
            trivy.scan(config.trivy, binary, pins)
            old.append(time.perf_counter() - started)
        os.environ.pop("UV_CACHE_DIR", None)
    note = f"{packages} packages scanned; the old gate scanned 1 (the model's only == line)"
    baseline = statistics.median(old)
    return [
        Figure(
            "8 gate", "cold: resolve + scan, sklearn model", statistics.median(cold), "s", baseline, "value <= 15", note
        ),
        Figure("8 gate", "warm: the same model again", statistics.median(warm), "s", baseline, "value <= 0.5"),
    ]
