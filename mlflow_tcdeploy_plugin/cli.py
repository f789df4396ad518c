"""The ``tcdeploy`` command: ``emulator`` runs the local cloud emulator in the foreground; ``scan`` runs the
dependency gate on a model; ``build`` gates a model and builds its image; ``releases`` lists the recorded releases
(``rollout promote|rollback`` moves a held rollout on or undoes one; ``promote`` deploys a release to another target);
``options`` prints the option reference."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from .releases import commands as release_commands

if TYPE_CHECKING:
    from .emulator import Emulator

logger = logging.getLogger("tcdeploy")


_EMULATOR_ARGUMENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--host", {"default": "127.0.0.1", "help": "address to bind (default: 127.0.0.1)"}),
    ("--port", {"type": int, "default": 0, "help": "port to bind; 0 picks a free one (default: 0)"}),
    (
        "--data-dir",
        {
            "type": Path,
            "default": Path(".tcdeploy-emulator"),
            "help": "state directory, kept across restarts (default: ./.tcdeploy-emulator)",
        },
    ),
    ("--secret-id", {"help": "SecretId requests must be signed with (default: a random one)"}),
    ("--secret-key", {"help": "SecretKey requests must be signed with (default: a random one)"}),
    ("--session-token", {"help": "require this STS token in X-TC-Token"}),
    ("--workspace-id", {"default": "100000001", "help": "the one WeData workspace (default: 100000001)"}),
    ("--region", {"default": "ap-guangzhou"}),
    ("--mlflow-tracking-uri", {"help": "where models are read from (default: $MLFLOW_TRACKING_URI)"}),
    ("--mlflow-registry-uri", {"help": "model registry, if not the tracking URI (default: $MLFLOW_REGISTRY_URI)"}),
    ("--new-delay", {"type": float, "default": 1.0, "help": "seconds a service stays NEW (default: 1)"}),
    ("--ready-delay", {"type": float, "default": 0.0, "help": "least seconds in CREATING (default: 0)"}),
    (
        "--start-timeout",
        {
            "type": float,
            "default": 600.0,
            "help": "seconds before a service that is not ready ends in TIMEOUT_EXCEPTION (default: 600)",
        },
    ),
    (
        "--restart-backoff",
        {
            "type": float,
            "default": 1.0,
            "help": "seconds before a crashed replica's first restart; doubles each time (default: 1)",
        },
    ),
    (
        "--max-restarts",
        {
            "type": int,
            "default": 5,
            "help": "crash restarts of a replica before its service is given up as Abnormal (default: 5)",
        },
    ),
    (
        "--faults",
        {
            "type": json.loads,
            "default": None,
            "metavar": "JSON",
            "help": 'fault injection, e.g. \'{"throttle_rate": 0.1, '
            '"actions": {"GetMLModelService": {"latency": 0.5}}}\'',
        },
    ),
    ("--fault-seed", {"type": int, "help": "seed for the fault injection's random choices"}),
    ("--allow-remote", {"action": "store_true", "help": "allow binding to a non-loopback address"}),
)
"""The ``emulator`` command's arguments: flag and ``add_argument`` keywords."""


def _emulator_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "emulator",
        help="run the local WeData / TI-ONE model-service emulator",
        description="Run the local emulator of the WeData model-service API in the foreground. "
        "It prints the environment a client needs, one 'export NAME=value' line each.",
    )
    for flag, keywords in _EMULATOR_ARGUMENTS:
        p.add_argument(flag, **keywords)
    # Read when the parser is built, not when this module is imported.
    p.set_defaults(
        func=_run_emulator,
        mlflow_tracking_uri=os.environ.get("MLFLOW_TRACKING_URI"),
        mlflow_registry_uri=os.environ.get("MLFLOW_REGISTRY_URI"),
    )


def _run_emulator(args: argparse.Namespace) -> int:
    try:
        emulator = _emulator_from(args)
    except (ValueError, TypeError) as exc:
        print(f"tcdeploy emulator: {exc}", file=sys.stderr)
        return 2
    _serve_until_stopped(emulator)
    return 0


