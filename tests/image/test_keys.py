"""The image builder's pure parts: content keys and the two Dockerfiles, from real logged models (no engine)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlflow_tcdeploy_plugin.image.builder import ImageOptions, plan
from mlflow_tcdeploy_plugin.image.dockerfiles import write_env_context, write_model_context
from mlflow_tcdeploy_plugin.image.engine import registry_of, split_reference
from tests.helpers import Registry, register_model

OPTIONS = ImageOptions(repository="127.0.0.1:5000/iris")


def _download(uri: str, where: Path) -> Path:
    from mlflow.artifacts import download_artifacts

    return Path(download_artifacts(artifact_uri=uri, dst_path=str(where)))


@pytest.fixture(scope="module")
def models(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Version 1; another training of it (same requirements, other weights); one with a changed requirement."""
    import mlflow
    import sklearn

    root = tmp_path_factory.mktemp("image-models")
    retrained = register_model(registry.tracking_uri, "keys_retrained", seed=8)
    requirements = [f"scikit-learn=={sklearn.__version__}", f"mlflow-skinny=={mlflow.__version__}", "pyyaml==6.0.2"]
    changed = register_model(registry.tracking_uri, "keys_changed_requirement", requirements)
    return {
        "v1": _download(registry.model_path, root / "v1"),
        "retrained": _download(retrained.model_path, root / "retrained"),
        "changed": _download(changed.model_path, root / "changed"),
    }


def _keys(model_dir: Path, options: ImageOptions = OPTIONS) -> tuple[str, str]:
    _, env_key, model_key = plan(model_dir, options)
    return env_key, model_key


def test_same_requirements_share_an_environment_and_a_changed_one_does_not(models: dict[str, Path]) -> None:
    v1, retrained, changed = (_keys(models[k]) for k in ("v1", "retrained", "changed"))
    assert v1[0] == retrained[0] and v1[1] != retrained[1]
    assert changed[0] != v1[0]


