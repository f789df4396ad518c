"""predict's payloads against MLflow's own encoding, on generated frames and arrays: every value sent is the value
MLflow's ``dump_input_data`` sends (floats to the bit, NaN and ±inf, subnormals, -0.0, ints beyond 2**53, strings,
datetimes, nulls), whether the fast path (orjson) or MLflow's helper wrote it; numeric frames take the fast path."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.utils.proto_json_utils import dump_input_data

from mlflow_tcdeploy_plugin import fastjson
from mlflow_tcdeploy_plugin.predict import encode_inputs

FLOATS = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True, width=64)
INT64 = st.integers(-(2**63), 2**63 - 1)
COLUMNS: dict[str, tuple[Any, str | None]] = {
    "float64": (FLOATS, "float64"),
    "finite": (st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True), "float64"),
    "float32": (st.floats(width=32, allow_nan=False, allow_infinity=False), "float32"),
    "int64": (INT64, "int64"),
    "uint64": (st.integers(0, 2**64 - 1), "uint64"),
    "bool": (st.booleans(), "bool"),
    "str": (st.text(max_size=8), None),
    "big int": (st.integers(2**64, 2**80), None),
    "datetime": (
        st.datetimes(min_value=pd.Timestamp.min.to_pydatetime(), max_value=pd.Timestamp.max.to_pydatetime()),
        "datetime64[ns]",
    ),
    "nullable": (st.one_of(st.none(), st.integers(-5, 5)), None),
}


def _same(a: Any, b: Any) -> bool:
    """Equal as sent: the same types, floats to the bit (NaN is NaN), recursively."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(0, 6))
    kinds = draw(st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=4))
    if draw(st.booleans()):  # one dtype throughout: what the fast path takes, when it is exact
        kinds = [kinds[0]] * len(kinds)
    data = {}
    for i, kind in enumerate(kinds):
        values, dtype = COLUMNS[kind]
        cells = draw(st.lists(values, min_size=rows, max_size=rows))
        data[f"c{i}"] = pd.Series(cells, dtype=dtype if cells or dtype else object)
    return pd.DataFrame(data)


@settings(max_examples=400, deadline=None)
@given(frames())
def test_a_frame_is_sent_as_mlflow_sends_it(frame: pd.DataFrame) -> None:
    assert _same(json.loads(encode_inputs(frame)), json.loads(dump_input_data(frame)))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["float64", "float32", "int64", "uint8", "bool"]),
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.data(),
)
def test_an_array_is_sent_as_mlflow_sends_it(dtype: str, shape: list[int], data: st.DataObject) -> None:
    size = int(np.prod(shape))
    kind = np.dtype(dtype).kind
    values = {"f": FLOATS, "i": INT64, "u": st.integers(0, 255), "b": st.booleans()}[kind]
    if dtype == "float32":
        values = st.floats(width=32)
    cells = data.draw(st.lists(values, min_size=size, max_size=size))
    array = np.array(cells, dtype=dtype).reshape(shape)
    assert _same(json.loads(encode_inputs(array)), json.loads(dump_input_data(array)))


def test_numeric_frames_and_arrays_take_the_fast_path_and_the_rest_does_not() -> None:
    numbers = pd.DataFrame(np.arange(12.0).reshape(4, 3) / 7, columns=["a", "b", "c"])
    assert fastjson.frame(numbers) is not None and fastjson.array(numbers.to_numpy().T) is not None
    assert fastjson.frame(numbers.astype("int64")) is not None
    with_nan = numbers.copy()
    with_nan.iloc[1, 1] = np.nan
    refused = [
        with_nan,  # orjson would write null where MLflow writes NaN
        numbers.astype("float32"),  # written in float32's own shortest form; MLflow widens each value
        numbers.assign(d="x"),  # mixed dtypes
        numbers.set_index(pd.date_range("2026-01-01", periods=4)),  # labels MLflow writes with isoformat
    ]
    assert [fastjson.frame(f) for f in refused] == [None] * len(refused)
    assert fastjson.array(np.array([1.0, np.inf])) is None and fastjson.array(np.float64(1.0)) is None


@pytest.mark.parametrize("rows", [0, 1, 1000])
def test_an_empty_or_large_frame_is_sent_as_mlflow_sends_it(rows: int) -> None:
    frame = pd.DataFrame(np.random.default_rng(rows).normal(size=(rows, 3)), columns=["x", "y", "z"])
    assert _same(json.loads(encode_inputs(frame)), json.loads(dump_input_data(frame)))
