"""Property tests for the two guards that keep requests where they belong.

Each draws from a mix of plain, valid inputs and noisy ones, checks every accepted input is safe and every refusal
is a clear INVALID_PARAMETER_VALUE, and counts both: a guard that refused everything would fail here."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin.predict import validate_relative_url
from mlflow_tcdeploy_plugin.settings import ALLOWED_DOMAINS, validate_endpoint

EXAMPLES = 3000
SEGMENT = st.text(alphabet="abcxyz019-_", min_size=1, max_size=8)
PLAIN_PATHS = st.lists(SEGMENT, min_size=1, max_size=4).map(lambda segments: "/" + "/".join(segments))
URL_NOISE = st.lists(
    st.sampled_from([*"/.%@\\:?#abcAZ09-_ \t\r\n2e5cf", "%2e", "%2f", "%5c", "%40", "%25", "//", "..", "./"]),
    max_size=12,
).map("".join)
RELATIVE_URLS = st.one_of(PLAIN_PATHS, URL_NOISE, st.tuples(PLAIN_PATHS, URL_NOISE).map("".join))

LABEL = st.text(alphabet="abcz09", min_size=1, max_size=6)
PLAIN_HOSTS = st.tuples(
    st.lists(LABEL, min_size=1, max_size=3), st.sampled_from(ALLOWED_DOMAINS), st.sampled_from(["", ":443", ":8443"])
).map(lambda p: ".".join(p[0]) + "." + p[1] + p[2])
HOST_NOISE = st.lists(
    st.sampled_from([*"abz09-.:@/ ", "tencentcloudapi.com", "tencentcloud.com", ".evil", chr(0x430), "%2f", "#"]),
    max_size=8,
).map("".join)
ENDPOINTS = st.one_of(PLAIN_HOSTS, HOST_NOISE, st.tuples(PLAIN_HOSTS, HOST_NOISE).map("".join))


def _explore(strategy: st.SearchStrategy[str], guard: Callable[[str], str], safe: Callable[[str, str], None]) -> None:
    """Feed the guard ``EXAMPLES`` inputs: each refusal must be a clear INVALID_PARAMETER_VALUE, each accepted input
    must pass ``safe(input, result)``, and both must happen often (a guard that refuses everything fails here)."""
    accepted: list[str] = []
    refused: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(strategy)
    def check(value: str) -> None:
        try:
            result = guard(value)
        except MlflowException as exc:
            assert exc.error_code == "INVALID_PARAMETER_VALUE" and exc.message
            refused.append(value)
            return
        accepted.append(value)
        safe(value, result)

    check()
    assert len(accepted) >= EXAMPLES // 10 and len(refused) >= EXAMPLES // 10, (len(accepted), len(refused))


def _safe_relative_url(url: str, result: str) -> None:
    assert result == url
    for form in (url, unquote(url), unquote(unquote(url))):
        path = form.split("?", 1)[0].split("#", 1)[0]
        assert form.startswith("/") and not form.startswith("//")
        assert "//" not in path and "\\" not in form and "@" not in form and "://" not in form
        assert not any(seg in (".", "..") for seg in path.split("/"))
        assert all(c.isprintable() and not c.isspace() for c in form)


def _safe_endpoint(endpoint: str, host: str) -> None:
    name = host.split(":", 1)[0]
    assert any(name.endswith("." + d) for d in ALLOWED_DOMAINS)
    assert name.isascii() and "/" not in host and "@" not in host and "#" not in host and not name.endswith(".")


def test_relative_url_guard_accepts_plain_paths_and_only_what_is_safe_in_every_decoding() -> None:
    _explore(RELATIVE_URLS, validate_relative_url, _safe_relative_url)


def test_endpoint_guard_accepts_tencent_cloud_hosts_and_nothing_else() -> None:
    _explore(ENDPOINTS, validate_endpoint, _safe_endpoint)
