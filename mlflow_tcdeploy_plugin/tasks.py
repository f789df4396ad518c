"""A model version scanned, or built into its image, on its own (the release pages' per-version actions): recorded
as a release is, with the stages it ran (resolve, gate, and build), so that its progress, verdict and evidence are
read back the same way. A succeeded build's image can then be released on any target (``tcdeploy promote``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import options as opt
from . import prepare
from .errors import invalid
from .pipeline import build, fix_model, gate
from .releases.record import BUILD, KIND, SCAN, ReleaseRecord
from .resolve import named, resolve

KINDS = (SCAN, BUILD)


RESOLUTION = ("pip_index_url", "pip_extra_index_url", "ca_bundle", "platform")
"""Image options the gate resolves with too: a scan takes them."""
IMAGE_ONLY = tuple(k for k in ("image_repository", *opt.IMAGE_KEYS) if k not in RESOLUTION)


def parse(kind: str, config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The task's options, checked as ``tcdeploy scan`` and ``tcdeploy build`` check theirs: a build needs
    image_repository, a scan takes none of the image's own options."""
    if kind not in KINDS:
        raise invalid(f"A task is {' or '.join(KINDS)}, not {kind!r}.")
    options = {"scan": "required", **opt.parse(config, opt.BUILD)}
    if options["scan"] == "off":
        raise invalid(f"A {kind} runs the dependency gate: scan must be required or auto, not off.")
    if kind == BUILD:
        if "image_repository" not in options:
            raise invalid("A build needs image_repository (e.g. ccr.ccs.tencentyun.com/ns/iris, 127.0.0.1:5000/iris).")
        opt.check(options, opt.BUILD)
        return options
    given = [k for k in IMAGE_ONLY if k in options]
    if given:
        raise invalid(f"A scan builds no image: drop {', '.join(given)} (or build the version instead).")
    return options


def run(kind: str, model_uri: str, options: dict[str, Any]) -> None:
    """Scan (and for a build, build and push) the model, recorded (``ANNOUNCE`` hears of the record's ID). Raises
    what stopped it (the gate's refusal, a build error), after recording it."""
    name, version = named(model_uri)
    facts = {"model_uri": model_uri, "model_name": name, "model_version": version}
    tags = {f"tcdeploy.{k}": str(v) for k, v in facts.items() if v} | {KIND: kind}
    record = ReleaseRecord.start("required", str(opt.BY_KEY["release_experiment"].default), tags)
    record.fix(model_uri=model_uri, kind=kind)
    with record.stage("resolve"):
        model = resolve(model_uri, prepare.CatalogLister())
    fix_model(record, model)
    scan = gate(record, model, options)
    if kind == BUILD:
        build(record, model, options, scan)
    record.succeed()
