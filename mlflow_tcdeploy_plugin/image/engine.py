"""The Docker engine, through the docker SDK: find an image locally or in its registry, build with progress lines
and a full log, push, pull. Every failure is an ``ImageError`` that says what to do."""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    PERMISSION_DENIED,
    RESOURCE_DOES_NOT_EXIST,
    TEMPORARILY_UNAVAILABLE,
)

from ..errors import TcDeployError
from ..log import get_logger

logger = get_logger(__name__)

LOG_TAIL = 20
_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_DENIED_RE = re.compile(r"denied|unauthorized|authentication required|forbidden", re.IGNORECASE)
_UNREACHABLE_RE = re.compile(r"connection refused|no such host|i/o timeout|dial tcp|connection reset", re.IGNORECASE)


class ImageError(TcDeployError):
    """Building, finding or pushing an image failed; the message says what to do."""

    log_path: str = ""
    """The full log of a failed build (a release keeps it as evidence)."""


def where_docker() -> str:
    return os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"


def registry_of(repository: str) -> str | None:
    """The registry host of ``repository`` (``127.0.0.1:5000/iris`` → ``127.0.0.1:5000``), None for a local name."""
    first, sep, _ = repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def split_reference(reference: str) -> tuple[str, str]:
    """``repo:tag`` → (``repo``, ``tag``); a port in the registry host is not a tag."""
    repository, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        return reference, "latest"
    return repository, tag


class Engine:
    """One connection to the engine at ``DOCKER_HOST``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def connect(cls) -> Engine:
        try:
            import docker

            client = docker.from_env(timeout=600)
            client.ping()
        except ImportError as exc:
            raise ImageError(
                "Image builds need the docker SDK: pip install 'mlflow-tcdeploy-plugin[docker]'.",
                error_code=INTERNAL_ERROR,
            ) from exc
        except Exception as exc:
            raise ImageError(
                f"No Docker engine answers at {where_docker()}: start one, or set DOCKER_HOST to one that runs "
                f"(for example unix:///run/user/1000/docker.sock). ({type(exc).__name__})",
                error_code=TEMPORARILY_UNAVAILABLE,
            ) from exc
        return cls(client)

    def local_image(self, reference: str) -> Any | None:
        import docker.errors

        try:
            return self.client.images.get(reference)
        except docker.errors.ImageNotFound:
            return None

    def registry_digest(self, reference: str, auth: dict[str, str] | None) -> str | None:
        """The digest the registry has under ``reference``, or None; raises when the registry cannot be asked."""
        import docker.errors

        try:
            return str(self.client.images.get_registry_data(reference, auth_config=auth).id)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            raise self._registry_error(reference, str(exc.explanation or exc)) from None

    def pull(self, reference: str, auth: dict[str, str] | None) -> None:
        import docker.errors

        repository, tag = split_reference(reference)
        logger.info("tcdeploy: pulling %s", reference)
        try:
            self.client.images.pull(repository, tag=tag, auth_config=auth)
        except docker.errors.APIError as exc:
            raise self._registry_error(reference, str(exc.explanation or exc)) from None

    def run_check(self, image: str, script: str) -> str:
        """Run ``script`` with ``/bin/sh`` in a throwaway container of ``image`` (as root, no network); its output."""
        import docker.errors

        try:
            output = self.client.containers.run(
                image, ["-c", script], entrypoint=["/bin/sh"], user="0", network_disabled=True, remove=True
            )
        except docker.errors.ContainerError as exc:
            return f"its check failed: {(exc.stderr or b'').decode(errors='replace').strip() or exc}"
        except docker.errors.APIError as exc:
            return f"it cannot be run: {exc.explanation or exc}"
        return bytes(output or b"").decode(errors="replace").strip()

    def build(
        self,
        context: Path,
        tag: str,
        labels: dict[str, str],
        platform: str,
        log_path: Path,
        base_image: str,
    ) -> str:
        """Build ``context/Dockerfile`` as ``tag``, streaming "Step …" progress lines; return the image ID."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        progress = _BuildProgress(tag)
        with log_path.open("w") as log:
            stream = self.client.api.build(
                path=str(context), tag=tag, labels=labels, platform=platform, rm=True, forcerm=True, decode=True
            )
            for line in _lines(stream):
                log.write(line + "\n")
                progress.read(line)
        if progress.error:
            raise progress.failure(base_image, log_path)
        return progress.image_id or str(self.client.images.get(tag).id)

    def push(self, reference: str, auth: dict[str, str] | None, log_path: Path) -> str:
        """Push ``reference``; return the digest the registry gave it."""
        repository, tag = split_reference(reference)
        digest, error = "", ""
        logger.info("tcdeploy: pushing %s", reference)
        with log_path.open("a") as log:
            for item in self.client.api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth):
                log.write(f"{item}\n")
                if item.get("error"):
                    error = str(item["error"])
                digest = str((item.get("aux") or {}).get("Digest") or digest)
        if error:
            raise self._registry_error(reference, error, pushing=True)
        if not digest:
            raise ImageError(f"Pushing {reference} gave no digest; see {log_path}.", error_code=INTERNAL_ERROR)
        return digest

    def pushed_digest(self, image: Any, repository: str) -> set[str]:
        """The digests under which ``image`` is known to be in ``repository`` (from its RepoDigests)."""
        image.reload()
        prefix = f"{repository}@"
        return {d.removeprefix(prefix) for d in image.attrs.get("RepoDigests") or [] if d.startswith(prefix)}

    @staticmethod
    def _registry_error(reference: str, detail: str, pushing: bool = False) -> ImageError:
        host = registry_of(split_reference(reference)[0]) or "Docker Hub"
        if _DENIED_RE.search(detail):
            return ImageError(
                f"The registry {host} refused {'the push of ' if pushing else ''}{reference}: {detail}. Log in "
                f"(`docker login {host}`) or give registry_username and registry_password.",
                error_code=PERMISSION_DENIED,
            )
        if _UNREACHABLE_RE.search(detail):
            return ImageError(
                f"The registry {host} is unreachable from the Docker engine at {where_docker()}: {detail}. Check "
                "the address in image_repository and that the registry runs.",
                error_code=TEMPORARILY_UNAVAILABLE,
            )
        return ImageError(f"The registry {host} answered about {reference}: {detail}", error_code=INTERNAL_ERROR)


