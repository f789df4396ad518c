"""Resolution: a model's requirements → the complete, pinned set the install would produce where the model runs.

uv (``uv pip compile``) resolves for a Python version and a Linux platform that need not be this machine's, with the
index options the image build uses and nothing else: ``--no-config`` and no ``UV_*`` variable but the cache, so
neither a uv config nor the model's files can change where packages come from. Its output carries each package's
hashes and which packages pulled it in (``# via``), from which every package's chain back to a direct requirement
is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, TEMPORARILY_UNAVAILABLE

from .._subprocess import CommandError, run
from ..log import get_logger
from .requirements import PYTHON_VERSION_RE, normalize

logger = get_logger(__name__)

ENV_UV_BIN = "TCDEPLOY_UV_BIN"
DEFAULT_INDEX = "https://pypi.org/simple"
SERVING = "(serving stack)"
"""The root of the chain of a package the serving stack brings in."""
_PLATFORMS = {"linux/amd64": "x86_64-manylinux_2_28", "linux/arm64": "aarch64-manylinux_2_28"}
_LINE_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)")
_HASH_RE = re.compile(r"--hash=(?P<hash>sha256:[0-9a-f]{64})")
_UV_KEPT = {"UV_CACHE_DIR"}
"""uv settings that do not change what is resolved; every other ``UV_*`` variable is dropped."""
_UNREACHABLE = ("failed to fetch", "error sending request", "dns error", "connection", "timed out", "certificate")


class ResolveError(Exception):
    """The requirements could not be resolved; ``error_code`` tells the model's fault from the network's."""

    def __init__(self, message: str, error_code: int = INVALID_PARAMETER_VALUE) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code


@dataclass(frozen=True)
class Target:
    """Where the model runs and where its packages come from: the resolution's whole input besides the list."""

    python_version: str
    platform: str = "linux/amd64"
    index_url: str = ""
    extra_index_url: str = ""
    ca_bundle: str = ""
    allow_builds: bool = False
    """Let uv build source distributions to read their dependencies: that runs the packages' build code here."""

    def describe(self) -> dict[str, str]:
        return {"python_version": self.python_version, "platform": self.platform}


@dataclass(frozen=True)
class Package:
    name: str
    """Normalised (PEP 503)."""
    version: str
    hashes: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    """Normalised names of the packages that require it; empty for a direct requirement alone."""
    direct: bool = False
    serving: bool = False
    """Asked for by the serving stack (not the model)."""


