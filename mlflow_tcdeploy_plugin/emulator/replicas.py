"""Replica runners: a MODEL-source replica is a local process, an IMAGE-source replica a Docker container.

Both write their output where the supervisor can read it back as pod logs, and both can be found again after
the emulator restarts (a process by its pid and command line, a container by its id).
"""

from __future__ import annotations

import base64
import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from .resources import Pod

logger = logging.getLogger(__name__)


class RunnerUnavailable(Exception):
    """The replica cannot be started at all (for example no Docker engine); the message says why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_http(port: int | None, path: str = "/ping") -> bool:
    """True when something on the port answers HTTP below 500: the replica's readiness probe."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status < 500
    except OSError:
        return False
    finally:
        conn.close()


def _env_pairs(spec: dict[str, Any]) -> dict[str, str]:
    pairs = list(spec.get("Env") or [])
    if spec.get("EnvVar"):
        pairs.append(spec["EnvVar"])
    return {p["Name"]: p.get("Value") or "" for p in pairs if p.get("Name")}


def _complete_lines(data: bytes) -> tuple[list[str], int]:
    """Split off the complete lines of ``data``; return them and how many bytes they used."""
    end = data.rfind(b"\n") + 1
    return data[:end].decode("utf-8", "replace").splitlines(), end


class ProcessRunner:
    """Runs each MODEL-source replica as ``python -m mlflow_tcdeploy_plugin.emulator.replica``."""

    def __init__(self, tracking_uri: str | None, registry_uri: str | None) -> None:
        self._tracking_uri = tracking_uri
        self._registry_uri = registry_uri
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, pod: Pod, spec: dict[str, Any]) -> dict[str, Any]:
        model_uri = (spec.get("MlModelInfo") or {}).get("ModelPath")
        if not model_uri:
            raise RunnerUnavailable("MlModelInfo.ModelPath is empty: there is no model to serve.")
        env = {**os.environ, **_env_pairs(spec)}
        for name, value in (("MLFLOW_TRACKING_URI", self._tracking_uri), ("MLFLOW_REGISTRY_URI", self._registry_uri)):
            if value:
                env[name] = value
        argv = [
            sys.executable,
            "-m",
            "mlflow_tcdeploy_plugin.emulator.replica",
            "--model-uri",
            model_uri,
            "--port",
            str(pod.port),
            "--pod",
            pod.name,
        ]
        with open(pod.log_path, "ab") as log:
            # A session of its own: Ctrl-C in the emulator's terminal must not reach replicas before it stops them.
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self._procs[pod.name] = proc
        return {"pid": proc.pid, "container_id": None}

    def exit_code(self, pod: Pod) -> int | None:
        """None while the replica runs; its exit code (or -1 if unknown) once it has ended."""
        proc = self._procs.get(pod.name)
        if proc is not None:
            return proc.poll()
        return None if _is_our_process(pod.pid, pod.name) else -1

    def stop(self, pod: Pod) -> None:
        proc = self._procs.pop(pod.name, None)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        elif pod.pid is not None and _is_our_process(pod.pid, pod.name):
            os.kill(pod.pid, signal.SIGKILL)

    def read_logs(self, pod: Pod) -> tuple[list[str], int]:
        path = Path(pod.log_path)
        if not path.exists():
            return [], pod.log_offset
        with path.open("rb") as fh:
            fh.seek(pod.log_offset)
            lines, used = _complete_lines(fh.read())
        return lines, pod.log_offset + used


def _is_our_process(pid: int | None, pod_name: str) -> bool:
    """A pid left by an earlier emulator run is ours only if it still runs our replica for this pod."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return pod_name.encode() in cmdline


class DockerRunner:
    """Runs each IMAGE-source replica as a container, through the Docker engine at ``DOCKER_HOST``."""

    def __init__(self) -> None:
        self._client: Any = None

    def _docker(self) -> Any:
        if self._client is None:
            try:
                import docker

                client = docker.from_env()
                client.ping()
            except Exception as exc:
                where = os.environ.get("DOCKER_HOST", "the default socket")
                raise RunnerUnavailable(
                    f"No Docker engine is reachable at {where}: IMAGE-source services need one ({exc})."
                ) from exc
            self._client = client
        return self._client

    def start(self, pod: Pod, spec: dict[str, Any]) -> dict[str, Any]:
        image = (spec.get("ImageInfo") or {}).get("ImageUrl")
        if not image:
            raise RunnerUnavailable("ImageInfo.ImageUrl is empty: there is no image to run.")
        container_port = int(spec.get("ServicePort") or 8080)
        try:
            self._pull(image, (spec.get("ImageInfo") or {}).get("ImageSecret") or {})
            container = self._docker().containers.run(
                image,
                command=spec.get("Command") or None,
                detach=True,
                name=pod.name,
                environment=_env_pairs(spec),
                ports={f"{container_port}/tcp": ("127.0.0.1", pod.port)},
            )
        except RunnerUnavailable:
            raise
        except Exception as exc:
            raise RunnerUnavailable(f"The container for image {image} could not start: {exc}") from exc
        return {"pid": None, "container_id": container.id}

    def _pull(self, image: str, secret: dict[str, Any]) -> None:
        """Pull ``image`` unless the engine has it, with the service's registry credentials (``ImageSecret``, its
        ``Password`` base64-encoded as the API carries it)."""
        import docker.errors

        client = self._docker()
        try:
            client.images.get(image)
            return
        except docker.errors.ImageNotFound:
            pass
        auth = None
        if secret.get("Username") and secret.get("Password"):
            auth = {"username": secret["Username"], "password": base64.b64decode(secret["Password"]).decode()}
        client.images.pull(image, auth_config=auth)

    def _container(self, pod: Pod) -> Any:
        try:
            return self._docker().containers.get(pod.container_id)
        except RunnerUnavailable:
            raise
        except Exception:
            return None

    def exit_code(self, pod: Pod) -> int | None:
        container = self._container(pod)
        if container is None:
            return -1
        container.reload()
        if container.status in ("created", "running", "restarting"):
            return None
        return int(container.attrs.get("State", {}).get("ExitCode", -1))

    def stop(self, pod: Pod) -> None:
        container = self._container(pod)
        if container is not None:
            container.remove(force=True)

    def read_logs(self, pod: Pod) -> tuple[list[str], int]:
        container = self._container(pod)
        if container is None:
            return [], pod.log_offset
        data = container.logs(stdout=True, stderr=True)[pod.log_offset :]
        lines, used = _complete_lines(data)
        return lines, pod.log_offset + used