def _emulator_from(args: argparse.Namespace) -> Emulator:
    """The emulator the arguments describe; ``ValueError`` or ``TypeError`` when they are not valid."""
    from .emulator import Emulator, EmulatorConfig, Faults, Timing

    faults = Faults.from_dict(args.faults or {})
    timing = Timing(
        new_delay=args.new_delay,
        ready_delay=args.ready_delay,
        start_timeout=args.start_timeout,
        restart_backoff=args.restart_backoff,
        max_restarts=args.max_restarts,
    )
    config = EmulatorConfig(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        secret_id=args.secret_id,
        secret_key=args.secret_key,
        session_token=args.session_token,
        workspace_id=args.workspace_id,
        region=args.region,
        mlflow_tracking_uri=args.mlflow_tracking_uri,
        mlflow_registry_uri=args.mlflow_registry_uri,
        timing=timing,
        faults=faults,
        fault_seed=args.fault_seed,
        allow_non_loopback=args.allow_remote,
    )
    return Emulator(config)


def _serve_until_stopped(emulator: Emulator) -> None:
    """Start ``emulator``, print the client's environment and run until SIGINT or SIGTERM."""
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    emulator.start()
    try:
        for name, value in emulator.env().items():
            print(f"export {name}={shlex.quote(value)}")
        sys.stdout.flush()
        logger.info("emulator ready on %s; Ctrl-C stops it", emulator.url)
        while not stop.wait(1.0):
            pass
    finally:
        logger.info("stopping the emulator and its replicas")
        emulator.stop()


def _add_policy_arguments(p: argparse.ArgumentParser) -> None:
    """The gate's policy, the same for ``scan`` and ``build``."""
    p.add_argument("--fail-on", default="CRITICAL", help="least severity that fails (default: CRITICAL)")
    p.add_argument("--os-fail-on", help="least severity of a fixed OS-package advisory that fails (default: CRITICAL)")
    p.add_argument("--ignore", action="append", default=[], metavar="ID[:reason]", help="advisory to accept")
    p.add_argument("--ignore-unfixed", action="store_true", help="findings without a fix do not fail")
    p.add_argument("--policy", metavar="FILE.rego", help="a Rego policy whose deny messages refuse the model")
    p.add_argument(
        "--allow-unscanned",
        metavar="JSON",
        help='requirements that may go out unscanned: {"<requirement>": {"reason": "…", "expires": "YYYY-MM-DD"}}',
    )
    p.add_argument("--allow-builds", action="store_true", help="let the resolver build source distributions")


def _policy_config(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "scan_fail_on": args.fail_on,
        "scan_os_fail_on": args.os_fail_on,
        "scan_ignore": args.ignore or None,
        "scan_ignore_unfixed": args.ignore_unfixed or None,
        "scan_policy": args.policy,
        "scan_allow_unscanned": args.allow_unscanned,
        "scan_allow_builds": args.allow_builds or None,
    }


def _add_index_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-url", help="package index to resolve from (default: $TCDEPLOY_PIP_INDEX_URL, else PyPI)")
    p.add_argument("--extra-index-url", help="an extra package index to resolve from")
    p.add_argument("--ca-bundle", help="a PEM file of extra CA certificates for the package index")
    p.add_argument("--platform", default="linux/amd64", help="platform to resolve for (default: linux/amd64)")


def _add_profile_argument(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument("--image-profile", choices=("auto", "lean", "mlflow"), help=text)


def _scan_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scan",
        help="run the dependency gate (Trivy) on a model, as a deployment would",
        description="Resolve everything a model's Python requirements would install (with uv, for the model's Python "
        "on Linux), scan it with Trivy and apply the gate's policy. "
        "Exit code 0: passed; 1: refused by the policy; 2: the gate could not decide.",
    )
    p.add_argument("model_uri", help="models:/Catalog.Schema.Model/1, models:/name/1, models:/name@alias, runs:/…")
    _add_policy_arguments(p)
    p.add_argument(
        "--format",
        choices=("table", "json", "sarif", "junit", "cyclonedx"),
        default="table",
        help="table (default), json (the summary and findings), sarif (SARIF 2.1.0 for code-scanning dashboards), "
        "junit (CI test reports) or cyclonedx (the SBOM of the resolved set)",
    )
    _add_index_arguments(p)
    _add_profile_argument(
        p,
        "judge what an image of this profile installs (as tcdeploy build would); default: MLflow's own serving "
        "stack, what a MODEL service installs",
    )
    p.add_argument(
        "--mode",
        choices=("required", "auto"),
        default="required",
        help="required (default): no verdict is an error; auto: no verdict is a warning",
    )
    p.add_argument("--trivy-cache-dir", help="Trivy's cache (DB) directory (default: $TCDEPLOY_TRIVY_CACHE_DIR)")
    p.add_argument("--offline", action="store_true", default=None, help="never download Trivy's DB")
    p.add_argument("--timeout", default="300", help="seconds Trivy may run (default: 300)")
    p.add_argument(
        "--max-db-age",
        default="7",
        metavar="DAYS",
        help="an older vulnerability DB gives no verdict in required mode (default: 7)",
    )
    p.add_argument("--report-dir", help="where the full JSON report is written")
    p.set_defaults(func=_run_scan)


