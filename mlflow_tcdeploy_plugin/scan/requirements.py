"""A model's Python dependencies, read from its metadata files without downloading its weights.

Order: ``requirements.txt``; else the pip section of ``conda.yaml``; else ``python_env.yaml``'s dependencies.
What Trivy cannot scan (conda packages, unpinned requirements, local files, URLs, unresolved ``-r``/``-c``
references) is kept as a ``NotScanned`` entry, so the report says so instead of passing it silently.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METADATA_FILES = ("requirements.txt", "conda.yaml", "python_env.yaml", "constraints.txt", ".trivyignore")
_PINNED_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*(?P<version>[A-Za-z0-9.!+_-]+)$")
_INCLUDE_RE = re.compile(r"^(-r|--requirement|-c|--constraint)\s*=?\s*(?P<file>\S+)$")
_OPTION_RE = re.compile(
    r"^(--index-url|-i|--extra-index-url|--trusted-host|--find-links|-f|--pre|--no-binary|"
    r"--only-binary|--prefer-binary)\b"
)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pinned:
    name: str
    version: str

    def line(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class NotScanned:
    requirement: str
    reason: str


@dataclass
class Dependencies:
    source: str
    """The file the list came from."""
    pinned: list[Pinned] = field(default_factory=list)
    not_scanned: list[NotScanned] = field(default_factory=list)
    ignore_file: str = ""
    """The model's ``.trivyignore``, if it has one."""

    def requirements_txt(self) -> str:
        """The normalised requirements Trivy scans: one ``name==version`` a line, sorted, duplicates removed."""
        return "".join(f"{p.line()}\n" for p in sorted(set(self.pinned), key=lambda p: (p.name, p.version)))

    def digest(self) -> str:
        return hashlib.sha256(self.requirements_txt().encode()).hexdigest()


def _strip(line: str) -> str:
    return re.sub(r"(^|\s)#.*$", "", line).strip()


def parse_requirements(text: str, files: dict[str, str], deps: Dependencies, seen: tuple[str, ...] = ()) -> None:
    """Add the requirements in ``text``; ``-r``/``-c`` files are read from ``files`` (the model's own)."""
    for raw in text.splitlines():
        line = _strip(raw)
        if not line or _OPTION_RE.match(line):
            continue
        include = _INCLUDE_RE.match(line)
        if include:
            name = include["file"]
            if name in files and name not in seen:
                parse_requirements(files[name], files, deps, (*seen, name))
            else:
                deps.not_scanned.append(NotScanned(line, f"{name} is not a file of the model"))
            continue
        requirement = line.split(";", 1)[0].strip()  # environment markers do not change what is installed here
        pinned = _PINNED_RE.match(requirement)
        if pinned:
            deps.pinned.append(Pinned(normalize(pinned["name"]), pinned["version"]))
        elif "://" in requirement or " @ " in requirement:
            deps.not_scanned.append(NotScanned(line, "installed from a URL"))
        elif requirement.startswith(("-e", "--editable", ".", "/", "file:")) or requirement.endswith(".whl"):
            deps.not_scanned.append(NotScanned(line, "a local file or directory"))
        else:
            deps.not_scanned.append(NotScanned(line, "no pinned version (name==version)"))


def from_files(files: dict[str, str]) -> Dependencies:
    """Dependencies from the model's metadata files (name → text)."""
    import yaml

    if "requirements.txt" in files:
        deps = Dependencies("requirements.txt")
        parse_requirements(files["requirements.txt"], files, deps)
    elif "conda.yaml" in files:
        deps = Dependencies("conda.yaml")
        env = yaml.safe_load(files["conda.yaml"]) or {}
        for item in env.get("dependencies") or []:
            if isinstance(item, dict) and "pip" in item:
                parse_requirements("\n".join(str(r) for r in item["pip"] or []), files, deps)
            elif isinstance(item, str) and normalize(re.split(r"[^A-Za-z0-9._-]", item, maxsplit=1)[0]) != "pip":
                deps.not_scanned.append(NotScanned(item, "a conda package (Trivy scans pip requirements only)"))
    elif "python_env.yaml" in files:
        deps = Dependencies("python_env.yaml")
        env = yaml.safe_load(files["python_env.yaml"]) or {}
        parse_requirements("\n".join(str(r) for r in env.get("dependencies") or []), files, deps)
    else:
        deps = Dependencies("(none)")
        deps.not_scanned.append(
            NotScanned("(the whole model)", "it has no requirements.txt, conda.yaml or python_env.yaml")
        )
    deps.ignore_file = files.get(".trivyignore", "")
    return deps


def read_model_files(model_uri: str) -> dict[str, str]:
    """Download only the model's metadata files (never its weights) and return their text."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    repo = get_artifact_repository(model_uri)
    present = {Path(f.path).name for f in repo.list_artifacts("") if not f.is_dir}
    files: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(present):
            if name in METADATA_FILES or name.endswith(".txt"):
                files[name] = Path(repo.download_artifacts(name, dst_path=tmp)).read_text(errors="replace")
    return files
