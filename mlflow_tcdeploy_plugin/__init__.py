"""MLflow deployments plugin for Tencent Cloud model services, WeData's or TI-ONE's (target ``tcdeploy``).

MLflow loads this module through the ``mlflow.deployments`` entry point on every ``get_deploy_client``: it exposes
``run_local``, ``target_help`` and exactly one ``BaseDeploymentClient`` subclass, and imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from .client import TcDeploymentClient

__all__ = ["TcDeploymentClient", "run_local", "target_help"]


def __getattr__(name: str) -> Any:
    # PEP 562: the client (and the SDK, options and API layer behind it) loads when MLflow looks it up, so
    # `import mlflow_tcdeploy_plugin.emulator` and the emulator's replica processes load none of it.
    if name == "TcDeploymentClient":
        from .client import TcDeploymentClient

        return TcDeploymentClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def run_local(name: str, model_uri: str, flavor: str | None = None, config: dict[str, Any] | None = None) -> None:
    """Gate the model, build (or find) its image, and serve it on this machine's Docker engine until Ctrl-C.

    CLI: ``mlflow deployments run-local -t tcdeploy --name iris -m models:/iris/1 -C port=5000``.
    """
    from .local import run_local as run

    run(name, model_uri, flavor, config)


def target_help() -> str:
    from .reference import text as reference_text

    return f"""Target tcdeploy: deploy MLflow models to Tencent Cloud model services: WeData's (run on TI-ONE; the
default backend) or TI-ONE's online services directly (backend=tione).

Target URI: tcdeploy, or tcdeploy:/<region>?workspace_id=<id>&endpoint=<host>&backend=<wedata|tione>&project_id=<id>
  backend=tione: TI-ONE's public 2021-11-11 API (tione.tencentcloudapi.com); models go as images
  (-C image_repository=…), no workspace needed, project_id is the TiProjectId (default project if absent);
  traffic split between versions with update-endpoint -C traffic='{{"1": 90, "2": 10}}'.

Settings (environment): KERNEL_WEDATA_CLOUD_SDK_SECRET_ID, KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY,
KERNEL_WEDATA_CLOUD_SDK_SECRET_TOKEN (STS), WEDATA_WORKSPACE_ID, KERNEL_WEDATA_REGION (default ap-guangzhou),
TENCENTCLOUD_ENDPOINT (default wedata.internal.tencentcloudapi.com; only *.tencentcloudapi.com and
*.tencentcloud.com hosts); credentials also from TENCENTCLOUD_SECRET_ID/KEY or ~/.tencentcloud/credentials.
TCDEPLOY_BACKEND (wedata|tione), TCDEPLOY_TI_PROJECT_ID.
Retries (target URI keys, or TCDEPLOY_MAX_ATTEMPTS / TCDEPLOY_RETRY_TIMEOUT / TCDEPLOY_RETRY_MODE): max_attempts
(default 15), retry_timeout (seconds per call, default 120), retry_mode (adaptive, the default, or standard).
TCDEPLOY_EMULATOR_URL=http://127.0.0.1:<port> talks to the local emulator (`tcdeploy emulator`) instead.

A deployment is a service version (its name is the ServiceId); an endpoint is a service group.
Names: --name takes a ServiceId, or a name when it names one version only.

Options (-C key=value, or config={{...}} in Python; values are coerced: "2" -> 2, "false" -> False, JSON for
objects, whose keys may be snake_case or PascalCase). [create, update, predict, endpoint, run_local, build] says
which methods take each one (endpoint: update_endpoint; build: `tcdeploy build`):
{reference_text()}

run-local: mlflow deployments run-local -t tcdeploy --name <name> -m <model URI> -C port=5000
  builds (or finds) the model's image, as a deployment with image_repository would, and serves it on 127.0.0.1.

predict: mlflow deployments predict -t tcdeploy --name <ServiceId|group id|name> --input-path input.json
  (input.json: a DataFrame, or {{"dataframe_split": ...}}, {{"dataframe_records": ...}}, {{"inputs": ...}},
  {{"instances": ...}}).
"""
