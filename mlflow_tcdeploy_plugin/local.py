"""``run_local``: the model's gate and image, as a deployment would have them, run on the local Docker engine.

The container publishes MLflow's scoring server on ``127.0.0.1:<port>`` only, its log is followed until Ctrl-C,
and it is removed when the command ends.
"""

from __future__ import annotations

import http.client
import re
import sys
import time
from typing import IO, Any

from mlflow.protos.databricks_pb2 import DEADLINE_EXCEEDED, INVALID_STATE

from . import options as opt
from . import prepare
from .errors import invalid
from .image import SERVING_PORT, ImageError, local_repository
from .image.engine import Engine
from .resolve import check_syntax, resolve
from .results import FLAVOR

READY_TIMEOUT = 180.0


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/ping")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def run_local(
    name: str, model_uri: str, flavor: str | None, config: dict[str, Any] | None, out: IO[str] | None = None
) -> None:
    out = out or sys.stdout
    if flavor not in (None, FLAVOR):
        raise invalid(f"Flavor {flavor!r} is not supported: the image serves the {FLAVOR} flavor.")
    options = opt.parse(config, opt.LOCAL)
    opt.check(options, opt.LOCAL)
    check_syntax(model_uri)
    port = opt.value(options, "port")
    model = resolve(model_uri, prepare.CatalogLister())
    scan = prepare.gate(model, options, builds=True)
    default = local_repository(model.name or name)
    built, _ = prepare.image(model, options, scan, need_local=True, default_repository=default)
    engine = Engine.connect()
    container_name = "tcdeploy-local-" + (re.sub(r"[^a-zA-Z0-9_.-]+", "-", name).strip("-") or "model")
    try:
        container = engine.client.containers.run(
            built.tagged,
            detach=True,
            name=container_name,
            ports={f"{SERVING_PORT}/tcp": ("127.0.0.1", port)},
            labels={"tcdeploy.run_local": name, "tcdeploy.model.uri": model_uri},
        )
    except Exception as exc:  # the docker SDK's errors: a port in use, a name taken, an engine gone
        raise ImageError(
            f"The container of {built.tagged} could not start on 127.0.0.1:{port}: {exc}. Choose another port "
            f"(-C port=N), or remove a leftover container with `docker rm -f {container_name}`.",
            error_code=INVALID_STATE,
        ) from exc
    try:
        _serve(container, port, model_uri, built.tagged, out)
    finally:
        container.remove(force=True)
        print(f"Stopped and removed the container {container_name}.", file=out, flush=True)


def _serve(container: Any, port: int, model_uri: str, image: str, out: IO[str]) -> None:
    url = f"http://127.0.0.1:{port}"
    print(f"Starting {model_uri} from {image} on {url} ...", file=out, flush=True)
    deadline = time.monotonic() + READY_TIMEOUT
    while not _answers(port):
        container.reload()
        if container.status not in ("created", "running"):
            tail = container.logs(tail=20).decode(errors="replace")
            raise ImageError(f"The container of {image} ended before it answered:\n{tail}", error_code=INVALID_STATE)
        if time.monotonic() > deadline:
            raise ImageError(
                f"The container of {image} did not answer {url}/ping within {READY_TIMEOUT:g}s; its log: "
                f"`docker logs {container.name}`.",
                error_code=DEADLINE_EXCEEDED,
            )
        time.sleep(0.5)
    print(
        f"Serving {model_uri} at {url}/invocations (Ctrl-C stops it). Try:\n"
        f"  curl -s {url}/invocations -H 'Content-Type: application/json' -d '{{\"inputs\": [[...]]}}'",
        file=out,
        flush=True,
    )
    try:
        for chunk in container.logs(stream=True, follow=True):
            out.write(chunk.decode(errors="replace"))
            out.flush()
    except KeyboardInterrupt:
        pass
