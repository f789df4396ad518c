"""The local PEP 503 index the resolver tests use: uv and pip resolve and install from it, and nothing else."""

from __future__ import annotations

import base64
import csv
import hashlib
import http.client
import io
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from uv import find_uv_bin

from tests.fixtures.package_index import Dist, PackageIndex, build_wheel

TOP = Dist("tinytop", "1.0", requires=("tinydep==1.0",), requires_python=">=3.8")
DEP_1 = Dist("tinydep", "1.0")
DEP_2 = Dist("tinydep", "2.0")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PackageIndex]:
    with PackageIndex(tmp_path / "index", [TOP, DEP_1, DEP_2]) as served:
        yield served


def _compile(index: PackageIndex, tmp_path: Path, requirements: str) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "requirements.in"
    source.write_text(requirements)
    command = [
        find_uv_bin(),
        "pip",
        "compile",
        str(source),
        "--index-url",
        index.url,
        "--no-config",
        "--python-version",
        "3.11",
        "--python-platform",
        "x86_64-manylinux_2_36",
        "--no-header",
        "--annotation-style",
        "line",
        "--generate-hashes",
        "--no-cache",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _pins(output: str) -> dict[str, tuple[str, list[str], str]]:
    """``name → (version, hashes, via)`` from uv's output (with hashes, the annotation gets a line of its own)."""
    pins: dict[str, tuple[str, list[str], str]] = {}
    name = ""
    for raw in output.splitlines():
        line = raw.strip().rstrip("\\").strip()
        if not raw.startswith(" "):
            name, version = line.split("==")
            pins[name] = (version, [], "")
        elif line.startswith("--hash=sha256:"):
            pins[name][1].append(line.removeprefix("--hash=sha256:"))
        elif line.startswith("# via "):
            pins[name] = (*pins[name][:2], line.removeprefix("# via "))
    return pins


def test_uv_resolves_from_the_index_with_the_hashes_of_the_built_wheels(index: PackageIndex, tmp_path: Path) -> None:
    result = _compile(index, tmp_path, "tinytop\n")
    assert result.returncode == 0, result.stderr
    pins = _pins(result.stdout)
    assert pins == {
        "tinydep": ("1.0", [index.sha256(DEP_1)], "tinytop"),
        "tinytop": ("1.0", [index.sha256(TOP)], f"-r {tmp_path / 'requirements.in'}"),
    }
    assert {"/simple/tinytop/", "/simple/tinydep/"} <= set(index.requests)


def test_an_unknown_package_makes_uv_fail_naming_it(index: PackageIndex, tmp_path: Path) -> None:
    result = _compile(index, tmp_path, "nosuchpackage\n")
    assert result.returncode != 0
    assert "nosuchpackage" in result.stderr
    assert "/simple/nosuchpackage/" in index.requests


def test_requires_python_is_published_and_honoured(index: PackageIndex, tmp_path: Path) -> None:
    index.add(Dist("pyonly", "1.0"))
    index.add(Dist("pyonly", "2.0", requires_python=">=3.12"))
    with urllib.request.urlopen(f"{index.url}/pyonly/") as response:
        page = response.read().decode()
    assert 'data-requires-python="&gt;=3.12"' in page
    assert f"pyonly-1.0-py3-none-any.whl#sha256={index.sha256(Dist('pyonly', '1.0'))}" in page

    result = _compile(index, tmp_path, "pyonly\n")
    assert result.returncode == 0, result.stderr
    assert _pins(result.stdout)["pyonly"][0] == "1.0"  # 2.0 needs Python 3.12, the target is 3.11


def test_pip_installs_a_pinned_version_from_the_index(index: PackageIndex, tmp_path: Path) -> None:
    # The machine's pip configuration (find-links, extra indexes, constraints) must not take part.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    target = tmp_path / "target"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-cache-dir", "--target", str(target)]
    result = subprocess.run(
        [*command, "--index-url", index.url, "tinydep==2.0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    metadata = (target / "tinydep-2.0.dist-info" / "METADATA").read_text()
    assert "Name: tinydep\n" in metadata
    assert "Version: 2.0\n" in metadata
    assert (target / "tinydep" / "__init__.py").read_text() == '__version__ = "2.0"\n'
    assert "/packages/tinydep/tinydep-2.0-py3-none-any.whl" in index.requests


def test_names_are_normalized_in_urls_and_wheel_filenames(index: PackageIndex) -> None:
    index.add(Dist("Tiny_Name.Pkg", "1.0"))
    with urllib.request.urlopen(f"{index.url}/tiny-name-pkg/") as response:
        assert "tiny_name_pkg-1.0-py3-none-any.whl" in response.read().decode()
    with urllib.request.urlopen(f"{index.url}/") as response:
        assert '<a href="/simple/tiny-name-pkg/">tiny-name-pkg</a>' in response.read().decode()


def test_an_unknown_project_is_404(index: PackageIndex) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{index.url}/nosuchpackage/")
    assert caught.value.code == 404


def test_keep_alive_requests_do_not_stall(index: PackageIndex) -> None:
    # Headers and body in separate TCP segments with Nagle's algorithm on: ~40 ms per request (delayed ACK).
    host, port = index.url.removeprefix("http://").split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    started = time.perf_counter()
    for _ in range(20):
        connection.request("GET", "/simple/tinydep/")
        response = connection.getresponse()
        assert response.status == 200
        response.read()
    connection.close()
    assert time.perf_counter() - started < 0.4


def test_a_wheel_is_reproducible_and_its_record_matches_its_files(tmp_path: Path) -> None:
    first = build_wheel(TOP, tmp_path / "a").read_bytes()
    assert build_wheel(TOP, tmp_path / "b").read_bytes() == first
    with zipfile.ZipFile(io.BytesIO(first)) as wheel:
        record = list(csv.reader(io.StringIO(wheel.read("tinytop-1.0.dist-info/RECORD").decode())))
        assert sorted(path for path, _, _ in record) == sorted(wheel.namelist())
        for path, digest, size in record:
            if path.endswith("RECORD"):
                assert (digest, size) == ("", "")
                continue
            data = wheel.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, size) == (f"sha256={expected}", str(len(data)))
        metadata = wheel.read("tinytop-1.0.dist-info/METADATA").decode()
    assert "Requires-Dist: tinydep==1.0\n" in metadata
    assert "Requires-Python: >=3.8\n" in metadata
