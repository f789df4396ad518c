"""1. Start-up: a fresh process doing get_deploy_client("tcdeploy") vs one doing `import mlflow.deployments`; and the
plugin's own import time (python -X importtime) inside the first."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from .figures import Figure, interleaved, timed

BASELINE = "import mlflow.deployments"
PLUGIN = "import mlflow.deployments\nmlflow.deployments.get_deploy_client('tcdeploy')"
ENV = {
    "KERNEL_WEDATA_CLOUD_SDK_SECRET_ID": "AKIDbench",
    "KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY": "bench-key",
    "WEDATA_WORKSPACE_ID": "100000001",
}
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def _run(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ENV}
    env.pop("TCDEPLOY_EMULATOR_URL", None)
    # As installed: the plugin's modules from their bytecode cache, as mlflow's are (a first run writes it).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.run([sys.executable, *flags, "-c", code], env=env, capture_output=True, text=True, check=True)


FIRST_CALL = PLUGIN + (
    "\ntry:\n    mlflow.deployments.get_deploy_client('tcdeploy').create_deployment('a name!', 'models:/m/1')"
    "\nexcept Exception:\n    pass"
)
"""A first call refused before any request: it loads what the client defers (the option table, the rules, the
backend resources)."""


def plugin_import_us(code: str = PLUGIN) -> int:
    """Microseconds the plugin's own modules take to import in a process running ``code``: the cumulative time of
    each top-level import of an ``mlflow_tcdeploy_plugin`` module (mlflow itself is already loaded by then)."""
    total = 0
    for line in _run(code, "-X", "importtime").stderr.splitlines():
        match = _LINE.match(line)
        if match and match[3] == " " and match[4].startswith("mlflow_tcdeploy_plugin"):
            total += int(match[2])
    return total


def run(rounds: int) -> list[Figure]:
    _run(FIRST_CALL)  # writes the bytecode cache
    medians = interleaved(
        {"plugin": lambda: timed(lambda: _run(PLUGIN)), "baseline": lambda: timed(lambda: _run(BASELINE))}, rounds
    )
    imports = sorted(plugin_import_us() for _ in range(rounds))[rounds // 2]
    first_call = sorted(plugin_import_us(FIRST_CALL) for _ in range(rounds))[rounds // 2]
    return [
        Figure(
            "1 start-up",
            "process with get_deploy_client('tcdeploy')",
            medians["plugin"] * 1000,
            "ms",
            medians["baseline"] * 1000,
            "ratio <= 1.05",
            f"baseline: a process that imports mlflow.deployments; {rounds} interleaved rounds, median",
        ),
        Figure(
            "1 start-up",
            "plugin's own import time (-X importtime)",
            imports / 1000,
            "ms",
            None,
            "value <= 20",
            "the mlflow_tcdeploy_plugin modules a get_deploy_client process imports, mlflow already loaded",
        ),
        Figure(
            "1 start-up",
            "the plugin's imports by the end of a first call (a create refused before any request)",
            first_call / 1000,
            "ms",
            None,
            "",
            "what the client defers is imported by its first call: this minus the figure above is the time moved",
        ),
    ]
