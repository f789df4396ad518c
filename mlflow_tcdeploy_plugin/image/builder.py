"""Build, or find, the two images of an MLflow model, and push them.

Before building either image its tag is looked up locally, then in the registry (without pulling). An unchanged
model builds nothing and pushes nothing; a new version with unchanged requirements builds only the model image.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST

from .. import serving_stack
from ..log import get_logger
from ..redact import add_secret
from ..scan.requirements import from_files, read_model_files
from . import dockerfiles, keys
from .engine import Engine, ImageError, registry_of

logger = get_logger(__name__)

SERVING_PORT = 8080
"""MLflow's scoring server in the image (``/invocations``, ``/ping``)."""
LABELS = "tcdeploy."
FULL_BASES = ("python:",)
"""The bases the mlflow profile builds on: MLflow's Dockerfile generation installs nginx there with the image's own
Python (on other bases it sets Python up its own way, which the base check does not follow)."""


@dataclass(frozen=True)
class ImageOptions:
    repository: str
    tag: str | None = None
    base_image: str | None = None
    pip_index_url: str = ""
    pip_extra_index_url: str = ""
    ca_bundle: Path | None = None
    push: bool | None = None
    """None: push when the repository names a registry."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    platform: str = "linux/amd64"
    profile: str = "auto"
    """The image profile asked for (``serving_stack.CHOICES``)."""

    def __post_init__(self) -> None:
        add_secret(self.password)
        if self.password:
            add_secret(base64.b64encode(self.password.encode()).decode())

    @property
    def pushes(self) -> bool:
        return self.push if self.push is not None else registry_of(self.repository) is not None

    @property
    def auth(self) -> dict[str, str] | None:
        if self.username and self.password:
            return {"username": self.username, "password": self.password}
        return None  # the engine's own login (docker login) applies

    def pull(self, reference: str) -> ImageRef:
        """How a service pulls ``reference``: its registry and the credentials given for it."""
        return ImageRef(reference, registry_of(self.repository), self.username, self.password)


@dataclass(frozen=True)
class ImageRef:
    """An image a deployment runs, and how its registry is logged in to (the backend writes the request)."""

    reference: str
    registry: str | None
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Provenance:
    """What the labels say about the model."""

    model_uri: str
    title: str
    model_id: str = ""
    model_version: str = ""
    run_id: str = ""
    scan_status: str = ""
    scan_db_updated_at: str = ""
    scan_coverage: str = ""
    lock: str = ""
    """The gate's resolved set (with hashes) that the environment image installs; ``""``: MLflow's own install."""


@dataclass
class BuiltImage:
    reference: str
    """What a deployment runs: ``repository@digest`` once pushed, else ``repository:tag``."""
    tagged: str
    digest: str | None
    env_image: str
    env_key: str
    model_key: str
    build_dir: Path
    profile: str = ""
    built: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    reused: dict[str, str] = field(default_factory=dict)
    """Image → why it was not built again."""
    logs: list[Path] = field(default_factory=list)
    """The logs this build wrote (``build_dir`` is the model's, and keeps the logs of its earlier builds)."""
    seconds: float = 0.0
    """How long finding, building and pushing took."""
    image_scan: dict[str, Any] | None = None
    """The summary of ``trivy image`` on the model image (``scan_image``)."""
    env_scan: dict[str, Any] | None = None
    """The gate's judgement of the environment image: OS packages, and its Python packages against the lock."""

    def summary(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "tag": self.tagged,
            "digest": self.digest,
            "env_image": self.env_image,
            "env_key": self.env_key,
            "model_key": self.model_key,
            "profile": self.profile,
            "built": list(self.built),
            "pushed": list(self.pushed),
            "reused": dict(self.reused),
            "build_dir": str(self.build_dir),
            "seconds": round(self.seconds, 2),
            "image_scan": self.image_scan,
            "env_scan": self.env_scan,
        }


def _python_version(model_dir: Path) -> str:
    """The model's Python, read as the gate reads it (so the image runs the Python the gate resolved for)."""
    from ..scan.requirements import python_version

    names = ("python_env.yaml", "conda.yaml", keys.MLMODEL)
    version = python_version({n: (model_dir / n).read_text() for n in names if (model_dir / n).is_file()})
    if not version:
        raise ImageError(
            "The model names no Python version (python_env.yaml, conda.yaml or MLmodel's python_version): give "
            "base_image.",
            error_code=INVALID_PARAMETER_VALUE,
        )
    return version


def _apt_packages(mlmodel: dict[str, Any]) -> tuple[str, ...]:
    from mlflow.pyfunc.backend import FLAVOR_SPECIFIC_APT_PACKAGES

    flavors = (mlmodel.get("flavors") or {}).keys()
    return tuple(sorted({p for f in flavors for p in FLAVOR_SPECIFIC_APT_PACKAGES.get(f, [])}))


def _labels(
    provenance: Provenance, inputs: keys.EnvInputs, base: str, env_key: str, model_key: str = ""
) -> dict[str, str]:
    import mlflow

    from .._version import __version__

    labels = {
        "org.opencontainers.image.created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "org.opencontainers.image.title": provenance.title + ("" if model_key else " (environment)"),
        "org.opencontainers.image.version": provenance.model_version or (model_key or env_key)[: keys.TAG_LENGTH],
        "org.opencontainers.image.base.name": base,
        f"{LABELS}env_key": env_key,
        f"{LABELS}image.profile": inputs.profile,
        f"{LABELS}requirements.sha256": hashlib.sha256(inputs.files.get("requirements.txt", "").encode()).hexdigest(),
        f"{LABELS}scan.status": provenance.scan_status,
        f"{LABELS}scan.db_updated_at": provenance.scan_db_updated_at,
        f"{LABELS}scan.coverage": provenance.scan_coverage,
        f"{LABELS}lock.sha256": hashlib.sha256(provenance.lock.encode()).hexdigest() if provenance.lock else "",
        f"{LABELS}plugin.version": __version__,
        f"{LABELS}mlflow.version": mlflow.__version__,
    }
    if model_key:
        labels |= {
            f"{LABELS}model_key": model_key,
            f"{LABELS}model.uri": provenance.model_uri,
            f"{LABELS}model.id": provenance.model_id,
            f"{LABELS}model.version": provenance.model_version,
            f"{LABELS}model.run_id": provenance.run_id,
        }
    return labels


def _ours(image: Any, label: str, key: str) -> bool:
    """An image under the tag may be another's (a user tag reused for a new model): trust only a matching key."""
    return image is not None and (image.labels or {}).get(f"{LABELS}{label}") == key


def choose_profile(reqs: Any, mlmodel: dict[str, Any], opts: ImageOptions) -> serving_stack.Profile:
    """The model's image profile (asked, or chosen by what it needs, from its parsed requirements ``reqs`` as the
    gate chooses), and a base image it cannot be built on refused before anything is built."""
    flavors = serving_stack.flavors_of(mlmodel)
    unusable = serving_stack.unusable_lines(reqs.not_scanned)
    profile = serving_stack.choose(opts.profile, flavors, reqs.requirements, unusable)
    logger.info("tcdeploy: image profile %s: %s", profile.name, profile.reason)
    java = serving_stack.java_flavor(flavors)
    if java and (profile.name == serving_stack.FULL or not opts.base_image):
        raise ImageError(
            f"The model's {java} flavor loads through a Java runtime, which no python:<version> base image has: give "
            "image_profile=lean and base_image=<a Debian or Ubuntu image with Java, the model's Python and pip> "
            "(checked before the build).",
            error_code=INVALID_PARAMETER_VALUE,
        )
    if profile.name == serving_stack.FULL and opts.base_image and not opts.base_image.startswith(FULL_BASES):
        raise ImageError(
            f"image_profile=mlflow builds MLflow's own serving image, on python:<version> base images only, not on "
            f"{opts.base_image}: give a python:<version> base_image, or image_profile=lean (any Debian or Ubuntu "
            "image with the model's Python and pip).",
            error_code=INVALID_PARAMETER_VALUE,
        )
    return profile


def plan(model_dir: Path, opts: ImageOptions, lock: str = "") -> tuple[keys.EnvInputs, str, str]:
    """What the images of the model in ``model_dir`` would be made of: the environment's inputs, its key and the
    model key. No engine is needed. ``lock``: the gate's resolved set, installed as it is."""
    import mlflow

    mlmodel = yaml.safe_load((model_dir / keys.MLMODEL).read_text()) or {}
    python_version = _python_version(model_dir)
    reqs = from_files(read_model_files(str(model_dir)))
    profile = choose_profile(reqs, mlmodel, opts).name
    lean = None
    if profile == serving_stack.LEAN:
        lean = serving_stack.lean_requirements_file(reqs.requirements, reqs.constraints, mlflow.__version__, mlmodel)
    inputs = keys.EnvInputs(
        profile=profile,
        base_image=opts.base_image or f"python:{python_version}-slim",
        platform=opts.platform,
        python_version=python_version,
        files=dockerfiles.env_files(model_dir, keys.env_mlmodel(mlmodel), lean),
        mlflow_version=mlflow.__version__,
        pip_index_url=opts.pip_index_url,
        pip_extra_index_url=opts.pip_extra_index_url,
        ca_bundle_sha256=hashlib.sha256(opts.ca_bundle.read_bytes()).hexdigest() if opts.ca_bundle else "",
        apt_packages=_apt_packages(mlmodel),
        lock=lock,
    )
    env_key = inputs.key()
    return inputs, env_key, keys.model_key(env_key, model_dir)


_SYSTEM_PYTHON = (
    'import os, sys, sysconfig; path = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"); '
    "raise SystemExit(sys.prefix == sys.base_prefix and os.path.exists(path))"
)
_OLD_LIBC = (
    "import platform; name, version = platform.libc_ver(); "
    'raise SystemExit(name != "glibc" or tuple(map(int, version.split(".")[:2])) < (2, 28))'
)


def base_needs(inputs: keys.EnvInputs, java: str | None) -> str:
    """A shell check of a base image: prints what the environment image's Dockerfile needs and the base lacks."""
    python = ".".join(inputs.python_version.split(".")[:2])
    checks = [
        "command -v python >/dev/null || { echo 'no python on PATH'; exit 0; }",
        "v=$(python -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])')",
        f'[ "$v" = {python} ] || {{ echo "its python is $v, the model\'s is {python}"; exit 0; }}',
        'python -m pip --version >/dev/null 2>&1 || { echo "no pip for its python"; exit 0; }',
        f"python -c '{_SYSTEM_PYTHON}' || echo \"its python is the system's, which pip refuses to install into "
        '(EXTERNALLY-MANAGED): use an image with its own Python, or a virtual environment first on PATH"',
        f"python -c '{_OLD_LIBC}' || echo 'its C library is not glibc 2.28 or newer (the gate resolves "
        "manylinux_2_28 wheels)'",
    ]
    if inputs.profile == serving_stack.LEAN:
        checks.append("command -v useradd >/dev/null || echo 'no useradd (the image runs as a user it makes)'")
    if inputs.apt_packages:
        checks.append("command -v apt-get >/dev/null || echo 'no apt-get (the flavor needs system libraries)'")
    if java:
        checks.append(f"command -v java >/dev/null || echo 'no java on PATH (the {java} flavor loads through it)'")
    return "\n".join(checks)


class Builder:
    def __init__(self, options: ImageOptions, build_root: Path, engine: Engine | None = None) -> None:
        self.options = options
        self.build_root = build_root
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine.connect()
        return self._engine

    def build(self, model_path: str, provenance: Provenance, need_local: bool = False) -> BuiltImage:
        """Build or find the images of the model at ``model_path``; push them when the options say so.
        ``need_local``: the model image must end up on this engine (to run it here)."""
        from mlflow.artifacts import download_artifacts

        opts, started = self.options, time.monotonic()
        with tempfile.TemporaryDirectory(prefix="tcdeploy-build-") as tmp:
            env_context, model_context = Path(tmp) / "env", Path(tmp) / "model"
            downloaded = Path(download_artifacts(artifact_uri=model_path, dst_path=str(Path(tmp) / "download")))
            inputs, env_key, model_key = plan(downloaded, opts, provenance.lock)
            base = inputs.base_image
            result = self._new_result(env_key, model_key)
            result.profile = inputs.profile
            self._write_contexts(result, inputs, downloaded, env_context, model_context)
            model_labels = _labels(provenance, inputs, result.env_image, env_key, model_key)
            env_labels = _labels(provenance, inputs, base, env_key)

            image = self._find_model(result, need_local)
            if image is None and result.digest is None:
                mlmodel = yaml.safe_load((downloaded / keys.MLMODEL).read_text()) or {}
                java = serving_stack.java_flavor(serving_stack.flavors_of(mlmodel))
                self._ensure_env(result, env_context, env_labels, inputs, java)
                image = self._build_model(result, model_context, model_labels)
            if image is not None and opts.pushes:
                result.digest = self._push(image, result.tagged, result)
        if result.digest:
            result.reference = f"{opts.repository}@{result.digest}"
        result.seconds = time.monotonic() - started
        return result

    def _new_result(self, env_key: str, model_key: str) -> BuiltImage:
        """The images' names, before anything is found or built; its build directory made."""
        opts = self.options
        model_ref = f"{opts.repository}:{opts.tag or keys.model_tag(model_key)}"
        result = BuiltImage(
            reference=model_ref,
            tagged=model_ref,
            digest=None,
            env_image=f"{opts.repository}:{keys.env_tag(env_key)}",
            env_key=env_key,
            model_key=model_key,
            build_dir=self.build_root / keys.model_tag(model_key),
        )
        result.build_dir.mkdir(parents=True, exist_ok=True)
        return result

    def _write_contexts(
        self, result: BuiltImage, inputs: keys.EnvInputs, model_dir: Path, env_context: Path, model_context: Path
    ) -> None:
        """Fill both build contexts. Their Dockerfiles are kept next to the build logs every time, built or not:
        what the images are made of."""
        env_dockerfile = dockerfiles.write_env_context(env_context, inputs, self.options.ca_bundle)
        (result.build_dir / "Dockerfile.env").write_text(env_dockerfile)
        model_dockerfile = dockerfiles.write_model_context(model_context, model_dir, result.env_image)
        (result.build_dir / "Dockerfile.model").write_text(model_dockerfile)

    def ensure_local(self, reference: str) -> None:
        """Have ``reference`` on this engine (pulled from the registry when only it has the image)."""
        if self.engine.local_image(reference) is None:
            self.engine.pull(reference, self.options.auth)

    # --- the two images --------------------------------------------------------------------------------------------
    def _in_registry(self, reference: str) -> str | None:
        """The registry's digest for ``reference``; a registry that cannot be asked stops a build that must push."""
        if registry_of(self.options.repository) is None:
            return None
        try:
            return self.engine.registry_digest(reference, self.options.auth)
        except ImageError:
            if self.options.pushes:
                raise
            logger.warning("tcdeploy: the registry of %s cannot be asked; building without it", reference)
            return None

    def _find_model(self, result: BuiltImage, need_local: bool) -> Any | None:
        """The model image on this engine, or (with a content tag) its digest in the registry; None to build."""
        ref = result.tagged
        image = self.engine.local_image(ref)
        if _ours(image, "model_key", result.model_key):
            result.reused[ref] = "on this engine already (same model key)"
            logger.info("tcdeploy: reused %s: this engine has it (model key %s)", ref, result.model_key[:12])
            return image
        if self.options.tag is not None:
            return None  # a tag the user chose says nothing about what the registry holds under it
        digest = self._in_registry(ref)
        if digest is None:
            return None
        if not need_local:
            result.reused[ref] = f"in the registry as {digest} (same model key)"
            logger.info("tcdeploy: reused %s: the registry has it (model key %s)", ref, result.model_key[:12])
            result.digest = digest
            return None
        self.engine.pull(ref, self.options.auth)
        result.reused[ref] = f"pulled from the registry ({digest}, same model key)"
        return self.engine.local_image(ref)

    def _ensure_env(
        self, result: BuiltImage, context: Path, labels: dict[str, str], inputs: keys.EnvInputs, java: str | None
    ) -> None:
        ref, base = result.env_image, inputs.base_image
        if _ours(self.engine.local_image(ref), "env_key", result.env_key):
            result.reused[ref] = "on this engine already (same environment key)"
            logger.info("tcdeploy: reused %s: this engine has it (environment key %s)", ref, result.env_key[:12])
            return
        digest = self._in_registry(ref)
        if digest is not None:
            self.engine.pull(ref, self.options.auth)
            result.reused[ref] = f"pulled from the registry ({digest}, same environment key)"
            return
        if self.options.base_image:
            self._check_base(inputs, java)
        self.engine.build(context, ref, labels, self.options.platform, result.build_dir / "build-env.log", base)
        result.logs.append(result.build_dir / "build-env.log")
        result.built.append(ref)
        if self.options.pushes:
            image = self.engine.local_image(ref)
            if image is not None:
                self._push(image, ref, result)

    def _check_base(self, inputs: keys.EnvInputs, java: str | None) -> None:
        """A base image the user gave, run once before the build: what the profile's Dockerfile needs must be in it
        (else the build would fail half-way, or the image fail at start)."""
        needs = base_needs(inputs, java)
        if self.engine.local_image(inputs.base_image) is None:
            try:
                self.engine.pull(inputs.base_image, None)
            except ImageError as exc:
                raise ImageError(
                    f"The base image {inputs.base_image} cannot be pulled: {exc.message}\nGive base_image=<an image "
                    "your engine has or can pull>, or pull it first.",
                    error_code=RESOURCE_DOES_NOT_EXIST,
                ) from None
        missing = self.engine.run_check(inputs.base_image, needs)
        if missing:
            raise ImageError(
                f"base_image {inputs.base_image} cannot serve this model with image_profile={inputs.profile}: "
                f"{missing}. Use an image with what is missing added (e.g. a CUDA runtime image with the model's "
                f"Python and pip installed), or the default python:{inputs.python_version}-slim.",
                error_code=INVALID_PARAMETER_VALUE,
            )

    def _build_model(self, result: BuiltImage, context: Path, labels: dict[str, str]) -> Any | None:
        """Build the model image on its environment image; return it."""
        ref = result.tagged
        log_path = result.build_dir / "build-model.log"
        self.engine.build(context, ref, labels, self.options.platform, log_path, result.env_image)
        result.logs.append(log_path)
        result.built.append(ref)
        return self.engine.local_image(ref)

    def _push(self, image: Any, ref: str, result: BuiltImage) -> str:
        """Push ``image`` as ``ref`` unless the registry already has this very image under it."""
        repository = ref.rsplit(":", 1)[0]
        digest = self._in_registry(ref)
        if digest is not None and digest in self.engine.pushed_digest(image, repository):
            result.reused.setdefault(ref, f"already in the registry as {digest}")
            return digest
        log_path = result.build_dir / "push.log"
        digest = self.engine.push(ref, self.options.auth, log_path)
        result.logs += [] if log_path in result.logs else [log_path]
        result.pushed.append(ref)
        logger.info("tcdeploy: pushed %s (%s)", ref, digest)
        return digest
