"""Gate tests reuse the client fixtures (an emulator serving the test registry)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import Registry, register_model


@pytest.fixture(scope="session")
def gate_models(registry: Registry) -> dict[str, Any]:
    """Registered models with known requirements: two vulnerable ones (in the catalog form) and a clean one."""
    import sklearn

    sk = f"scikit-learn=={sklearn.__version__}"
    return {
        "critical": register_model(registry.tracking_uri, "default.default.pins_old_pyyaml", ["pyyaml==5.3", sk]),
        "high": register_model(registry.tracking_uri, "default.default.pins_old_requests", ["requests==2.19.0", sk]),
        "clean": register_model(registry.tracking_uri, "clean_plain_model", [sk, "pyyaml==6.0.2"]),
    }
