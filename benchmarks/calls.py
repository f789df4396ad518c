"""2. Per call: the client's get_deployment and list_deployments against the SDK's CommonClient.call_json of the same
action on the same emulator, on both backends, with the TCP connections the client opens."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mlflow_tcdeploy_plugin import TcDeploymentClient

from .figures import Figure, alternating
from .setup import Bench, sdk

TIONE = "tcdeploy:/ap-guangzhou?backend=tione"
IMAGE = {"image_info": '{"image_type": "CUSTOM", "image_url": "127.0.0.1:5000/bench/absent:1"}'}


@contextmanager
def _no_tracking_store() -> Iterator[None]:
    """No tracking store configured: get_deployment then skips its release look-up (a search of MLflow's runs, which
    the SDK's call does not make), so the API call's own overhead shows."""
    import mlflow

    saved = os.environ.pop("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # None: unset (what MLflow starts with)
    try:
        yield
    finally:
        os.environ["MLFLOW_TRACKING_URI"] = saved
        mlflow.set_tracking_uri(saved)


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
    calls: int,
) -> list[Figure]:
    client.get_deployment(name)  # warm: the backend, its connection pool
    by_hand = _by_hand(raw, get, name)
    by_hand()
    again = sdk(bench, backend)  # a second SDK client: how far two identical sides land apart in this run
    action, note = get[0], f"{calls} calls each, alternating one by one; the median call"

    def figure(label: str, value: Callable[[], Any], baseline: Callable[[], Any], target: str) -> Figure:
        measured = [ms * 1000 for ms in alternating(value, baseline, calls)]
        return Figure("2 per call", f"{backend} {label}", measured[0], "ms", measured[1], target, note)

    def get_it() -> Any:
        return client.get_deployment(name)

    def sdk_get() -> Any:
        return raw.call_json(*get)

    with_store = figure(
        f"get_deployment vs call_json({action}) + MLflow's search for its newest release",
        get_it,
        by_hand,
        "ratio <= 1.10",
    )
    with _no_tracking_store():
        bare = figure(
            f"get_deployment, no tracking store (no release look-up) vs call_json({action})",
            get_it,
            sdk_get,
            "ratio <= 1.10",
        )
    return [
        with_store,
        bare,
        Figure(
            "2 per call",
            f"{backend} get_deployment vs call_json({action}) alone (the release look-up included, reported)",
            with_store.value,
            "ms",
            bare.baseline,
            "",
            "from the two figures above",
        ),
        figure(
            f"list_deployments vs call_json({listing[0]})",
            client.list_deployments,
            lambda: raw.call_json(*listing),
            "ratio <= 1.10",
        ),
        figure(
            f"call_json({action}) from a second SDK client vs the first (the spread; no target)",
            lambda: again.call_json(*get),
            sdk_get,
            "",
        ),
        _connections(bench, backend, name, calls // 10),
    ]


def _connections(bench: Bench, backend: str, name: str, calls: int) -> Figure:
    fresh = TcDeploymentClient(TIONE if backend == "tione" else "tcdeploy")
    before = bench.emulator.stats()["connections"]
    for _ in range(calls):
        fresh.get_deployment(name)
        fresh.list_deployments()
    opened = bench.emulator.stats()["connections"] - before - 1  # the second stats call's own connection
    return Figure(
        "2 per call",
        f"{backend} TCP connections a new client opens for {2 * calls} calls",
        opened,
        "connections",
        None,
        "value <= 1",
        "counted by the emulator (accepted connections)",
    )


def run(bench: Bench, calls: int) -> list[Figure]:
    figures = []
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
        figures += _measure(bench, *case, calls)
    wedata.delete_endpoint("bench-calls")
    tione.delete_endpoint("bench-calls-ti")
    return figures