def _run_scan(args: argparse.Namespace) -> int:
    from mlflow.exceptions import MlflowException

    from . import options as opt
    from . import prepare
    from .resolve import resolve
    from .scan import gate

    try:
        options = opt.parse(_scan_config(args), opt.CREATE)
        model = resolve(args.model_uri, prepare.CatalogLister())
        # The registry version is tagged as a deployment tags it.
        summary, code = prepare.gate(model, options, builds=args.image_profile is not None), 0
    except gate.GateFailed as exc:
        summary, code = exc.summary, 1
    except MlflowException as exc:
        print(f"tcdeploy scan: {exc.message}", file=sys.stderr)
        return 2
    if summary["status"] == "error":
        print(f"tcdeploy scan: {summary['reason']}", file=sys.stderr)
        return 2
    _print_scan(args.format, args.model_uri, summary)
    return code


def _scan_config(args: argparse.Namespace) -> dict[str, Any]:
    """The deployment options ``scan``'s arguments stand for; the ones not given are left out."""
    config = {
        "scan": args.mode,
        **_policy_config(args),
        "scan_timeout": args.timeout,
        "scan_max_db_age": args.max_db_age,
        "scan_cache_dir": args.trivy_cache_dir,
        "scan_offline": args.offline,
        "scan_report_dir": args.report_dir,
        "pip_index_url": args.index_url,
        "pip_extra_index_url": args.extra_index_url,
        "ca_bundle": args.ca_bundle,
        "platform": args.platform,
        "image_profile": args.image_profile,
    }
    return {k: v for k, v in config.items() if v is not None}


def _print_scan(output_format: str, model_uri: str, summary: dict[str, Any]) -> None:
    """The gate's verdict in ``output_format``, the findings read from its full report."""
    document = json.loads(Path(summary["report_path"]).read_text())
    if output_format in ("sarif", "junit", "cyclonedx"):
        from .scan import formats

        output = getattr(formats, output_format)(document)
        print(output if isinstance(output, str) else json.dumps(output, indent=2))
    elif output_format == "json":
        print(json.dumps({**summary, "findings": document["findings"]}, indent=2))
    else:
        _print_table(model_uri, summary, document)


def _print_table(model_uri: str, summary: dict[str, Any], document: dict[str, Any]) -> None:
    from .scan.report import Finding, table

    counts = ", ".join(f"{n} {s}" for s, n in summary["counts"].items() if n) or "no findings"
    coverage, target = summary["coverage"], summary["target"]
    print(
        f"{model_uri}: {summary['status'].upper()} ({counts}; fail on {summary['policy']['fail_on']}; "
        f"trivy {summary['trivy_version']}, DB {summary['db_updated_at'] or 'unknown'})"
    )
    print(
        f"coverage: {coverage['scanned']}/{coverage['total']} packages scanned ({coverage['percent']:g}%), resolved "
        f"for Python {target['python_version']} on {target['platform']}"
    )
    print(table([Finding.from_json(f) for f in document["findings"]]))
    for item in summary["not_scanned"]:
        print(f"not scanned: {item}")
    for requirement, reason in summary["allowed_unscanned"].items():
        print(f"allowed unscanned: {requirement} ({reason})")
    for message in summary["denied"]:
        print(f"denied by the policy: {message}")
    for ident, reason in summary["ignored"].items():
        print(f"ignored: {ident} ({reason})")
    for ident, why in summary["lapsed"].items():
        print(f"not ignored: {ident} ({why})")
    print(f"report: {summary['report_path']}\nSBOM: {summary['sbom_path']}")


