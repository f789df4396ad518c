"""``tcdeploy releases``: the releases recorded in the tracking store, as a table or JSON; ``releases show ID``: one
release's timeline; ``rollout promote|rollback ID``: a held or interrupted rollout moved on or undone by hand."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Any

from .history import STATUSES


def add_parser(sub: Any) -> None:
    p = sub.add_parser("releases", help="list the releases recorded in the MLflow tracking store")
    p.add_argument("--model", help="only the releases of this registered model")
    p.add_argument("--status", help="only releases in this status: " + ", ".join(STATUSES))
    p.add_argument("--experiment", help="where releases are recorded (default: the release_experiment option's)")
    p.add_argument("--limit", type=int, default=100, help="the newest N (default: 100)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_run_list)
    shown = p.add_subparsers(dest="releases_command")
    one = shown.add_parser("show", help="one release's timeline, with the failing stage's reason")
    one.add_argument("release_id")
    one.add_argument("--format", choices=("table", "json"), default="table")
    one.set_defaults(func=_run_show)
    rollout = sub.add_parser("rollout", help="move a held rollout on, or roll one back, by its release ID")
    verbs = rollout.add_subparsers(dest="rollout_command", required=True)
    forward = verbs.add_parser("promote", help="check the held step, then move to the next (or finish)")
    forward.add_argument("release_id")
    forward.set_defaults(func=lambda args: _act("promote", args.release_id))
    back = verbs.add_parser("rollback", help="put the weights back as before the release and stop the new version")
    back.add_argument("release_id")
    back.set_defaults(func=lambda args: _act("rollback", args.release_id))
    promote = sub.add_parser("promote", help="deploy what a succeeded release verified to another target, unbuilt")
    promote.add_argument("release_id")
    promote.add_argument(
        "--target", "-t", required=True, help="the target URI to deploy to (another than the release's)"
    )
    promote.add_argument("--name", required=True, help="the endpoint to create (or, with --endpoint, a version's name)")
    promote.add_argument("--endpoint", help="add a version to this existing endpoint instead")
    promote.add_argument("-C", "--config", action="append", default=[], metavar="KEY=VALUE", help="a deployment option")
    promote.set_defaults(func=_run_promote)


def _run_promote(args: argparse.Namespace) -> int:
    from .. import TcDeploymentClient

    malformed = [item for item in args.config if "=" not in item]
    if malformed:
        print(f"tcdeploy promote: -C takes KEY=VALUE, not {malformed[0]!r}", file=sys.stderr)
        return 2
    config = dict(item.split("=", 1) for item in args.config)
    return _guarded(
        lambda: TcDeploymentClient(args.target).promote_release(args.release_id, args.name, config, args.endpoint),
        "json",
        str,
        "promote",
    )


def _act(verb: str, release_id: str) -> int:
    from . import actions

    return _guarded(lambda: getattr(actions, verb)(release_id), "json", str, f"rollout {verb}")


def _run_list(args: argparse.Namespace) -> int:
    from ..options import BY_KEY
    from .history import list_releases

    experiment = args.experiment or BY_KEY["release_experiment"].default
    return _guarded(lambda: list_releases(experiment, args.model, args.status, args.limit), args.format, _table)


def _run_show(args: argparse.Namespace) -> int:
    from .history import show

    return _guarded(lambda: show(args.release_id), args.format, _timeline)


def _guarded(read: Any, form: str, render: Any, command: str = "releases") -> int:
    from mlflow.exceptions import MlflowException

    try:
        found = read()
    except MlflowException as exc:
        print(f"tcdeploy {command}: {exc.message}", file=sys.stderr)
        return 2
    print(json.dumps(found, indent=2) if form == "json" else render(found))
    return 0


def _when(millis: int | None) -> str:
    if not millis:
        return "-"
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _table(releases: list[dict[str, Any]]) -> str:
    if not releases:
        return "No releases recorded."
    rows = [("RELEASE", "KIND", "STARTED (UTC)", "STATUS", "STAGE", "MODEL", "DEPLOYMENT")]
    for r in releases:
        model = f"{r['model_name']}/{r['model_version']}" if r["model_name"] else r["model_uri"] or "-"
        when, stage, deployment = _when(r["started"]), r["stage"] or "-", r["deployment"] or "-"
        rows.append((r["id"], r["kind"], when, r["status"], stage, model, deployment))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _timeline(release: dict[str, Any]) -> str:
    lines = [
        f"{release['kind'].capitalize()} {release['id']}: {release['status']} (stage {release['stage']})",
        f"  model {release['model_uri'] or '-'}, target {release['target'] or '-'} ({release['backend'] or '-'}), "
        f"by {release['user'] or '-'}, started {_when(release['started'])} UTC",
    ]
    for stage in release["stages"]:
        seconds = stage["seconds"]
        took = f"{seconds:.1f}s" if seconds is not None else "-"
        lines.append(f"  {stage['stage']:<8} {stage['status']:<12} {took}")
    if release["reason"]:
        lines.append(f"  reason: {release['reason']}")
    facts = [f"{k} {release[k]}" for k in ("endpoint", "deployment", "image") if release[k]]
    if facts:
        lines.append("  " + ", ".join(facts))
    lines += [f"  artifact: {path}" for path in release.get("artifacts", [])]
    return "\n".join(lines)
