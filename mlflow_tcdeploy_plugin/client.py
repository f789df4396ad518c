"""``TcDeploymentClient``: MLflow's deployments API over Tencent Cloud model services.

A *deployment* is a service version (its name is the ``ServiceId``); an *endpoint* is a service group. The client
orchestrates: options → resolver → gate → image → backend (WeData or TI-ONE) → waiter. Every method checks its input
before the first request, so input that must never be sent never leaves the machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mlflow.deployments import BaseDeploymentClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, RESOURCE_EXHAUSTED

from . import options as opt
from . import prepare, results
from .backends.base import LogQuery, Plan, State, unsupported
from .cloud import waiters
from .cloud.errors import CloudError
from .errors import invalid
from .log import get_logger
from .naming import to_snake
from .predict import decode_answer, encode_inputs, validate_relative_url
from .resolve import ResolvedModel, check_syntax, is_catalog, resolve
from .results import FLAVOR
from .settings import Settings

if TYPE_CHECKING:
    from .backends.base import Backend, Deployment, Endpoint
    from .image import BuiltImage

logger = get_logger(__name__)

GROUP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$")
POD_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,251}[a-z0-9])?$")
POD_PATTERN_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,251}\*$")
# Options that go along with a service_action (the others would be ignored by the service, so they are refused).
WITH_ACTION = ("service_action", "replicas", "wait", "timeout", "poll_interval")
ENDPOINT_CHANGES = (
    "description",
    "authorization_enable",
    "create_auth_token",
    "update_auth_token",
    "delete_auth_token",
    "traffic",
)
EVENTS_SHOWN = 20


def _check_flavor(flavor: str | None) -> None:
    if flavor not in (None, FLAVOR):
        raise invalid(f"Flavor {flavor!r} is not supported: the model services serve the {FLAVOR} flavor.")


def _check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise invalid(f"The {kind} name must be a non-empty string, not {name!r}.")
    if any(not c.isprintable() for c in name) or len(name) > 200:
        raise invalid(f"The {kind} name {name!a} has control characters or is too long.")
    return name


def _deployment_arg(method: str, deployment_name: str | None, service_id: str | None) -> str:
    """The pod methods take the deployment as ``deployment_name`` or, as 1.0.3 documented, ``service_id``."""
    if deployment_name is not None and service_id is not None:
        raise invalid(f"{method}() takes the deployment once: as deployment_name or as service_id, not both.")
    name = deployment_name if deployment_name is not None else service_id
    if name is None:
        raise invalid(f"{method}() needs the deployment: deployment_name=<ServiceId or name> (or service_id=…).")
    return name


class TcDeploymentClient(BaseDeploymentClient):
    """Deploy MLflow models to Tencent Cloud: WeData model services (default) or TI-ONE online services.

    Args:
        target_uri: ``tcdeploy`` or ``tcdeploy:/<region>?workspace_id=<id>&endpoint=<host>&backend=<wedata|tione>``.
        secret_id, secret_key, token, region, workspace_id, endpoint, backend, project_id: override the environment.
        secret_token: the name 1.0.3 used for ``token`` (an STS session token).

    Python: ``get_deploy_client("tcdeploy").create_deployment("iris", "models:/cat.sch.iris/1")``
    CLI: ``mlflow deployments create -t tcdeploy --name iris -m models:/cat.sch.iris/1 -C replicas=2``
    """

    def __init__(
        self,
        target_uri: str = "tcdeploy",
        *,
        secret_id: str | None = None,
        secret_key: str | None = None,
        token: str | None = None,
        region: str | None = None,
        workspace_id: str | None = None,
        endpoint: str | None = None,
        secret_token: str | None = None,
        backend: str | None = None,
        project_id: str | None = None,
    ) -> None:
        super().__init__(target_uri)
        if token is not None and secret_token is not None:
            raise invalid("Give the STS token once: as token or as secret_token (its 1.0.3 name), not both.")
        token = token if token is not None else secret_token
        self.settings = Settings.resolve(
            target_uri,
            {
                "secret_id": secret_id,
                "secret_key": secret_key,
                "token": token,
                "region": region,
                "workspace_id": workspace_id,
                "endpoint": endpoint,
                "backend": backend,
                "project_id": project_id,
            },
        )
        self._backend: Backend | None = None

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"TcDeploymentClient(target_uri={self.target_uri!r}, backend={s.backend!r}, region={s.region!r}, "
            f"scope={s.scope!r}, endpoint={s.endpoint!r})"
        )

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            from .backends import make_backend

            self._backend = make_backend(self.settings)
        return self._backend

    def _parse(self, config: dict[str, Any] | None, scope: str) -> dict[str, Any]:
        return opt.parse(config, scope, self.settings.backend)

    # --- lookups -------------------------------------------------------------------------------------------------
    def _group(self, endpoint: str) -> Endpoint:
        """A service group by ID, or by name."""
        _check_name("endpoint", endpoint)
        try:
            return self.backend.get_endpoint(endpoint)
        except CloudError as exc:
            if not exc.not_found and exc.code != "InvalidParameterValue":
                raise
        matches = [e for e in self.backend.iter_endpoints() if e.name == endpoint]
        if not matches:
            raise MlflowException(
                f"No endpoint (service group) has the ID or name {endpoint!r}; "
                "`mlflow deployments list-endpoints -t tcdeploy` lists them.",
                error_code=RESOURCE_DOES_NOT_EXIST,
            )
        if len(matches) > 1:
            raise invalid(
                f"Several endpoints are named {endpoint!r}: {', '.join(e.group_id for e in matches)}. Use the ID."
            )
        return self.backend.get_endpoint(matches[0].group_id)

    def _service(self, name: str, endpoint: str | None = None) -> Deployment:
        """A service version by ServiceId, or by name when that names exactly one version."""
        _check_name("deployment", name)
        group_id = self._group(endpoint).group_id if endpoint else None
        try:
            found = self.backend.get_deployment(name)
            if group_id is None or found.group_id == group_id:
                return found
        except CloudError as exc:
            if not exc.not_found and exc.code != "InvalidParameterValue":
                raise
        candidates = [
            d
            for e in self.backend.iter_endpoints()
            if group_id in (None, e.group_id)
            for d in e.deployments
            if name in (d.group_name, e.name)
        ]
        if not candidates:
            where = f" in endpoint {endpoint!r}" if endpoint else ""
            raise MlflowException(
                f"No deployment has the ID or name {name!r}{where}; `mlflow deployments list -t tcdeploy` lists them.",
                error_code=RESOURCE_DOES_NOT_EXIST,
            )
        if len(candidates) > 1:
            listed = "; ".join(f"{d.service_id} (version {d.version}, {d.status})" for d in candidates)
            raise invalid(f"{name!r} names {len(candidates)} deployments: {listed}. Use a ServiceId.")
        return self.backend.get_deployment(candidates[0].service_id)

    def _instance_type(self, wanted: str | None, charge_type: str) -> str:
        specs = self.backend.specs(charge_type)
        if wanted is None:
            cpu = [s for s in specs if s.available and s.type == "CPU"]
            if not cpu:
                raise MlflowException(
                    "No CPU instance type is available; set instance_type (`list_instance_types()` lists them).",
                    error_code=RESOURCE_EXHAUSTED,
                )
            logger.info("tcdeploy: instance_type not given; using %s (%s)", cpu[0].name, cpu[0].alias or "")
            return cpu[0].name
        found = next((s for s in specs if s.name == wanted), None)
        if found is None:
            from difflib import get_close_matches

            names = [s.name for s in specs]
            hint = get_close_matches(wanted, names, n=1)
            maybe = f" Did you mean {hint[0]!r}?" if hint else ""
            raise invalid(f"Unknown instance_type {wanted!r}.{maybe} Available: {', '.join(names)}.")
        if not found.available:
            regions = ", ".join(found.available_region) or "no other region"
            raise MlflowException(
                f"instance_type {wanted!r} is sold out in {self.settings.region}; it is available in {regions}.",
                error_code=RESOURCE_EXHAUSTED,
            )
        return wanted

    def _check_model_uri(self, model_uri: str, options: dict[str, Any]) -> None:
        """What the chosen backend cannot take, refused before anything is sent."""
        check_syntax(model_uri)
        if is_catalog(model_uri):
            self.backend.require("iter_model_versions")
        if self.backend.needs_image and not ("image_repository" in options or "image_info" in options):
            raise invalid(
                f"On the {self.backend.name} backend a model runs as a container image: add -C "
                "image_repository=<registry>/<namespace>/<name> (tcdeploy builds, scans and pushes the model's "
                'image), or -C image_info=\'{"image_type": "CCR", "image_url": "…"}\' to run an image you built.'
            )

    # --- deployments ---------------------------------------------------------------------------------------------
    def create_deployment(
        self,
        name: str,
        model_uri: str,
        flavor: str | None = None,
        config: dict[str, Any] | None = None,
        endpoint: str | None = None,
    ) -> dict[str, Any]:
        """Create a service group named ``name`` with one version, or a new version in group ``endpoint``.

        Waits until RUNNING unless ``wait=false``. CLI: ``mlflow deployments create -t tcdeploy --name iris
        -m models:/default.default.iris/1 -C instance_type=TI.S.MEDIUM.POST``.
        """
        _check_flavor(flavor)
        options = self._parse(config, opt.CREATE)
        opt.check(options, opt.CREATE)
        if endpoint is None and not (isinstance(name, str) and GROUP_NAME_RE.match(name)):
            raise invalid(
                f"The deployment name {name!a} is not a valid service group name: use at most 60 "
                "letters, digits, '_' or '-', starting with a letter or digit."
            )
        self._check_model_uri(model_uri, options)
        action = options.get("service_action", "START")
        if action not in ("START", "STOP"):
            raise invalid(f"service_action={action} is for updates; a new deployment takes START or STOP.")
        if action == "STOP" and not self.backend.creates_stopped:
            raise unsupported(
                self.backend.name,
                "Creating a stopped deployment",
                "its create action has no ServiceAction; create it, then update it with service_action=STOP.",
            )
        charge_type = opt.value(options, "charge_type")
        if charge_type != "PREPAID" or "instance_type" in options:
            options["instance_type"] = self._instance_type(options.get("instance_type"), charge_type)
        model = resolve(model_uri, self.backend)
        scan = prepare.gate(model, options)
        built, image_info = self._image(model, options, scan)
        existing = self._group(endpoint) if endpoint is not None else None
        try:
            created, deployment = self.backend.create(name, existing, Plan(options, model, image_info))
        except CloudError as exc:
            if exc.error_code == "RESOURCE_ALREADY_EXISTS":
                raise MlflowException(
                    f"An endpoint named {name!r} already exists: add a version with --endpoint {name} "
                    f"(endpoint={name!r}) or update an existing deployment. ({exc.message})",
                    error_code=RESOURCE_ALREADY_EXISTS,
                ) from exc
            raise
        logger.info(
            "tcdeploy: created %s (endpoint %s, version %s)",
            deployment.service_id,
            created.group_id,
            deployment.version,
        )
        if opt.value(options, "wait"):
            goal = State.STOPPED if action == "STOP" else State.RUNNING
            deployment = self._wait(deployment.service_id, goal, options)
        summary = results.deployment_summary(deployment, created.name)
        if built is not None:
            summary["image"] = built.summary()
        return {**summary, "model_uri": model.model_uri, "scan": scan}

    @staticmethod
    def _image(
        model: ResolvedModel, options: dict[str, Any], scan: dict[str, Any]
    ) -> tuple[BuiltImage | None, dict[str, Any] | None]:
        """With image_repository: build (or find) and push the model's image, and the ``ImageInfo`` that runs it."""
        if "image_repository" not in options:
            return None, None
        built, image_options = prepare.image(model, options, scan)
        return built, image_options.image_info(built.reference)

    def _wait(self, service_id: str, goal: State, options: dict[str, Any]) -> Deployment:
        return waiters.wait_for_service(
            self.backend,
            service_id,
            goal,
            timeout=opt.value(options, "timeout"),
            interval=opt.value(options, "poll_interval"),
        )

    def update_deployment(
        self,
        name: str,
        model_uri: str | None = None,
        flavor: str | None = None,
        config: dict[str, Any] | None = None,
        endpoint: str | None = None,
    ) -> dict[str, Any]:
        """Change a deployment: send only the given options; ``service_action`` STOP, RESUME or SCALE.

        CLI: ``mlflow deployments update -t tcdeploy --name <ServiceId> -C service_action=SCALE -C replicas=3``.
        """
        _check_flavor(flavor)
        options = self._parse(config, opt.UPDATE)
        if model_uri is not None:
            self._check_model_uri(model_uri, options)
        opt.check(options, opt.UPDATE)
        if "image_repository" in options and model_uri is None:
            raise invalid("image_repository builds an image of a model: give the model URI (-m) too.")
        action = options.get("service_action")
        if action is not None:
            extra = sorted(set(options) - set(WITH_ACTION))
            if extra or model_uri is not None:
                ignored = ", ".join(extra + (["model_uri"] if model_uri is not None else []))
                raise invalid(
                    f"service_action={action} makes the service ignore the other changes ({ignored}): "
                    "send them in a separate update."
                )
            if action != "SCALE" and "replicas" in options:
                raise invalid(f"replicas goes with service_action=SCALE, not {action}.")
            if action == "START":
                raise invalid("service_action=START is for a new deployment; resume a stopped one with RESUME.")
        elif model_uri is None and not opt.api_members(options, opt.UPDATE, self.settings.backend):
            raise invalid("Nothing to update: give a model URI (-m) or options (-C key=value).")
        deployment = self._service(name, endpoint)
        service_id = deployment.service_id
        model, scan, built = None, None, None
        if action is not None:
            replicas = self._scale_to(deployment, options) if action == "SCALE" else None
            updated = self.backend.act(deployment, action, replicas)
        else:
            self._check_update(deployment, options)
            if "instance_type" in options:
                self._instance_type(options["instance_type"], opt.value(options, "charge_type"))
            model = resolve(model_uri, self.backend) if model_uri is not None else None
            scan = prepare.gate(model, options) if model is not None else None
            built, image_info = self._image(model, options, scan or {}) if model is not None else (None, None)
            updated = self.backend.update(deployment, Plan(options, model, image_info))
        logger.info("tcdeploy: updated %s (%s)", service_id, action or ", ".join(sorted(options)))
        if opt.value(options, "wait"):
            stopping = action == "STOP" or (action is None and updated.state is State.STOPPED)
            updated = self._wait(service_id, State.STOPPED if stopping else State.RUNNING, options)
        summary = results.deployment_summary(updated)
        if model is not None:
            summary["model_uri"] = model.model_uri
        if built is not None:
            summary["image"] = built.summary()
        return {**summary, "scan": scan} if scan is not None else summary

    @staticmethod
    def _scale_to(deployment: Deployment, options: dict[str, Any]) -> int:
        """SCALE's replica count: the one given, else (as 1.0.3 accepted ``SCALE`` alone) the current one."""
        if "replicas" in options:
            return int(options["replicas"])
        if deployment.replicas < 1:
            raise invalid(
                f"service_action=SCALE needs replicas (-C replicas=N): {deployment.service_id} runs no replica now "
                f"(status {deployment.status}), so there is no current count to keep."
            )
        logger.info(
            "tcdeploy: service_action=SCALE without replicas: sending the current count, %d", deployment.replicas
        )
        return deployment.replicas

    @staticmethod
    def _check_update(deployment: Deployment, options: dict[str, Any]) -> None:
        """Combinations an update refuses, given what the service already has."""
        if options.get("charge_type") == "PREPAID" and not (
            options.get("resource_group_id") or deployment.resource_group_id
        ):
            raise invalid(
                f"charge_type=PREPAID runs {deployment.service_id} in a prepaid resource group, and it has none: "
                "give resource_group_id (and resources)."
            )
        if options.get("model_source") == "IMAGE" and not (options.get("image_info") or deployment.has_image):
            raise invalid(f"model_source=IMAGE needs image_info: {deployment.service_id} has no image to run.")

    def delete_deployment(self, name: str, config: dict[str, Any] | None = None, endpoint: str | None = None) -> None:
        """Delete a service version; deleting one that does not exist is not an error."""
        self._parse(config, opt.UPDATE)
        try:
            deployment = self._service(name, endpoint)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            logger.info("tcdeploy: %s does not exist; nothing to delete", name)
            return
        try:
            self.backend.delete_deployment(deployment.service_id)
        except CloudError as exc:
            if not exc.not_found:
                raise
        logger.info("tcdeploy: deleted %s", deployment.service_id)

    def list_deployments(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """One item per service version (``name`` is the ServiceId), optionally of one endpoint only."""
        groups = [self._group(endpoint)] if endpoint else list(self.backend.iter_endpoints())
        return [results.deployment_summary(d, e.name) for e in groups for d in e.deployments]

    def get_deployment(self, name: str, endpoint: str | None = None, include_events: bool = False) -> dict[str, Any]:
        """The service version, snake_case; ``include_events=True`` adds its latest events (newest first)."""
        if include_events:
            self.backend.require("events")
        deployment = self._service(name, endpoint)
        detail = results.deployment_detail(deployment)
        if include_events:
            detail["events"] = to_snake(self.backend.events(deployment.service_id, EVENTS_SHOWN))
        return detail

    # --- predict -------------------------------------------------------------------------------------------------
    def predict(
        self,
        deployment_name: str | None = None,
        inputs: Any = None,
        endpoint: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> Any:
        """Score ``inputs`` (DataFrame, dict, list, ndarray or an MLflow scoring payload) on a deployment.

        ``deployment_name`` (or ``endpoint``) is a group ID, a ServiceId or a name. The relative URL is
        ``config["relative_url"]``, an ``endpoint`` starting with ``/``, or ``/invocations``.
        """
        options = self._parse(config, opt.PREDICT)
        url = options.get("relative_url")
        if endpoint is not None and endpoint.startswith("/"):
            if url is not None and url != endpoint:
                raise invalid("Give the relative URL once: as endpoint or as config['relative_url'].")
            url, endpoint = endpoint, None
        url = validate_relative_url(url if url is not None else opt.value(options, "relative_url"))
        target = deployment_name or endpoint
        if not target:
            raise invalid("predict() needs a deployment name or an endpoint.")
        body = encode_inputs(inputs)
        size, limit = self.backend.request_size(body), self.backend.max_request
        if limit is not None and size > limit:
            raise invalid(
                f"The input makes a {size / 2**20:.1f} MiB request; the {self.backend.name} API takes at most "
                f"{limit / 2**20:.0f} MiB. Split it into smaller batches."
            )
        group_id = self._group_id_for(target, endpoint if deployment_name else None)
        return decode_answer(target, self.backend.predict(group_id, url, body, options.get("auth_token")))

    def _group_id_for(self, target: str, endpoint: str | None) -> str:
        """A group ID or name first, then a ServiceId or service name."""
        if endpoint is None:
            try:
                return self._group(target).group_id
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
        return str(self._service(target, endpoint).group_id)

    # --- endpoints (service groups) ------------------------------------------------------------------------------
    def create_endpoint(self, name: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
        raise invalid(
            "An endpoint (service group) is created with its first deployment: run "
            f"create_deployment({name!r}, model_uri) (CLI: mlflow deployments create -t tcdeploy "
            f"--name {name} -m <model URI>), then add versions with endpoint={name!r}."
        )

    def list_endpoints(self) -> list[dict[str, Any]]:
        return [results.endpoint_summary(e) for e in self.backend.iter_endpoints()]

    def get_endpoint(self, endpoint: str, reveal_tokens: bool = False) -> dict[str, Any]:
        """The service group with its versions, traffic split, auth tokens and call addresses (``call_info``).

        Token values show only their last 4 characters unless ``reveal_tokens=True``.
        """
        group = self._group(endpoint)
        return results.endpoint_detail(group, self.backend.call_info(group.group_id), reveal_tokens)

    def update_endpoint(self, endpoint: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Change an endpoint: ``description``, ``authorization_enable``, named auth tokens (``create_auth_token``,
        ``update_auth_token``, ``delete_auth_token``) and, on TI-ONE, the ``traffic`` split between versions
        (waits until it is applied). Returns ``get_endpoint``'s view.

        CLI: ``mlflow deployments update-endpoint -t tcdeploy --endpoint iris -C traffic='{"1": 90, "2": 10}'``.
        """
        options = self._parse(config, opt.ENDPOINT)
        changes = sorted(set(options) & set(ENDPOINT_CHANGES))
        if not changes:
            raise invalid(f"Nothing to change: give one of {', '.join(ENDPOINT_CHANGES)} (-C key=value).")
        for change, feature in (
            ("description", "set_description"),
            ("authorization_enable", "set_authorization"),
            ("update_auth_token", "update_auth_token"),
            ("delete_auth_token", "delete_auth_token"),
        ):
            if change in options:
                self.backend.require(feature)
        group = self._group(endpoint)
        group_id = group.group_id
        new, changed, deleted = (
            options.get("create_auth_token"),
            options.get("update_auth_token"),
            options.get("delete_auth_token"),
        )
        if new is not None and group.token_named(new["Name"]):
            raise MlflowException(
                f"The endpoint {endpoint!r} already has an auth token named {new['Name']!r}.",
                error_code=RESOURCE_ALREADY_EXISTS,
            )
        to_change = self._token(group, endpoint, changed["Name"]) if changed is not None else None
        to_delete = self._token(group, endpoint, deleted) if deleted is not None else None
        weights = opt.traffic_weights(options["traffic"], group) if "traffic" in options else None
        if "description" in options:
            self.backend.set_description(group_id, options["description"])
        if "authorization_enable" in options:
            self.backend.set_authorization(group_id, options["authorization_enable"])
        if new is not None:
            self.backend.create_auth_token(group_id, new)
        if changed is not None and to_change is not None:
            token = {"Base": {"Name": changed["Name"], "Value": (to_change.get("Base") or {}).get("Value")}}
            if "Description" in changed:
                token["Base"]["Description"] = changed["Description"]
            if "Limits" in changed:
                token["Limits"] = changed["Limits"]
            self.backend.update_auth_token(group_id, token)
        if to_delete is not None:
            self.backend.delete_auth_token(group_id, str((to_delete.get("Base") or {}).get("Value")))
        if weights is not None:
            self.backend.set_weights(group, weights)
            if opt.value(options, "wait"):
                waiters.wait_for_weights(
                    self.backend, group_id, opt.value(options, "timeout"), opt.value(options, "poll_interval")
                )
        logger.info("tcdeploy: updated endpoint %s (%s)", group_id, ", ".join(changes))
        return self.get_endpoint(group_id, reveal_tokens=opt.value(options, "reveal_tokens"))

    @staticmethod
    def _token(group: Endpoint, endpoint: str, name: str) -> dict[str, Any]:
        token = group.token_named(name)
        if token is None:
            names = ", ".join(group.token_names()) or "(none)"
            raise MlflowException(
                f"The endpoint {endpoint!r} has no auth token named {name!r}; its tokens: {names}.",
                error_code=RESOURCE_DOES_NOT_EXIST,
            )
        return token

    def delete_endpoint(self, endpoint: str) -> None:
        """Delete a service group and all its versions; a missing one is not an error."""
        try:
            self.backend.delete_endpoint(self._group(endpoint).group_id)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            logger.info("tcdeploy: endpoint %s does not exist; nothing to delete", endpoint)

    # --- instance types and pods ---------------------------------------------------------------------------------
    def list_instance_types(self, spec_type: str | None = None) -> list[dict[str, Any]]:
        """The instance specs on offer; ``spec_type`` ``CPU`` or ``GPU`` filters them."""
        if spec_type is not None and str(spec_type).upper() not in ("CPU", "GPU"):
            raise invalid(f"spec_type must be CPU or GPU, not {spec_type!r}.")
        specs = self.backend.specs()
        if spec_type is not None:
            specs = [s for s in specs if s.type == str(spec_type).upper()]
        return to_snake([s.raw for s in specs])

    def _pod(self, deployment_name: str, pod_name: Any, wildcard: bool = False) -> str:
        valid = isinstance(pod_name, str) and (
            POD_NAME_RE.match(pod_name) or (wildcard and POD_PATTERN_RE.match(pod_name))
        )
        if not valid:
            raise invalid(f"{pod_name!a} is not a pod name (get_deployment(...)['pod_infos'] lists them).")
        return self._service(deployment_name).service_id

    def debug_pod_shell(
        self, deployment_name: str | None = None, pod_name: str | None = None, *, service_id: str | None = None
    ) -> dict[str, Any]:
        """A short-lived web-shell URL for one pod: ``{"url", "request_id"}``."""
        name = _deployment_arg("debug_pod_shell", deployment_name, service_id)
        self.backend.require("pod_url")
        data, request_id = self.backend.pod_url(self._pod(name, pod_name), str(pod_name))
        return {**to_snake(data), "request_id": request_id}

    def restart_pod(
        self, deployment_name: str | None = None, pod_name: str | None = None, *, service_id: str | None = None
    ) -> dict[str, Any]:
        """Rebuild one pod: ``{"request_id", "ti_one_rebuild_service_request_id"}`` (the API call's RequestId and
        the TI-ONE request behind it)."""
        name = _deployment_arg("restart_pod", deployment_name, service_id)
        self.backend.require("rebuild_pod")
        data, request_id = self.backend.rebuild_pod(self._pod(name, pod_name), str(pod_name))
        return {**to_snake(data), "request_id": request_id}

    def _log_query(
        self,
        deployment_name: str,
        pod_name: str | None,
        start_time: str | None,
        end_time: str | None,
        keyword: str | None,
        order: str,
    ) -> LogQuery:
        if order not in ("ASC", "DESC"):
            raise invalid(f"order must be ASC or DESC, not {order!r}.")
        service_id = (
            self._pod(deployment_name, pod_name, wildcard=True)
            if pod_name
            else self._service(deployment_name).service_id
        )
        return LogQuery(service_id, pod_name or None, start_time, end_time, keyword, order)

    def get_pod_logs(
        self,
        deployment_name: str | None = None,
        pod_name: str | None = None,
        limit: int = 100,
        context: str | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
        keyword: str | None = None,
        order: str = "DESC",
        *,
        service_id: str | None = None,
    ) -> dict[str, Any]:
        """One page of logs: ``{"logs": [{"id", "timestamp", "pod_name", "message"}], "context": cursor}``; pass
        ``context`` back for the next page (empty at the end). ``pod_name`` takes a trailing ``*``."""
        name = _deployment_arg("get_pod_logs", deployment_name, service_id)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise invalid(f"limit must be from 1 to 1000, not {limit!r}.")
        query = self._log_query(name, pod_name, start_time, end_time, keyword, order)
        page = self.backend.logs_page(query, limit, context or None)
        return {"logs": to_snake(page.lines), "context": page.context}

    def iter_pod_logs(
        self,
        deployment_name: str | None = None,
        pod_name: str | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
        keyword: str | None = None,
        order: str = "ASC",
        *,
        service_id: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every log line, across all pages (arguments are checked now; pages are read as you iterate)."""
        name = _deployment_arg("iter_pod_logs", deployment_name, service_id)
        query = self._log_query(name, pod_name, start_time, end_time, keyword, order)
        return (to_snake(entry) for entry in self.backend.iter_logs(query))