ENV_REGISTRY_PASSWORD = "TCDEPLOY_REGISTRY_PASSWORD"


def _build_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="gate a model and build (and push) its container image, as a deployment would",
        description="Run the dependency gate on a model, then build (or find) its environment and model images and "
        "push them. Prints the image reference (with its digest once pushed). Exit code 0: done; 1: refused by the "
        "gate; 2: a build, push or input error.",
    )
    p.add_argument("model_uri", help="models:/Catalog.Schema.Model/1, models:/name/1, models:/name@alias, runs:/…")
    p.add_argument("--image-repository", required=True, help="e.g. ccr.ccs.tencentyun.com/ns/iris, 127.0.0.1:5000/iris")
    p.add_argument("--image-tag", help="tag of the model image (default: its model key)")
    p.add_argument(
        "--push",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="push the images (default: when the repository names a registry host)",
    )
    _add_profile_argument(
        p,
        "lean (mlflow-skinny, no nginx, a non-root user) or mlflow (MLflow's own image); default auto: lean unless "
        "the model asks for full MLflow",
    )
    p.add_argument("--base-image", help="base of the environment image (default: python:<model's Python>-slim)")
    p.add_argument("--pip-index-url", help="package index for the build")
    p.add_argument("--pip-extra-index-url", help="an extra package index for the build")
    p.add_argument("--ca-bundle", help="PEM file of CA certificates the build must trust")
    p.add_argument("--platform", help="platform to build for (default: linux/amd64)")
    p.add_argument("--registry-username", help=f"registry user; the password comes from ${ENV_REGISTRY_PASSWORD}")
    p.add_argument("--scan", choices=("required", "auto", "off"), default="required", help="dependency gate mode")
    _add_policy_arguments(p)
    p.add_argument("--scan-image", action="store_true", help="also scan the built image with trivy image")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=_run_build)


def _build_config(args: argparse.Namespace) -> dict[str, Any]:
    """The deployment options ``build``'s arguments stand for."""
    return {
        "image_repository": args.image_repository,
        "image_tag": args.image_tag,
        "push": args.push,
        "image_profile": args.image_profile,
        "base_image": args.base_image,
        "pip_index_url": args.pip_index_url,
        "pip_extra_index_url": args.pip_extra_index_url,
        "ca_bundle": args.ca_bundle,
        "platform": args.platform,
        "registry_username": args.registry_username,
        "registry_password": os.environ.get(ENV_REGISTRY_PASSWORD) if args.registry_username else None,
        "scan": args.scan,
        **_policy_config(args),
        "scan_image": args.scan_image or None,
    }


def _run_build(args: argparse.Namespace) -> int:
    from mlflow.exceptions import MlflowException

    from . import options as opt
    from . import prepare
    from .resolve import resolve
    from .scan import gate

    config = _build_config(args)
    try:
        options = opt.parse({k: v for k, v in config.items() if v is not None}, opt.BUILD)
        opt.check(options, opt.BUILD)
        model = resolve(args.model_uri, prepare.CatalogLister())
        scan = prepare.gate(model, options)
        built, _ = prepare.image(model, options, scan)
    except gate.GateFailed as exc:
        print(f"tcdeploy build: {exc.message}", file=sys.stderr)
        return 1
    except MlflowException as exc:
        print(f"tcdeploy build: {exc.message}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps({**built.summary(), "scan": scan}, indent=2))
    else:
        print(built.reference)
    return 0


def _options_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("options", help="print the deployment option reference (Markdown)")
    p.set_defaults(func=_print_options)


def _print_options(args: argparse.Namespace) -> int:
    from .reference import markdown

    print(markdown())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tcdeploy", description="Tencent Cloud deployment tools for MLflow.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    _emulator_parser(sub)
    _options_parser(sub)
    _scan_parser(sub)
    _build_parser(sub)
    release_commands.add_parser(sub)
    args = parser.parse_args(argv)
    # MLflow writes "View run … at" lines to stdout when a run (a release's record) ends on a tracking server: here
    # stdout is the command's answer (JSON that scripts parse), so they are off unless the user says otherwise.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
