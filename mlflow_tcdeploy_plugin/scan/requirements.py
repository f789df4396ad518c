"""A model's Python requirements, read from its metadata files without downloading its weights, and made safe to
hand to a resolver.

Order: ``requirements.txt``; else the pip section of ``conda.yaml``; else ``python_env.yaml``'s dependencies. Only
named requirements (PEP 508: name, extras, version specifiers, markers) go to the resolver, rebuilt from their parsed
form; everything else (index options, URLs, local paths, editable installs, conda packages, unreadable lines) becomes
a ``NotScanned`` entry, so the report says so and ``scan=required`` blocks unless the policy allows it. Nothing in the
model's files can choose where packages are fetched from: only the user's own options do.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METADATA_FILES = ("requirements.txt", "conda.yaml", "python_env.yaml", "constraints.txt", ".trivyignore", "MLmodel")
MAX_FILE_BYTES = 256 * 1024
"""Larger requirement files are refused whole: real ones are a few KB; a huge one is an attack or a mistake."""
MAX_REQUIREMENTS = 2000
_INCLUDE_RE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s+|\s*=\s*|(?<=-[rc]))(?P<file>\S+)$")
_INDEX_OPTIONS = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host", "--no-index")
_HASH_RE = re.compile(r"\s--hash[=\s]\S+")
_CONDA_SKIP = {"python", "pip"}
PYTHON_VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+)?$")
"""A Python version the gate resolves for: X.Y or X.Y.Z."""
ENV_FILES = ("requirements.txt", "conda.yaml", "python_env.yaml")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class NotScanned:
    requirement: str
    reason: str


@dataclass
class ModelRequirements:
    source: str
    """The file the list came from."""
    requirements: list[str] = field(default_factory=list)
    """Named PEP 508 requirements, as rebuilt from their parsed form."""
    constraints: list[str] = field(default_factory=list)
    not_scanned: list[NotScanned] = field(default_factory=list)
    python_version: str = ""
    """From python_env.yaml, conda.yaml's ``python=`` or MLmodel; ``""`` when the model names none."""
    ignore_file: str = ""
    """The model's ``.trivyignore``, if it has one."""

    def names(self) -> set[str]:
        from packaging.requirements import Requirement

        return {normalize(Requirement(r).name) for r in self.requirements}


def _logical_lines(text: str) -> list[str]:
    """Physical lines joined where one ends in a backslash, as pip reads them (hash-pinned files wrap that way)."""
    return re.sub(r"\\\r?\n", " ", text).splitlines()


def _strip(line: str) -> str:
    return re.sub(r"(^|\s)#.*$", "", line).strip()


def _named(line: str) -> tuple[str | None, str]:
    """``(requirement, "")`` for a plain named requirement, else ``(None, why it is not scanned)``."""
    from packaging.requirements import InvalidRequirement, Requirement

    text = _HASH_RE.sub("", f" {line}").strip()  # pip's per-line hashes: the resolver gives its own
    if text.startswith(("-e", "--editable")):
        return None, "an editable install (-e)"
    if text.startswith("-"):
        option = text.split()[0].split("=")[0]
        if option in _INDEX_OPTIONS:
            return None, (
                f"{option} in the model's files: a model does not choose where packages come from; give "
                "pip_index_url / pip_extra_index_url yourself"
            )
        return None, f"the pip option {option} is not honoured by the gate"
    if text.startswith((".", "/", "~", "file:")) or ("@" not in text and text.endswith((".whl", ".tar.gz", ".zip"))):
        return None, "a local file or directory"
    try:
        parsed = Requirement(text)
    except InvalidRequirement as exc:
        return None, f"not a valid requirement ({str(exc).splitlines()[0][:120]})"
    if parsed.url:
        return None, "installed from a URL"
    return str(parsed), ""


def _add_lines(
    text: str, files: dict[str, str], reqs: ModelRequirements, into: list[str], seen: tuple[str, ...] = ()
) -> None:
    """Add the requirements in ``text``; ``-r``/``-c`` files are read from ``files`` (the model's own)."""
    for raw in _logical_lines(text):
        line = _strip(raw)
        if not line:
            continue
        include = _INCLUDE_RE.match(line)
        if include:
            name, target = include["file"], (reqs.constraints if include[1] in ("-c", "--constraint") else into)
            if name in seen:
                reqs.not_scanned.append(NotScanned(line, f"{name} includes itself"))
            elif name in files and len(files[name].encode()) > MAX_FILE_BYTES:
                reqs.not_scanned.append(NotScanned(line, f"{name} is larger than the {MAX_FILE_BYTES}-byte limit"))
            elif name in files:
                _add_lines(files[name], files, reqs, target, (*seen, name))
            else:
                reqs.not_scanned.append(NotScanned(line, f"{name} is not a file of the model"))
            continue
        requirement, why = _named(line)
        if requirement is None:
            reqs.not_scanned.append(NotScanned(line[:200], why))
        elif len(into) >= MAX_REQUIREMENTS:
            reqs.not_scanned.append(NotScanned(line[:200], f"more than {MAX_REQUIREMENTS} requirements"))
        else:
            into.append(requirement)


