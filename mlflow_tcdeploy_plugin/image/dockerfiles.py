"""The two Dockerfiles, split for reuse. The environment image is either profile's (``serving_stack``): ``mlflow``
is MLflow's own generation (``mlflow.models.docker_utils.generate_dockerfile``: the serving stack of ``mlflow models
build-docker``, nginx in front of the scoring server on port 8080); ``lean`` is written here (mlflow-skinny, MLflow's
scoring server command on port 8080 itself, a non-root user).

- the environment image installs the model's dependencies from its environment files only, so every model version
  with the same requirements shares it;
- the model image is ``FROM`` the environment image plus ``COPY`` of the model, a thin layer.

With the gate's lock (every package the install needs, pinned, with hashes), the environment image installs exactly
that set with ``--no-deps`` in place of MLflow's own installs: what the gate judged is what ships, and two builds of
one model install the same bytes.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..serving_stack import LEAN, LEAN_CONSTRAINTS
from .keys import ENV_FILES, MLMODEL, EnvInputs

MODEL_DIR = "/opt/ml/model"
ENV_CONTEXT = "model-env"
MODEL_CONTEXT = "model"
CA_FILE = "extra-ca.pem"
LOCK_FILE = "requirements.lock"
LEAN_REQUIREMENTS = "requirements.serving.txt"
SERVE_WRITER = "tcdeploy_serve.py"
SERVE = "/usr/local/bin/tcdeploy-serve"
LEAN_UID = 10001
SERVE_WRITER_CODE = """\
# Writes the lean image's entrypoint from this MLflow's own scoring server command (mlflow models serve's), on 8080.
import shlex
import sys

from mlflow.pyfunc import scoring_server

command, env = scoring_server.get_cmd(model_uri=sys.argv[2], host="0.0.0.0", port=8080)
model = env[scoring_server._SERVER_MODEL_PATH]
with open(sys.argv[1], "w") as out:
    out.write(
        "#!/bin/sh\\n"
        f"export {scoring_server._SERVER_MODEL_PATH}={shlex.quote(model)}\\n"
        f'exec {command} --workers "${{MLFLOW_MODELS_WORKERS:-$(nproc)}}"\\n'
    )
