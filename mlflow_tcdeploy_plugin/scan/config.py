"""The gate's configuration from deployment options, with environment defaults for what a machine decides."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import options as opt
from ..schema import TRUE

ENV_TRIVY_BIN = "TCDEPLOY_TRIVY_BIN"
ENV_TRIVY_CACHE = "TCDEPLOY_TRIVY_CACHE_DIR"
ENV_TRIVY_OFFLINE = "TCDEPLOY_TRIVY_OFFLINE"
ENV_SCAN_CACHE = "TCDEPLOY_SCAN_CACHE_DIR"
ENV_REPORT_DIR = "TCDEPLOY_SCAN_REPORT_DIR"
ENV_PIP_INDEX_URL = "TCDEPLOY_PIP_INDEX_URL"
"""The package index when ``pip_index_url`` is not given: the gate and the image build use the same one."""


def index_url(options: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """``pip_index_url``, else ``$TCDEPLOY_PIP_INDEX_URL`` checked as the option is (an http(s) URL, no credentials:
    it is written into the image), else ``""`` (PyPI)."""
    if options.get("pip_index_url"):
        return str(options["pip_index_url"])
    value = env.get(ENV_PIP_INDEX_URL)
    return opt.index_url(ENV_PIP_INDEX_URL)(value) if value else ""


def gate_config(options: Mapping[str, Any], env: Mapping[str, str], builds: bool = False) -> Any:
    """``builds``: the image profile's install is judged (else MLflow's own serving stack: a MODEL service's)."""
    from .gate import GateConfig
    from .policy import Policy
    from .resolver import Target
    from .trivy import TrivyConfig

    cache = Path(env.get(ENV_SCAN_CACHE) or Path.home() / ".cache" / "mlflow-tcdeploy")
    offline = options.get("scan_offline")
    if offline is None:
        offline = (env.get(ENV_TRIVY_OFFLINE) or "").strip().lower() in TRUE
    return GateConfig(
        policy=Policy(
            mode=opt.value(options, "scan"),
            fail_on=opt.value(options, "scan_fail_on"),
            ignore_unfixed=opt.value(options, "scan_ignore_unfixed"),
            ignore=dict(options.get("scan_ignore") or {}),
            max_db_age_days=opt.value(options, "scan_max_db_age"),
            allow_unscanned=dict(options.get("scan_allow_unscanned") or {}),
            os_fail_on=opt.value(options, "scan_os_fail_on"),
            rego=options.get("scan_policy") or "",
        ),
        trivy=TrivyConfig(
            binary=env.get(ENV_TRIVY_BIN) or None,
            cache_dir=options.get("scan_cache_dir") or env.get(ENV_TRIVY_CACHE) or None,
            offline=bool(offline),
            timeout=opt.value(options, "scan_timeout"),
        ),
        cache_dir=cache,
        target=Target(
            python_version="",
            platform=opt.value(options, "platform"),
            index_url=index_url(options, env),
            extra_index_url=options.get("pip_extra_index_url") or "",
            ca_bundle=options.get("ca_bundle") or "",
            allow_builds=bool(opt.value(options, "scan_allow_builds")),
        ),
        report_dir=Path(options.get("scan_report_dir") or env.get(ENV_REPORT_DIR) or cache / "reports"),
        profile=opt.value(options, "image_profile") if builds else "mlflow",
    )
