"""The tests' own helpers."""

from __future__ import annotations

import pytest

from tests.helpers import under_ci


@pytest.mark.parametrize(
    ("value", "under"),
    [
        ("true", True),
        ("1", True),
        ("True", True),
        ("yes", True),
        ("jenkins", True),
        ("", False),
        ("false", False),
        ("0", False),
        ("FALSE", False),
        (" ", False),
    ],
)
def test_ci_means_any_value_but_empty_false_or_0(value: str, under: bool) -> None:
    assert under_ci({"CI": value}) is under
    assert under_ci({}) is False
