"""``tcdeploy releases``: the releases recorded in the tracking store, as a table or JSON; ``releases show ID``: one
release's timeline."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("releases", help="list the releases recorded in the MLflow tracking store")
    p.add_argument("--model", help="only the releases of this registered model")
    p.add_argument("--status", help="only releases in this status: running, succeeded, failed, interrupted")
    p.add_argument("--experiment", help="where releases are recorded (default: the release_experiment option's)")
    p.add_argument("--limit", type=int, default=100, help="the newest N (default: 100)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_run_list)
    shown = p.add_subparsers(dest="releases_command")
    one = shown.add_parser("show", help="one release's timeline, with the failing stage's reason")
    one.add_argument("release_id")
    one.add_argument("--format", choices=("table", "json"), default="table")
    one.set_defaults(func=_run_show)


def _run_list(args: argparse.Namespace) -> int:
    from ..options import BY_KEY
    from .history import list_releases

    experiment = args.experiment or BY_KEY["release_experiment"].default
    return _guarded(lambda: list_releases(experiment, args.model, args.status, args.limit), args.format, _table)


def _run_show(args: argparse.Namespace) -> int:
    from .history import show

    return _guarded(lambda: show(args.release_id), args.format, _timeline)


def _guarded(read: Any, form: str, render: Any) -> int:
    from mlflow.exceptions import MlflowException

    try:
        found = read()
    except MlflowException as exc:
        print(f"tcdeploy releases: {exc.message}", file=sys.stderr)
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
    rows = [("RELEASE", "STARTED (UTC)", "STATUS", "STAGE", "MODEL", "DEPLOYMENT")]
    for r in releases:
        model = f"{r['model_name']}/{r['model_version']}" if r["model_name"] else r["model_uri"] or "-"
        rows.append((r["id"], _when(r["started"]), r["status"], r["stage"] or "-", model, r["deployment"] or "-"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _timeline(release: dict[str, Any]) -> str:
    lines = [
        f"Release {release['id']}: {release['status']} (stage {release['stage']})",
        f"  model {release['model_uri'] or '-'}, target {release['target']} ({release['backend']}), "
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
