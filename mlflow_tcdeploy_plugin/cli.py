"""The ``tcdeploy`` command: ``emulator`` runs the local cloud emulator in the foreground; ``options`` prints the
deployment option reference."""

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

logger = logging.getLogger("tcdeploy")


def _emulator_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "emulator",
        help="run the local WeData / TI-ONE model-service emulator",
        description="Run the local emulator of the WeData model-service API in the foreground. "
        "It prints the environment a client needs, one 'export NAME=value' line each.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default: 0)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".tcdeploy-emulator"),
        help="state directory, kept across restarts (default: ./.tcdeploy-emulator)",
    )
    p.add_argument("--secret-id", help="SecretId requests must be signed with (default: a random one)")
    p.add_argument("--secret-key", help="SecretKey requests must be signed with (default: a random one)")
    p.add_argument("--session-token", help="require this STS token in X-TC-Token")
    p.add_argument("--workspace-id", default="100000001", help="the one WeData workspace (default: 100000001)")
    p.add_argument("--region", default="ap-guangzhou")
    p.add_argument(
        "--mlflow-tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI"),
        help="where models are read from (default: $MLFLOW_TRACKING_URI)",
    )
    p.add_argument(
        "--mlflow-registry-uri",
        default=os.environ.get("MLFLOW_REGISTRY_URI"),
        help="model registry, if not the tracking URI (default: $MLFLOW_REGISTRY_URI)",
    )
    p.add_argument("--new-delay", type=float, default=1.0, help="seconds a service stays NEW (default: 1)")
    p.add_argument("--ready-delay", type=float, default=0.0, help="least seconds in CREATING (default: 0)")
    p.add_argument(
        "--start-timeout",
        type=float,
        default=600.0,
        help="seconds before a service that is not ready ends in TIMEOUT_EXCEPTION (default: 600)",
    )
    p.add_argument(
        "--faults",
        type=json.loads,
        default=None,
        metavar="JSON",
        help='fault injection, e.g. \'{"throttle_rate": 0.1, "actions": {"GetMLModelService": {"latency": 0.5}}}\'',
    )
    p.add_argument("--fault-seed", type=int, help="seed for the fault injection's random choices")
    p.add_argument("--allow-remote", action="store_true", help="allow binding to a non-loopback address")
    p.set_defaults(func=_run_emulator)


def _run_emulator(args: argparse.Namespace) -> int:
    from .emulator import Emulator, EmulatorConfig, Faults, Timing

    try:
        faults = Faults.from_dict(args.faults or {})
        emulator = Emulator(
            EmulatorConfig(
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
                timing=Timing(new_delay=args.new_delay, ready_delay=args.ready_delay, start_timeout=args.start_timeout),
                faults=faults,
                fault_seed=args.fault_seed,
                allow_non_loopback=args.allow_remote,
            )
        )
    except (ValueError, TypeError) as exc:
        print(f"tcdeploy emulator: {exc}", file=sys.stderr)
        return 2
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
    return 0


def _options_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("options", help="print the deployment option reference (Markdown)")
    p.set_defaults(func=_print_options)


def _print_options(args: argparse.Namespace) -> int:
    from .options import reference_markdown

    print(reference_markdown())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tcdeploy", description="Tencent Cloud deployment tools for MLflow.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    _emulator_parser(sub)
    _options_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
