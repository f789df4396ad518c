"""Pure parts of the resolution and of the environment image check: reading uv's output into packages and chains,
telling the model's fault from the network's, the lock the image installs, and how an image can differ from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_tcdeploy_plugin.image import dockerfiles
from mlflow_tcdeploy_plugin.image.keys import EnvInputs
from mlflow_tcdeploy_plugin.scan.environment import differences
from mlflow_tcdeploy_plugin.scan.resolver import SERVING, Resolution, Target, _parse, _resolve_error

H1, H2, H3 = ("sha256:" + c * 64 for c in "abc")
UV_OUTPUT = f"""\
joblib==1.6.0 \\
    --hash={H1} \\
    --hash={H2}
    # via scikit-learn
mlflow==3.17.2 \\
    --hash={H3}
    # via -r /tmp/tcdeploy-resolve-x/serving.in
numpy==2.4.6 \\
    --hash={H1}
    # via pandas, scikit-learn
pandas==3.1.1 \\
    --hash={H2}
    # via -r /tmp/tcdeploy-resolve-x/model.in
scikit-learn==1.9.1 \\
    --hash={H3}
    # via -r /tmp/tcdeploy-resolve-x/model.in, mlflow
werkzeug==3.1.3    # via flask
flask==3.1.0    # via mlflow
"""


def test_uv_output_becomes_packages_with_hashes_parents_and_chains() -> None:
    resolution = _parse(UV_OUTPUT)
    assert set(resolution.packages) == {"joblib", "mlflow", "numpy", "pandas", "scikit-learn", "werkzeug", "flask"}
    joblib = resolution.packages["joblib"]
    assert joblib.version == "1.6.0" and joblib.hashes == (H1, H2) and joblib.parents == ("scikit-learn",)
    assert resolution.packages["numpy"].parents == ("pandas", "scikit-learn")
    assert resolution.packages["scikit-learn"].direct and resolution.packages["mlflow"].serving
    assert resolution.chain("joblib") == ["scikit-learn", "joblib"]
    assert resolution.chain("numpy") in (["pandas", "numpy"], ["scikit-learn", "numpy"])
    assert resolution.chain("werkzeug") == [SERVING, "mlflow", "flask", "werkzeug"]
    assert resolution.children("scikit-learn") == ["joblib", "numpy"]
    assert Resolution.from_text(resolution.to_text()).packages == resolution.packages
    assert resolution.pins().splitlines()[:2] == ["flask==3.1.0", "joblib==1.6.0"]
    assert f"joblib==1.6.0 \\\n    --hash={H1} \\\n    --hash={H2}\n" in resolution.lock()


@pytest.mark.parametrize(
    ("detail", "code", "says"),
    [
        (
            "error: No solution found when resolving dependencies: no-such-package was not found",
            "INVALID_PARAMETER_VALUE",
            "cannot be installed",
        ),
        (
            "error: Failed to fetch: `https://pypi.org/simple/numpy/` ... dns error",
            "TEMPORARILY_UNAVAILABLE",
            "could not be reached",
        ),
    ],
)
def test_resolution_errors_say_whose_fault_and_the_fix(detail: str, code: str, says: str) -> None:
    from mlflow.protos.databricks_pb2 import ErrorCode

    error = _resolve_error(detail, Target("3.11", index_url="https://mirror.example/simple"))
    assert ErrorCode.Name(error.error_code) == code
    assert says in error.message and "https://mirror.example/simple" in error.message
    assert "pip_index_url" in error.message


def test_the_environment_image_installs_the_lock_in_place_of_mlflows_installs(tmp_path: Path) -> None:
    parsed = _parse(UV_OUTPUT)
    lock = Resolution({name: p for name, p in parsed.packages.items() if p.hashes}).lock()
    inputs = EnvInputs("python:3.11-slim", "linux/amd64", "3.11", {"requirements.txt": "x\n"}, "3.17.2", lock=lock)
    dockerfile = dockerfiles.write_env_context(tmp_path / "ctx", inputs, None)
    assert "pip install mlflow==" not in dockerfile and "_install_pyfunc_deps" not in dockerfile
    assert "RUN pip install --no-cache-dir --no-deps --require-hashes -r /opt/ml/model/requirements.lock" in dockerfile
    assert (tmp_path / "ctx" / dockerfiles.ENV_CONTEXT / dockerfiles.LOCK_FILE).read_text() == lock
    unlocked = dockerfiles.write_env_context(tmp_path / "plain", EnvInputs(**{**inputs.__dict__, "lock": ""}), None)
    assert "pip install mlflow==3" in unlocked and "_install_pyfunc_deps" in unlocked
    assert inputs.key() != EnvInputs(**{**inputs.__dict__, "lock": lock.replace("1.6.0", "1.5.0")}).key()


def test_an_image_that_differs_from_the_lock_is_told_apart() -> None:
    lock = "joblib==1.6.0 \\\n    --hash=sha256:aa\nnumpy==2.4.6\n"
    same = {("joblib", "1.6.0"), ("numpy", "2.4.6"), ("pip", "24.0"), ("setuptools", "65.5.1")}
    assert differences(lock, same) == []
    assert differences(lock, {("joblib", "1.5.0"), ("numpy", "2.4.6")}) == ["joblib==1.6.0: the image has 1.5.0"]
    assert differences(lock, {("numpy", "2.4.6")}) == ["joblib==1.6.0: not in the image"]
    assert differences(lock, same | {("requests", "2.32.0")}) == [
        "requests==2.32.0: in the image, not in the judged set"
    ]


def test_the_index_from_the_environment_is_checked_like_the_option() -> None:
    from mlflow.exceptions import MlflowException

    from mlflow_tcdeploy_plugin.scan.config import index_url

    assert index_url({}, {"TCDEPLOY_PIP_INDEX_URL": "https://mirror.example/simple"}) == "https://mirror.example/simple"
    assert index_url({"pip_index_url": "https://a.example/simple"}, {"TCDEPLOY_PIP_INDEX_URL": "x"}).startswith(
        "https://a"
    )
    for bad in ("https://user:pw@mirror.example/simple", "ftp://mirror.example/simple", "https://m.example/s\nRUN x"):
        with pytest.raises(MlflowException) as exc:
            index_url({}, {"TCDEPLOY_PIP_INDEX_URL": bad})
        assert exc.value.error_code == "INVALID_PARAMETER_VALUE"


def test_os_packages_block_only_on_a_fixed_advisory_at_their_own_threshold() -> None:
    from datetime import date

    from mlflow_tcdeploy_plugin.scan.policy import Ignore, Policy, evaluate
    from mlflow_tcdeploy_plugin.scan.report import Finding, ScanReport

    def os_finding(ident: str, severity: str, fixed: str) -> Finding:
        return Finding(ident, "zlib1g", "1.2.13", fixed, severity, "", "t", "", kind="os-pkgs")

    findings = [
        os_finding("CVE-fixed-critical", "CRITICAL", "1.2.13.dfsg-1+deb12u1"),
        os_finding("CVE-unfixed-critical", "CRITICAL", ""),
        os_finding("CVE-fixed-high", "HIGH", "1.2.14"),
        os_finding("CVE-accepted", "CRITICAL", "1.2.14"),
        Finding("CVE-python-high", "requests", "2.31.0", "2.32.0", "HIGH", "", "t", "", kind="lang-pkgs"),
    ]
    report = ScanReport(findings, [], "0.59.1", "", "image")
    policy = Policy(fail_on="HIGH", ignore={"CVE-accepted": Ignore("base image fix due")})
    verdict = evaluate(policy, report, date(2026, 11, 30))
    assert sorted(f.id for f in verdict.blocking) == ["CVE-fixed-critical", "CVE-python-high"]
    assert [f.id for f, _ in verdict.ignored] == ["CVE-accepted"]
    stricter = evaluate(Policy(fail_on="NONE", os_fail_on="HIGH"), report, date(2026, 11, 30))
    assert sorted(f.id for f in stricter.blocking) == ["CVE-accepted", "CVE-fixed-critical", "CVE-fixed-high"]