@dataclass
class _BuildProgress:
    """What a build's log lines have said so far; logs its steps as progress."""

    tag: str
    image_id: str = ""
    error: str = ""
    step: str = ""
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))

    def read(self, line: str) -> None:
        self.tail.append(line)
        if line.startswith("ERROR: "):
            self.error = line.removeprefix("ERROR: ")
        elif line.startswith("ID: "):
            self.image_id = line.removeprefix("ID: ")
        elif match := _STEP_RE.match(line):
            self.step = match[1]
            if not match[3].startswith("LABEL "):  # one step a label: noise as progress, kept in the log
                logger.info("tcdeploy: building %s: step %s/%s: %s", self.tag, match[1], match[2], match[3][:100])
        elif line.strip() == "---> Using cache":
            logger.info("tcdeploy: building %s: step %s reused from the engine's layer cache", self.tag, self.step)

    def failure(self, base_image: str, log_path: Path) -> ImageError:
        """The error of a failed build, with its last lines."""
        last = "\n".join(f"  {t}" for t in self.tail)
        error = self._error(base_image, last, log_path)
        error.log_path = str(log_path)
        return error

    def _error(self, base_image: str, last: str, log_path: Path) -> ImageError:
        if self.step == "1":  # FROM: the base image could not be had
            return ImageError(
                f"The base image {base_image} cannot be pulled: {self.error}\nGive base_image=<an image your engine "
                f"has or can pull>, or pull it first. Last lines:\n{last}\nFull log: {log_path}",
                error_code=RESOURCE_DOES_NOT_EXIST,
            )
        return ImageError(
            f"Building {self.tag} failed at step {self.step or '?'}: {self.error}\nLast {len(self.tail)} lines of the "
            f"build:\n{last}\nFull log: {log_path}",
            error_code=INTERNAL_ERROR,
        )


def _lines(stream: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The build API's JSON messages as log lines: output, ``ERROR: …`` and, at the end, ``ID: <image id>``."""
    for item in stream:
        if "stream" in item:
            yield from (line.rstrip() for line in str(item["stream"]).splitlines() if line.strip())
        elif "error" in item:
            yield f"ERROR: {item['error']}".rstrip()
        elif "aux" in item and (item["aux"] or {}).get("ID"):
            yield f"ID: {item['aux']['ID']}"
        elif "status" in item:
            yield str(item["status"])
