"""4. Predict payloads: encoding and decoding a 100,000-row DataFrame in the client against pandas' own to_json /
read_json; and predict round trips per second through the emulator against a direct POST to the replica."""

from __future__ import annotations

import io
import json
import time
import urllib.request

from mlflow_tcdeploy_plugin import TcDeploymentClient
from mlflow_tcdeploy_plugin.predict import decode_answer, encode_inputs

from .figures import Figure, interleaved, timed
from .setup import Bench

ROWS = 100_000


def _frame() -> object:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(ROWS, 8)), columns=[f"f{i}" for i in range(8)])


def codec(rounds: int) -> list[Figure]:
    import pandas as pd

    frame = _frame()
    answer = json.dumps({"predictions": list(range(ROWS))})
    split = frame.to_json(orient="split")  # type: ignore[attr-defined]

    def client_side() -> float:
        return timed(lambda: encode_inputs(frame)) + timed(
            lambda: decode_answer("bench", {"status": 200, "body": answer}).get_predictions()
        )

    def pandas_side() -> float:
        return timed(lambda: frame.to_json(orient="split")) + timed(  # type: ignore[attr-defined]
            lambda: pd.read_json(io.StringIO(answer), orient="columns", typ="series")
        )

    medians = interleaved({"client": client_side, "pandas": pandas_side}, rounds)
    return [
        Figure(
            "4 payloads",
            f"encode {ROWS:,}-row DataFrame + decode {ROWS:,} predictions",
            medians["client"] * 1000,
            "ms",
            medians["pandas"] * 1000,
            "ratio <= 1.5",
            f"baseline: pandas to_json(orient=split) ({len(split) / 1e6:.1f} MB) + read_json of the answer",
        )
    ]


def round_trips(bench: Bench, calls: int, rounds: int) -> list[Figure]:
    client = TcDeploymentClient()
    made = client.create_deployment("bench-predict", bench.catalog_uri, config={"scan": "off", "poll_interval": "0.1"})
    store = bench.emulator._store
    assert store is not None  # the emulator is running
    pod = store.pods(store.services()[-1].id)[0]  # the replica of the version just made
    body = json.dumps({"inputs": bench.features}).encode()
    direct = f"http://127.0.0.1:{pod.port}/invocations"

    def post() -> None:
        request = urllib.request.Request(direct, body, {"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=30).read()

    per_round = max(calls // rounds, 1)

    def rate(fn: object) -> float:
        start = time.perf_counter()
        for _ in range(per_round):
            fn()  # type: ignore[operator]
        return per_round / (time.perf_counter() - start)

    medians = interleaved(
        {"client": lambda: rate(lambda: client.predict(made["name"], bench.features)), "direct": lambda: rate(post)},
        rounds,
    )
    client.delete_endpoint("bench-predict")
    return [
        Figure(
            "4 payloads",
            "predict round trips through the emulator (WeData ModelServiceInterfaceCallTest)",
            medians["client"],
            "calls/s",
            medians["direct"],
            "",
            "baseline: a direct POST to the replica's /invocations; the ratio is the share of the direct rate",
        )
    ]
