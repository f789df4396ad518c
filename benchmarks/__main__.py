"""Every benchmark in one run: a table on stdout and the figures as JSON.

    .venv/bin/python -m benchmarks [--quick] [--only N …] [--out benchmarks/results.json]

Each figure is measured side by side with its baseline in the same run (interleaved rounds, median). Missed targets
are printed as missed. Not part of the test suite: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

from . import calls, gate, logs_memory, payloads, readiness, redeploy, signing, startup
from .figures import Figure
from .setup import bench_world


def _table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "baseline", "ratio", "target", "met")]
    for f in figures:
        rows.append(
            (
                f"{f.group}: {f.name}",
                f"{f.value:,.2f} {f.unit}",
                "" if f.baseline is None else f"{f.baseline:,.2f} {f.unit}",
                "" if f.ratio is None else f"{f.ratio:.2f}",
                f.target,
                {True: "yes", False: "MISSED", None: ""}[f.met],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {f.group}: {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines) + "\n\nNotes:\n" + "\n".join(notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls (a smoke run, noisier)")
    parser.add_argument("--out", default="benchmarks/results.json", help="where the JSON goes")
    parser.add_argument("--only", type=int, nargs="*", default=[], help="figure numbers to run (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    rounds, calls_each = (3, 60) if args.quick else (7, 500)
    started = time.time()
    wanted = set(args.only) or set(range(1, 9))
    figures: list[Figure] = []
    if 1 in wanted:
        figures += startup.run(rounds)
    if 4 in wanted:
        figures += payloads.codec(rounds)
    if 8 in wanted:
        figures += gate.run(3 if args.quick else 5)
    with bench_world() as bench:
        steps = [
            # calls alternating one by one: per-call overheads of a few percent need both sides timed alike
            (2, lambda: calls.run(bench, calls_each * 2)),
            (3, lambda: redeploy.run(bench)),
            (4, lambda: payloads.round_trips(bench, calls_each // 5, rounds)),
            (5, lambda: logs_memory.run(bench)),
            (6, lambda: signing.run(bench, 3.0 if args.quick else 10.0)),
            (7, lambda: readiness.run(bench, 3 if args.quick else 5)),
            (7, lambda: readiness.run_image(bench, 3 if args.quick else 5)),
        ]
        for number, step in steps:
            if number in wanted:
                figures += step()
    machine = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "seconds": round(time.time() - started, 1),
        "quick": args.quick,
    }
    print(_table(figures))
    print(f"\nMachine: {machine}")
    out = Path(args.out)
    kept: list[dict[str, object]] = []
    if args.only and out.exists():  # a partial run replaces its own figures in the last full run's file
        kept = [f for f in json.loads(out.read_text())["figures"] if int(str(f["group"]).split()[0]) not in wanted]
    results = kept + [f.to_dict() for f in figures]
    results.sort(key=lambda f: int(str(f["group"]).split()[0]))
    out.write_text(json.dumps({"machine": machine, "figures": results}, indent=2))
    print(f"Written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