def python_version(files: dict[str, str]) -> str:
    """The model's Python version (``X.Y`` or ``X.Y.Z``) from python_env.yaml, conda.yaml's ``python=`` pin or
    MLmodel; ``""`` when none names one. Read from the text: YAML would read an unquoted ``3.10`` as 3.1."""
    import yaml

    candidates = [
        *re.findall(r"(?m)^python:\s*['\"]?([^\s'\"#]+)", files.get("python_env.yaml", "")),
        *re.findall(r"(?m)^\s*-\s*['\"]?python\s*=+\s*([^\s'\"#]+)", files.get("conda.yaml", "")),
    ]
    try:
        mlmodel = yaml.safe_load(files.get("MLmodel", "")) or {}
        pyfunc = ((mlmodel.get("flavors") or {}).get("python_function") or {}) if isinstance(mlmodel, dict) else {}
        candidates.append(str(pyfunc.get("python_version") or "") if isinstance(pyfunc, dict) else "")
    except (yaml.YAMLError, AttributeError):
        pass  # a broken MLmodel names no version; the resolution then says the model names none
    return next((c for c in candidates if PYTHON_VERSION_RE.match(c)), "")


def _listed(value: Any) -> list[str]:
    """A YAML list of requirement strings; anything else (a string would be read letter by letter) is none."""
    return [str(item) for item in value] if isinstance(value, list) else []


def _too_large(files: dict[str, str]) -> list[NotScanned]:
    return [
        NotScanned(f"(the whole {name})", f"larger than the {MAX_FILE_BYTES}-byte limit")
        for name, text in files.items()
        if name in ENV_FILES and len(text.encode()) > MAX_FILE_BYTES
    ]


def from_files(files: dict[str, str]) -> ModelRequirements:
    """The model's requirements from its metadata files (name → text)."""
    import yaml

    def load(name: str) -> dict[str, Any]:
        try:
            data = yaml.safe_load(files.get(name, "")) or {}
        except yaml.YAMLError:
            return {}
        return data if isinstance(data, dict) else {}

    env, conda = load("python_env.yaml"), load("conda.yaml")
    too_large = _too_large(files)
    if too_large:
        reqs = ModelRequirements("(too large)", not_scanned=too_large)
    elif "requirements.txt" in files:
        reqs = ModelRequirements("requirements.txt")
        _add_lines(files["requirements.txt"], files, reqs, reqs.requirements)
    elif "conda.yaml" in files:
        reqs = ModelRequirements("conda.yaml")
        items = conda.get("dependencies")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and "pip" in item:
                _add_lines("\n".join(_listed(item["pip"])), files, reqs, reqs.requirements)
            elif isinstance(item, str) and normalize(re.split(r"[^A-Za-z0-9._-]", item, maxsplit=1)[0]) in _CONDA_SKIP:
                continue
            else:
                reqs.not_scanned.append(NotScanned(str(item)[:200], "a conda package (the gate resolves pip packages)"))
    elif "python_env.yaml" in files:
        reqs = ModelRequirements("python_env.yaml")
        _add_lines("\n".join(_listed(env.get("dependencies"))), files, reqs, reqs.requirements)
    else:
        reqs = ModelRequirements("(none)")
        reqs.not_scanned.append(
            NotScanned("(the whole model)", "it has no requirements.txt, conda.yaml or python_env.yaml")
        )
    reqs.python_version = python_version(files)
    reqs.ignore_file = files.get(".trivyignore", "")
    return reqs


def read_model_files(model_uri: str) -> dict[str, str]:
    """Download only the model's metadata files (never its weights) and return their text."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    repo = get_artifact_repository(model_uri)
    sizes = {Path(f.path).name: f.file_size for f in repo.list_artifacts("") if not f.is_dir}
    files: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, size in sorted(sizes.items()):
            if name not in METADATA_FILES and not name.endswith(".txt"):
                continue
            if size is not None and size > MAX_FILE_BYTES and name != "MLmodel":
                # Not downloaded: a stand-in of the same size says "too large" if the install would read it.
                files[name] = " " * (MAX_FILE_BYTES + 1)
                continue
            files[name] = Path(repo.download_artifacts(name, dst_path=tmp)).read_text(errors="replace")
    return files
