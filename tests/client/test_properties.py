"""Property tests for the two guards that keep requests where they belong."""

from __future__ import annotations

from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin.predict import validate_relative_url
from mlflow_tcdeploy_plugin.settings import ALLOWED_DOMAINS, validate_endpoint

URL_ALPHABET = st.sampled_from([*list("/.%@\\:?#abcAZ09-_ \t\r\n2e5cf"), "%2e", "%2f", "%5c", "%40", "%25", "//"])
HOST_ALPHABET = st.sampled_from([*list("abz09-.:@/ "), "tencentcloudapi.com", "tencentcloud.com", ".evil", chr(0x430)])


@settings(max_examples=2000, deadline=None)
@given(st.lists(URL_ALPHABET, max_size=20).map("".join))
def test_an_accepted_relative_url_is_a_plain_path_in_every_decoding(url: str) -> None:
    try:
        validate_relative_url(url)
    except MlflowException:
        return
    for form in (url, unquote(url), unquote(unquote(url))):
        path = form.split("?", 1)[0].split("#", 1)[0]
        assert form.startswith("/") and not form.startswith("//")
        assert "//" not in path and "\\" not in form and "@" not in form and "://" not in form
        assert not any(seg in (".", "..") for seg in path.split("/"))
        assert all(c.isprintable() and not c.isspace() for c in form)


@settings(max_examples=2000, deadline=None)
@given(st.lists(HOST_ALPHABET, max_size=8).map("".join))
def test_an_accepted_endpoint_is_a_tencent_cloud_host(endpoint: str) -> None:
    try:
        host = validate_endpoint(endpoint)
    except MlflowException:
        return
    name = host.split(":", 1)[0]
    assert any(name.endswith("." + d) for d in ALLOWED_DOMAINS)
    assert name.isascii() and "/" not in host and "@" not in host and not name.endswith(".")