@dataclass
class Resolution:
    packages: dict[str, Package] = field(default_factory=dict)

    def pins(self) -> str:
        """One ``name==version`` a line, sorted: what Trivy scans."""
        return "".join(f"{p.name}=={p.version}\n" for p in sorted(self.packages.values(), key=lambda p: p.name))

    def lock(self) -> str:
        """Pins with every hash the index gave: what the environment image installs (``--require-hashes``)."""
        lines = []
        for p in sorted(self.packages.values(), key=lambda p: p.name):
            lines.append(" \\\n    ".join([f"{p.name}=={p.version}", *(f"--hash={h}" for h in p.hashes)]))
        return "".join(f"{line}\n" for line in lines)

    def chain(self, name: str) -> list[str]:
        """The shortest chain from a direct requirement (or the serving stack) to ``name``."""
        name = normalize(name)
        if name not in self.packages:
            return [name]
        paths, queue = {name: [name]}, [name]
        while queue:
            current = queue.pop(0)
            package = self.packages.get(current)
            if package is None:
                continue
            if package.direct:
                return paths[current]
            if package.serving:
                return [SERVING, *paths[current]]
            for parent in package.parents:
                if parent not in paths:
                    paths[parent] = [parent, *paths[current]]
                    queue.append(parent)
        return [name]

    def children(self, name: str) -> list[str]:
        return sorted(p.name for p in self.packages.values() if name in p.parents)

    def to_text(self) -> str:
        return json.dumps({"packages": [p.__dict__ for p in self.packages.values()]}, sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> Resolution:
        data = json.loads(text)
        packages = {}
        for p in data["packages"]:
            packages[p["name"]] = Package(
                p["name"], p["version"], tuple(p["hashes"]), tuple(p["parents"]), p["direct"], p["serving"]
            )
        return cls(packages)


def uv_binary() -> str:
    """``$TCDEPLOY_UV_BIN``, the uv that the ``uv`` package installed next to this Python, or uv on PATH."""
    configured = os.environ.get(ENV_UV_BIN)
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        raise ResolveError(f"{ENV_UV_BIN}={configured!r} is not an executable file.")
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
    if not found:
        raise ResolveError(
            "uv, the resolver the gate uses to find every package a model installs, is not installed: "
            "`pip install uv` (a dependency of mlflow-tcdeploy-plugin), or set TCDEPLOY_UV_BIN to its path.",
            TEMPORARILY_UNAVAILABLE,
        )
    return found


def cache_key(requirements: list[str], constraints: list[str], serving: list[str], target: Target) -> str:
    ca = hashlib.sha256(Path(target.ca_bundle).read_bytes()).hexdigest() if target.ca_bundle else ""
    material = json.dumps([requirements, constraints, serving, target.__dict__, ca], sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


def _python_platform(platform: str) -> str:
    try:
        return _PLATFORMS[platform]
    except KeyError:
        raise ResolveError(
            f"The gate resolves for {', '.join(_PLATFORMS)}; platform {platform!r} is not one of them."
        ) from None


def _environment(target: Target, tmp: Path) -> dict[str, str]:
    """This process's environment without uv's settings but its cache (they could change the index); with
    ``ca_bundle``, a bundle of the usual CAs and the extra ones (uv's SSL_CERT_FILE replaces its roots)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_") or k in _UV_KEPT}
    env["UV_NO_PROGRESS"] = "1"
    if target.ca_bundle:
        import certifi

        base = os.environ.get("SSL_CERT_FILE") or certifi.where()
        bundle = tmp / "ca-bundle.pem"
        bundle.write_text(Path(base).read_text() + "\n" + Path(target.ca_bundle).read_text())
        env["SSL_CERT_FILE"] = str(bundle)
    return env


def _argv(uv: str, tmp: Path, target: Target, constraints: bool) -> list[str]:
    argv = [uv, "pip", "compile", str(tmp / "model.in"), str(tmp / "serving.in")]
    if constraints:
        argv += ["--constraint", str(tmp / "constraints.in")]
    argv += [
        "--python-version",
        target.python_version,
        "--python-platform",
        _python_platform(target.platform),
        "--no-config",
        "--no-header",
        "--annotation-style",
        "line",
        "--generate-hashes",
        "--quiet",
        "--index-url",
        target.index_url or DEFAULT_INDEX,
    ]
    if not target.allow_builds:
        argv.append("--no-build")  # a source distribution's build runs its code on this machine
    if target.extra_index_url:
        argv += ["--extra-index-url", target.extra_index_url]
    return argv


def resolve(
    requirements: list[str], constraints: list[str], serving: list[str], target: Target, timeout: float
) -> Resolution:
    """Resolve the model's ``requirements`` and the ``serving`` stack together for ``target``."""
    if not PYTHON_VERSION_RE.match(target.python_version):
        raise ResolveError(
            "The model names no Python version (X.Y or X.Y.Z in python_env.yaml, conda.yaml or MLmodel's "
            "python_version), so its install cannot be resolved: log the model again with a current MLflow."
        )
    uv = uv_binary()
    with tempfile.TemporaryDirectory(prefix="tcdeploy-resolve-") as name:
        tmp = Path(name)
        (tmp / "model.in").write_text("".join(f"{r}\n" for r in requirements))
        (tmp / "serving.in").write_text("".join(f"{r}\n" for r in serving))
        (tmp / "constraints.in").write_text("".join(f"{r}\n" for r in constraints))
        argv = _argv(uv, tmp, target, bool(constraints))
        logger.debug("tcdeploy: running %s", " ".join(argv))
        try:
            output = run(argv, timeout=timeout, env=_environment(target, tmp))
        except CommandError as exc:
            raise _resolve_error(str(exc), target) from exc
    resolution = _parse(output)
    _check_complete(resolution, requirements, serving)
    return resolution


def _check_complete(resolution: Resolution, requirements: list[str], serving: list[str]) -> None:
    """Never judge less than was asked for: an output that lost a requirement, or a package without a hash (the
    image installs with ``--require-hashes``), is an error, not a smaller set."""
    from packaging.requirements import Requirement

    wanted = [Requirement(r) for r in [*requirements, *serving]]
    missing = [str(r) for r in wanted if not r.marker and normalize(r.name) not in resolution.packages]
    if missing or not resolution.packages:
        raise ResolveError(
            f"The resolver's answer lacks {', '.join(missing) or 'every package'}: it cannot be judged. Check the "
            "uv in use (TCDEPLOY_UV_BIN)."
        )
    unhashed = sorted(p.name for p in resolution.packages.values() if not p.hashes)
    if unhashed:
        raise ResolveError(
            f"The package index gave no hash for {', '.join(unhashed[:10])}: the image could not check what it "
            "installs. Use an index that serves hashes (PEP 503 #sha256=…).",
            TEMPORARILY_UNAVAILABLE,
        )


def _resolve_error(detail: str, target: Target) -> ResolveError:
    where = target.index_url or DEFAULT_INDEX
    text = detail.strip()[-1500:]
    if any(word in text.lower() for word in _UNREACHABLE) and "no solution found" not in text.lower():
        return ResolveError(
            f"The package index {where} could not be reached to resolve the model's requirements: {text}\nGive "
            "pip_index_url (a mirror this machine reaches) and ca_bundle (for a network that intercepts TLS), or "
            "scan=auto to go on unscanned.",
            TEMPORARILY_UNAVAILABLE,
        )
    if "no usable wheels" in text or "building from source is disabled" in text:
        return ResolveError(
            f"A requirement has no wheel for Python {target.python_version} ({target.platform}) on {where}, and "
            "reading a source distribution's dependencies means building it, which runs its code on this machine: "
            f"{text}\nPin a version that ships wheels for that Python and platform, or set scan_allow_builds=true "
            "if you trust every source distribution the install pulls in."
        )
    return ResolveError(
        f"The model's requirements cannot be installed on Python {target.python_version} ({target.platform}) from "
        f"{where}: {text}\nFix the names and versions in the model's requirements (pin versions that exist for that "
        "Python and platform), or give pip_index_url / pip_extra_index_url for a private index."
    )


def _parse(output: str) -> Resolution:
    """uv's ``--annotation-style line`` output: ``name==version`` lines, their ``--hash=`` continuations, and a
    ``# via a, b`` line (``-r <file>`` for what a requirement file asked for)."""
    versions: dict[str, str] = {}
    hashes: dict[str, set[str]] = {}
    via: dict[str, list[str]] = {}
    current = ""
    for line in output.splitlines():
        match = _LINE_RE.match(line)
        if match:
            current = normalize(match["name"])
            versions[current], hashes[current], via[current] = match["version"], set(), []
        if not current:
            continue
        hashes[current].update(m["hash"] for m in _HASH_RE.finditer(line))
        annotation = re.search(r"#\s*via\s*(?P<rest>.*)$", line)
        if annotation:
            via[current] += [v.strip() for v in annotation["rest"].split(",") if v.strip()]
    packages = {
        name: Package(
            name=name,
            version=version,
            hashes=tuple(sorted(hashes[name])),
            parents=tuple(sorted({normalize(v) for v in via[name] if not v.startswith("-")})),
            direct=any(v.startswith("-r") and v.endswith("model.in") for v in via[name]),
            serving=any(v.startswith("-r") and v.endswith("serving.in") for v in via[name]),
        )
        for name, version in versions.items()
    }
    return Resolution(packages)