def test_the_model_key_ignores_when_and_where_the_same_files_were_logged(
    models: dict[str, Path], tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(models["v1"], tmp_path / "relogged"))
    mlmodel: dict[str, Any] = yaml.safe_load((copy / "MLmodel").read_text())
    mlmodel |= {"utc_time_created": "2030-01-01 00:00:00", "model_uuid": "m-x", "model_id": "m-x", "run_id": "r"}
    mlmodel["artifact_path"] = "file:///elsewhere"
    (copy / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    assert _keys(copy) == _keys(models["v1"])
    mlmodel["flavors"]["sklearn"]["sklearn_version"] = "0.0.1"  # a real change of the model
    (copy / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    assert _keys(copy)[1] != _keys(models["v1"])[1]
    weights = next(p for p in copy.iterdir() if p.suffix in (".skops", ".pkl"))
    weights.write_bytes(weights.read_bytes() + b"\0")
    assert _keys(copy)[1] != _keys(models["v1"])[1]


@pytest.mark.parametrize(
    "change",
    [
        {"pip_index_url": "https://mirrors.tencent.com/pypi/simple"},
        {"pip_extra_index_url": "https://example.org/simple"},
        {"base_image": "python:3.11-slim-bookworm"},
        {"platform": "linux/arm64"},
        {"ca_bundle": "ca"},
        {"profile": "mlflow"},
    ],
    ids=["index", "extra-index", "base-image", "platform", "ca-bundle", "profile"],
)
def test_what_changes_the_install_changes_the_environment_key(
    models: dict[str, Path], tmp_path: Path, change: dict[str, str]
) -> None:
    if "ca_bundle" in change:
        (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
        options = ImageOptions(repository=OPTIONS.repository, ca_bundle=tmp_path / "ca.pem")
    else:
        options = ImageOptions(repository=OPTIONS.repository, **change)  # type: ignore[arg-type]
    assert _keys(models["v1"], options)[0] != _keys(models["v1"])[0]


def test_the_mlflow_profile_is_mlflows_dockerfile_split_in_two(models: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
    options = ImageOptions(
        repository=OPTIONS.repository,
        ca_bundle=tmp_path / "ca.pem",
        pip_index_url="https://pypi.org/simple",
        profile="mlflow",
    )
    inputs, _, _ = plan(models["v1"], options)
    env = write_env_context(tmp_path / "env", inputs, options.ca_bundle)
    lines = env.splitlines()
    assert lines.index(f"FROM {inputs.base_image}") < lines.index("COPY extra-ca.pem /etc/tcdeploy/extra-ca.pem")
    assert lines.index("ENV PIP_INDEX_URL=https://pypi.org/simple") < next(
        i for i, line in enumerate(lines) if line.startswith("RUN pip install mlflow==")
    )
    assert "COPY model-env /opt/ml/model" in lines and "_install_pyfunc_deps('/opt/ml/model'" in env
    assert "C._serve('local')" in env and inputs.base_image == f"python:{inputs.python_version}-slim"
    links = lines.index(
        "RUN ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log"
    )
    assert lines.index(next(line for line in lines if "install" in line and "nginx" in line)) < links
    assert links < next(i for i, line in enumerate(lines) if line.startswith("ENTRYPOINT"))  # before nginx starts
    assert sorted(p.name for p in (tmp_path / "env" / "model-env").iterdir()) == sorted(inputs.files)
    assert not any(p.suffix in (".skops", ".pkl") for p in (tmp_path / "env" / "model-env").iterdir())
    model = write_model_context(tmp_path / "model", models["v1"], "127.0.0.1:5000/iris:env-abc")
    assert model.splitlines()[1:] == ["FROM 127.0.0.1:5000/iris:env-abc", "COPY model /opt/ml/model"]
    assert (tmp_path / "model" / "model" / "MLmodel").is_file()


def test_the_lean_profile_serves_with_mlflow_skinny_without_nginx_as_a_user(
    models: dict[str, Path], tmp_path: Path
) -> None:
    import mlflow

    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
    options = ImageOptions(repository=OPTIONS.repository, ca_bundle=tmp_path / "ca.pem")
    full = Path(shutil.copytree(models["v1"], tmp_path / "full"))
    (full / "requirements.txt").write_text(f"mlflow=={mlflow.__version__}\nscikit-learn\n")
    inputs, _, _ = plan(full, options)
    assert inputs.profile == "lean"  # the default: a scikit-learn model needs the scoring server only
    env = write_env_context(tmp_path / "env", inputs, options.ca_bundle)
    lines = env.splitlines()
    steps = "\n".join(line for line in lines if not line.startswith("#"))
    assert "nginx" not in steps and "gunicorn" not in steps and "_install_pyfunc_deps" not in steps
    assert lines.index(f"FROM {inputs.base_image}") < lines.index("COPY extra-ca.pem /etc/tcdeploy/extra-ca.pem")
    assert "RUN python -m pip install -r /opt/ml/model/requirements.serving.txt" in lines
    assert "PIP_NO_CACHE_DIR=1" in steps and "apt-get" not in steps  # scikit-learn needs no system library
    assert lines[-4:] == [
        "USER 10001",
        "WORKDIR /home/mlflow",
        "EXPOSE 8080",
        'ENTRYPOINT ["/usr/local/bin/tcdeploy-serve"]',
    ]
    served = (tmp_path / "env" / "model-env" / "requirements.serving.txt").read_text().splitlines()
    # skops when the model is saved in its format (the newest MLflow's default), which full MLflow brought along
    assert served == [f"mlflow-skinny=={mlflow.__version__}", "scikit-learn", "numpy", "pandas", *_skops(full)]
    writer = (tmp_path / "env" / "tcdeploy_serve.py").read_text()
    compile(writer, "tcdeploy_serve.py", "exec")  # the entrypoint writer the image runs is valid Python


def test_the_profile_follows_what_the_model_asks_for(
    registry: Registry, models: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import mlflow

    from mlflow_tcdeploy_plugin.errors import TcDeployError

    full = Path(shutil.copytree(models["v1"], tmp_path / "full"))
    (full / "requirements.txt").write_text(f"mlflow[genai]=={mlflow.__version__}\nscikit-learn\n")
    with caplog.at_level("INFO", logger="mlflow_tcdeploy_plugin"):
        assert plan(full, OPTIONS)[0].profile == "mlflow"
    asked = f"mlflow[genai]=={mlflow.__version__}"
    assert f"image profile mlflow: the model's requirements ask for MLflow with extras ({asked})" in caplog.text
    assert plan(full, ImageOptions(repository=OPTIONS.repository, profile="lean"))[0].profile == "lean"
    with pytest.raises(TcDeployError, match="image_profile=mlflow builds MLflow's own serving image") as refused:
        plan(models["v1"], ImageOptions(repository="r", profile="mlflow", base_image="nvidia/cuda:12.4.1-runtime"))
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    spark = Path(shutil.copytree(models["v1"], tmp_path / "spark"))
    mlmodel = yaml.safe_load((spark / "MLmodel").read_text())
    mlmodel["flavors"]["spark"] = {"pyspark_version": "3.5.1"}
    (spark / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(TcDeployError, match="spark flavor loads through a Java runtime") as refused:
        plan(spark, OPTIONS)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert plan(spark, ImageOptions(repository="r", base_image="example.org/python-java:3.11"))[0].profile == "lean"


LEAN_CASES = {
    "comments, continuations, hashes and -r files": (
        {
            "requirements.txt": "mlflow=={v} \\\n    --hash=sha256:00  # pinned\n-r extra.txt\n",
            "extra.txt": "scikit-learn  # the model\n",
        },
        ["mlflow-skinny=={v}", "scikit-learn", "numpy", "pandas"],
        "",
    ),
    "conda.yaml only": (
        {"conda.yaml": "dependencies:\n- python=3.11\n- pip\n- pip:\n  - mlflow=={v}\n  - scikit-learn\n"},
        ["mlflow-skinny=={v}", "scikit-learn", "numpy", "pandas"],
        "",
    ),
    "constraints": (
        {"requirements.txt": "-c pins.txt\nmlflow\nscikit-learn\n", "pins.txt": "mlflow=={v}\n"},
        ["-c constraints.serving.txt", "mlflow-skinny", "scikit-learn", "numpy", "pandas"],
        "mlflow-skinny=={v}\n",
    ),
}
FULL_CASES = {
    "an MLflow 2 pin": ("mlflow==2.17.2\nscikit-learn\n", "older than 3.11 (mlflow==2.17.2)"),
    "an upper bound below the floor": ("mlflow-skinny<3.11\nscikit-learn\n", "older than 3.11 (mlflow-skinny<3.11)"),
    "a URL": ("mlflow @ https://example.org/mlflow-3.17.2-py3-none-any.whl\n", "cannot rewrite (mlflow @ https://"),
}


def _skops(model: Path) -> list[str]:
    """The line lean adds for a scikit-learn model saved as skops (the format depends on the MLflow that logged it)."""
    flavor = yaml.safe_load((model / "MLmodel").read_text())["flavors"]["sklearn"]
    return ["skops<1"] if flavor.get("serialization_format") == "skops" else []


def _with_files(model: Path, where: Path, files: dict[str, str]) -> Path:
    copy = Path(shutil.copytree(model, where))
    (copy / "requirements.txt").unlink()
    for name, text in files.items():
        (copy / name).write_text(text)
    return copy


def _gate_profile(model: Path, asked: str) -> str:
    from mlflow_tcdeploy_plugin.scan.gate import as_served
    from mlflow_tcdeploy_plugin.scan.requirements import from_files, read_model_files

    files = read_model_files(str(model))
    return as_served(from_files(files), files, asked)[2].name


@pytest.mark.parametrize("case", LEAN_CASES)
def test_the_lean_install_is_the_model_s_requirements_as_the_gate_reads_them(
    case: str, models: dict[str, Path], tmp_path: Path
) -> None:
    import mlflow

    files, served, constraints = LEAN_CASES[case]
    version = mlflow.__version__
    model = _with_files(models["v1"], tmp_path / "m", {k: v.format(v=version) for k, v in files.items()})
    inputs, _, _ = plan(model, OPTIONS)
    assert inputs.profile == _gate_profile(model, "auto") == "lean"
    expected = [line.format(v=version) for line in served] + _skops(model)
    assert inputs.files["requirements.serving.txt"].splitlines() == expected
    assert inputs.files.get("constraints.serving.txt", "") == constraints.format(v=version)


@pytest.mark.parametrize("case", FULL_CASES)
def test_a_model_lean_cannot_serve_gets_mlflow_s_image_or_a_refusal(
    case: str, models: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from mlflow.exceptions import MlflowException

    requirements, why = FULL_CASES[case]
    model = _with_files(models["v1"], tmp_path / "m", {"requirements.txt": requirements})
    with caplog.at_level("INFO", logger="mlflow_tcdeploy_plugin"):
        assert plan(model, OPTIONS)[0].profile == _gate_profile(model, "auto") == "mlflow"
    assert "image profile mlflow: " in caplog.text and why in caplog.text
    for refuse in (
        lambda: plan(model, ImageOptions(repository="r", profile="lean")),
        lambda: _gate_profile(model, "lean"),
    ):
        with pytest.raises(MlflowException, match="image_profile=lean cannot serve this model") as refused:
            refuse()
        assert refused.value.error_code == "INVALID_PARAMETER_VALUE" and why in refused.value.message


def test_image_references() -> None:
    assert "Tk2mQ9xLw4" not in repr(ImageOptions(repository="r", username="u", password="Tk2mQ9xLw4"))
    assert [registry_of(r) for r in ("iris", "ns/iris", "127.0.0.1:5000/iris", "localhost/iris", "a.b/c/d")] == [
        None,
        None,
        "127.0.0.1:5000",
        "localhost",
        "a.b",
    ]
    assert split_reference("127.0.0.1:5000/iris:env-1") == ("127.0.0.1:5000/iris", "env-1")
    assert split_reference("127.0.0.1:5000/iris") == ("127.0.0.1:5000/iris", "latest")