"""
_MLFLOW_INSTALL_RE = re.compile(r"^RUN pip install mlflow==\S+\n", re.MULTILINE)
ENTRYPOINT = "from mlflow.models import container as C; C._serve('local')"
NGINX_LOGS = (
    "# nginx's logs are links to the container's output before it starts: MLflow's entrypoint makes them while\n"
    "# nginx starts, and nginx opening a log while its link is made fails (EEXIST) once in a while\n"
    "RUN ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log\n"
)
INSTALL = (
    "from mlflow.models import container as C; "
    f"C._install_pyfunc_deps('{MODEL_DIR}', install_mlflow=False, env_manager='local');"
)


def _trust_and_index_steps(inputs: EnvInputs, ca_bundle: bool) -> str:
    """Steps every later RUN needs: the extra CA certificates and the package index (before MLflow's installs)."""
    steps = []
    if ca_bundle:
        bundle = "/etc/tcdeploy/ca-bundle.pem"
        steps += [
            "# Trust the extra CA certificates the build needs (networks that intercept TLS)",
            f"COPY {CA_FILE} /etc/tcdeploy/{CA_FILE}",
            f"RUN (cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null; cat /etc/tcdeploy/{CA_FILE}) > {bundle}",
            f"ENV PIP_CERT={bundle} REQUESTS_CA_BUNDLE={bundle} SSL_CERT_FILE={bundle}",
        ]
    if inputs.pip_index_url or inputs.pip_extra_index_url:
        steps.append("# The package index to install from")
        if inputs.pip_index_url:
            steps.append(f"ENV PIP_INDEX_URL={inputs.pip_index_url}")
        if inputs.pip_extra_index_url:
            steps.append(f"ENV PIP_EXTRA_INDEX_URL={inputs.pip_extra_index_url}")
    return "\n".join(steps)


def _install_steps(inputs: EnvInputs) -> str:
    """How the environment image installs the model's dependencies: the gate's lock, else MLflow's own install."""
    install = [
        "# The model's environment files only (the model image adds the model): every version with the same",
        "# requirements shares this image.",
        f"COPY {ENV_CONTEXT} {MODEL_DIR}",
    ]
    if inputs.lock:
        install += [
            "# Exactly the set the dependency gate resolved and judged (MLflow and the scoring server included)",
            f"RUN pip install --no-cache-dir --no-deps --require-hashes -r {MODEL_DIR}/{LOCK_FILE}",
        ]
    else:
        install.append(f'RUN python -c "{INSTALL}"')
    if inputs.apt_packages:
        install.append(f"RUN apt-get install -y --no-install-recommends {' '.join(inputs.apt_packages)}")
    return "\n".join(install)


def _copy_env_files(context: Path, inputs: EnvInputs, ca_bundle: Path | None) -> None:
    """What the environment Dockerfile copies: the environment files, the lock and the CA bundle."""
    env_dir = context / ENV_CONTEXT
    env_dir.mkdir(parents=True)
    for name, text in inputs.files.items():
        (env_dir / name).write_text(text)
    if ca_bundle is not None:
        shutil.copyfile(ca_bundle, context / CA_FILE)
    if inputs.lock:
        (env_dir / LOCK_FILE).write_text(inputs.lock)


def _lean_install(inputs: EnvInputs) -> str:
    if inputs.lock:
        return (
            "# Exactly the set the dependency gate resolved and judged (mlflow-skinny, the scoring server included)\n"
            f"RUN python -m pip install --no-deps --require-hashes -r {MODEL_DIR}/{LOCK_FILE}"
        )
    return (
        "# The model's requirements with mlflow-skinny for mlflow, and the scoring server's libraries\n"
        f"RUN python -m pip install -r {MODEL_DIR}/{LEAN_REQUIREMENTS}"
    )


def _lean_dockerfile(inputs: EnvInputs, trust: str) -> str:
    apt = ""
    if inputs.apt_packages:
        apt = (
            "# Libraries the model's flavor loads\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends "
            f"{' '.join(inputs.apt_packages)} && rm -rf /var/lib/apt/lists/*\n"
        )
    return f"""\
# The lean serving image of mlflow-tcdeploy-plugin (image_profile=lean): mlflow-skinny and the model's dependencies,
# MLflow's scoring server (uvicorn) on port 8080 without nginx, run by a non-root user.
FROM {inputs.base_image}
{trust}
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PYTHONUNBUFFERED=1
{apt}
COPY {ENV_CONTEXT} {MODEL_DIR}
{_lean_install(inputs)}

# The entrypoint: the command of this MLflow's scoring server (as mlflow models serve runs it), written at build
COPY {SERVE_WRITER} /tmp/{SERVE_WRITER}
RUN python /tmp/{SERVE_WRITER} {SERVE} {MODEL_DIR} && chmod 0755 {SERVE} && rm /tmp/{SERVE_WRITER} \\
    && (id -u {LEAN_UID} >/dev/null 2>&1 || useradd --create-home --uid {LEAN_UID} mlflow)
ENV MLFLOW_DISABLE_ENV_CREATION=True
USER {LEAN_UID}
WORKDIR /home/mlflow
EXPOSE 8080
ENTRYPOINT ["{SERVE}"]
"""


def write_env_context(context: Path, inputs: EnvInputs, ca_bundle: Path | None) -> str:
    """Fill ``context`` for the environment image (its environment files, the CA bundle); return the Dockerfile."""
    _copy_env_files(context, inputs, ca_bundle)
    readable(context)
    trust = _trust_and_index_steps(inputs, ca_bundle is not None)
    if inputs.profile == LEAN:
        (context / SERVE_WRITER).write_text(SERVE_WRITER_CODE)
        dockerfile = _lean_dockerfile(inputs, trust)
    else:
        dockerfile = _mlflow_dockerfile(context, inputs, trust)
    (context / "Dockerfile").write_text(dockerfile)
    return dockerfile


def _mlflow_dockerfile(context: Path, inputs: EnvInputs, trust: str) -> str:
    """MLflow's own serving Dockerfile, installing the gate's lock when there is one."""
    from mlflow.models import docker_utils

    docker_utils.generate_dockerfile(
        output_dir=str(context),
        base_image=inputs.base_image,
        model_install_steps=_install_steps(inputs),
        entrypoint=ENTRYPOINT,
        env_manager="local",
        disable_env_creation_at_runtime=True,
    )
    dockerfile = (context / "Dockerfile").read_text()
    if inputs.lock:
        dockerfile = _MLFLOW_INSTALL_RE.sub("", dockerfile)  # the lock holds MLflow at the version judged
    if "nginx" in dockerfile:
        dockerfile = dockerfile.replace("\nENTRYPOINT ", f"\n{NGINX_LOGS}\nENTRYPOINT ", 1)
    if trust:
        start = f"FROM {inputs.base_image}\n"
        dockerfile = dockerfile.replace(start, f"{start}\n{trust}\n", 1)
    return dockerfile


def write_model_context(context: Path, model_dir: Path, env_image: str) -> str:
    """Fill ``context`` for the model image (the model under a fixed name); return the Dockerfile."""
    shutil.copytree(model_dir, context / MODEL_CONTEXT)
    readable(context / MODEL_CONTEXT)
    dockerfile = (
        "# The model on its environment image (built by mlflow-tcdeploy-plugin).\n"
        f"FROM {env_image}\n"
        f"COPY {MODEL_CONTEXT} {MODEL_DIR}\n"
    )
    (context / "Dockerfile").write_text(dockerfile)
    return dockerfile


def env_files(model_dir: Path, reduced_mlmodel: str, lean: tuple[str, str] | None) -> dict[str, str]:
    """The model's environment files, with the reduced MLmodel the install reads, and the lean profile's
    requirements and constraints (``lean``, when it is the profile)."""
    files = {name: (model_dir / name).read_text() for name in ENV_FILES if (model_dir / name).is_file()}
    files[MLMODEL] = reduced_mlmodel
    if lean is not None:
        requirements, constraints = lean
        files[LEAN_REQUIREMENTS] = requirements
        if constraints:
            files[LEAN_CONSTRAINTS] = constraints
    return files


def readable(root: Path) -> None:
    """Make a build context readable by any user: the classic builder keeps the files' modes, and the lean image's
    user (not root) must read the model (artifacts downloaded under a umask of 077 would not be)."""
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))
