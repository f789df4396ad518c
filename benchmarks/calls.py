"""2. Per call: the client's get_deployment and list_deployments against the SDK's CommonClient.call_json of the same
action on the same emulator, on both backends, with the TCP connections the client opens."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from mlflow_tcdeploy_plugin import TcDeploymentClient

from .figures import Figure, interleaved
from .setup import Bench, sdk

TIONE = "tcdeploy:/ap-guangzhou?backend=tione"
IMAGE = {"image_info": '{"image_type": "CUSTOM", "image_url": "127.0.0.1:5000/bench/absent:1"}'}


def _per_call(fn: Any, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def _without_tracking_store(fn: Callable[[], float]) -> Callable[[], float]:
    """``fn`` with no tracking store configured: get_deployment then skips its release look-up (a search of MLflow's
    runs, which the SDK's call does not make), so the API call's own overhead shows."""

    import mlflow

    def run() -> float:
        saved = os.environ.pop("MLFLOW_TRACKING_URI")
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # None: unset (what MLflow starts with)
        try:
            return fn()
        finally:
            os.environ["MLFLOW_TRACKING_URI"] = saved
            mlflow.set_tracking_uri(saved)

    return run


def _by_hand(raw: Any, get: tuple[str, dict[str, Any]], service_id: str) -> Callable[[], None]:
    """What a user writes for the same answer without the plugin: the SDK's call, then MLflow's own search for the
    newest release of that service (the documented filter on the release experiment)."""
    from mlflow import MlflowClient

    tracking = MlflowClient()

    def call() -> None:
        raw.call_json(*get)
        experiment = tracking.get_experiment_by_name("tcdeploy-releases")
        tracking.search_runs(
            [experiment.experiment_id],
            f"tags.`tcdeploy.deployment` = '{service_id}'",
            max_results=1,
            order_by=["start_time DESC"],
        )

    return call


def _measure(
    bench: Bench,
    backend: str,
    client: TcDeploymentClient,
    name: str,
    raw: Any,
    get: tuple[str, dict[str, Any]],
    listing: tuple[str, dict[str, Any]],
    *,
    per_round: int,
    rounds: int,
) -> list[Figure]:
    client.get_deployment(name)  # warm: the backend, its connection pool
    by_hand = _by_hand(raw, get, name)
    by_hand()
    medians = interleaved(
        {
            "get": lambda: _per_call(lambda: client.get_deployment(name), per_round),
            "get_bare": _without_tracking_store(lambda: _per_call(lambda: client.get_deployment(name), per_round)),
            "get_sdk": lambda: _per_call(lambda: raw.call_json(*get), per_round),
            "get_by_hand": lambda: _per_call(by_hand, per_round),
            "list": lambda: _per_call(client.list_deployments, per_round),
            "list_sdk": lambda: _per_call(lambda: raw.call_json(*listing), per_round),
        },
        rounds,
    )
    fresh = TcDeploymentClient(TIONE if backend == "tione" else "tcdeploy")
    before = bench.emulator.stats()["connections"]
    for _ in range(per_round):
        fresh.get_deployment(name)
        fresh.list_deployments()
    opened = bench.emulator.stats()["connections"] - before - 1  # the second stats call's own connection
    note = f"{per_round * rounds} calls each, {rounds} interleaved rounds, median of the per-round mean"
    return [
        Figure(
            "2 per call",
            f"{backend} get_deployment vs call_json({get[0]}) + MLflow's search for its newest release",
            medians["get"] * 1000,
            "ms",
            medians["get_by_hand"] * 1000,
            "ratio <= 1.10",
            note,
        ),
        Figure(
            "2 per call",
            f"{backend} get_deployment vs call_json({get[0]}) alone (the release look-up included, reported)",
            medians["get"] * 1000,
            "ms",
            medians["get_sdk"] * 1000,
            "",
            note,
        ),
        Figure(
            "2 per call",
            f"{backend} get_deployment, no tracking store (no release look-up) vs call_json({get[0]})",
            medians["get_bare"] * 1000,
            "ms",
            medians["get_sdk"] * 1000,
            "ratio <= 1.10",
            note,
        ),
        Figure(
            "2 per call",
            f"{backend} list_deployments vs call_json({listing[0]})",
            medians["list"] * 1000,
            "ms",
            medians["list_sdk"] * 1000,
            "ratio <= 1.10",
            note,
        ),
        Figure(
            "2 per call",
            f"{backend} TCP connections a new client opens for {2 * per_round} calls",
            opened,
            "connections",
            None,
            "value <= 1",
            "counted by the emulator (accepted connections)",
        ),
    ]


def run(bench: Bench, calls: int, rounds: int) -> list[Figure]:
    figures = []
    per_round = max(calls // rounds, 1)
    wedata = TcDeploymentClient()
    # Created stopped (WeData) or failing (an absent image on TI-ONE): no replica competes for the CPU.
    made = wedata.create_deployment(
        "bench-calls", bench.catalog_uri, config={"wait": "false", "scan": "off", "service_action": "STOP"}
    )
    tione = TcDeploymentClient(TIONE)
    made_ti = tione.create_deployment(
        "bench-calls-ti", bench.registry_uri, config={**IMAGE, "wait": "false", "scan": "off"}
    )
    ws = {"WorkspaceId": bench.emulator.env()["WEDATA_WORKSPACE_ID"]}
    cases: list[tuple[str, TcDeploymentClient, str, Any, tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]] = [
        (
            "wedata",
            wedata,
            made["name"],
            sdk(bench, "wedata"),
            ("GetMLModelService", {"ServiceId": made["name"], **ws}),
            ("ListMLModelServiceGroups", {"PageNumber": 1, "PageSize": 100, **ws}),
        ),
        (
            "tione",
            tione,
            made_ti["name"],
            sdk(bench, "tione"),
            ("DescribeModelService", {"ServiceId": made_ti["name"]}),
            # the members the client sends (newest first), so both sides ask the emulator for the same work
            ("DescribeModelServiceGroups", {"Offset": 0, "Limit": 100, "Order": "DESC", "OrderField": "CreateTime"}),
        ),
    ]
    for case in cases:
        figures += _measure(bench, *case, per_round=per_round, rounds=rounds)
    wedata.delete_endpoint("bench-calls")
    tione.delete_endpoint("bench-calls-ti")
    return figures
