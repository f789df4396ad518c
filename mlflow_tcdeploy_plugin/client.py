"""``TcDeploymentClient``: MLflow's deployments API over WeData model services.

A *deployment* is a service version (its name is the ``ServiceId``); an *endpoint* is a service group. Every
method checks its input before the first request, so input that must never be sent never leaves the machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mlflow.deployments import BaseDeploymentClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    RESOURCE_EXHAUSTED,
    ErrorCode,
)

from . import options as opt
from . import prepare, results
from .cloud import waiters
from .cloud.errors import CloudError
from .errors import invalid
from .log import get_logger
from .naming import to_snake
from .predict import decode_answer, encode_inputs, validate_relative_url
from .resolve import ResolvedModel, check_syntax, resolve
from .results import FLAVOR
from .settings import Settings

if TYPE_CHECKING:
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
)
IMAGE_PORT = 8080
"""MLflow's scoring server port (as in the images tcdeploy builds), the default for an image."""
EVENTS_SHOWN = 20


def _check_flavor(flavor: str | None) -> None:
    if flavor not in (None, FLAVOR):
        raise invalid(f"Flavor {flavor!r} is not supported: WeData model services serve the {FLAVOR} flavor.")


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
    """Deploy MLflow models to Tencent Cloud WeData model services.

    Args:
        target_uri: ``tcdeploy`` or ``tcdeploy:/<region>?workspace_id=<id>&endpoint=<host>``.
        secret_id, secret_key, token, region, workspace_id, endpoint: override the environment.
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
            },
        )
        self._api: Any = None

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"TcDeploymentClient(target_uri={self.target_uri!r}, region={s.region!r}, workspace_id="
            f"{s.workspace_id!r}, endpoint={s.endpoint!r})"
        )

    @property
    def api(self) -> Any:
        if self._api is None:
            from .cloud.api import CloudApi

            self._api = CloudApi(self.settings)
        return self._api

    # --- lookups -------------------------------------------------------------------------------------------------
    def _group(self, endpoint: str) -> dict[str, Any]:
        """A service group by ID, or by name."""
        _check_name("endpoint", endpoint)
        try:
            return self.api.get_group(endpoint)
        except CloudError as exc:
            if not exc.not_found and exc.code != "InvalidParameterValue":
                raise
        matches = [g for g in self.api.iter_groups() if g.get("ServiceGroupName") == endpoint]
        if not matches:
            raise MlflowException(
                f"No endpoint (service group) has the ID or name {endpoint!r}; "
                "`mlflow deployments list-endpoints -t tcdeploy` lists them.",
                error_code=RESOURCE_DOES_NOT_EXIST,
            )
        if len(matches) > 1:
            ids = ", ".join(g["ServiceGroupId"] for g in matches)
            raise invalid(f"Several endpoints are named {endpoint!r}: {ids}. Use the ID.")
        return self.api.get_group(matches[0]["ServiceGroupId"])

    def _service(self, name: str, endpoint: str | None = None) -> dict[str, Any]:
        """A service version by ServiceId, or by name when that names exactly one version."""
        _check_name("deployment", name)
        group_id = self._group(endpoint)["ServiceGroupId"] if endpoint else None
        try:
            service = self.api.get_service(name)
            if group_id is None or service.get("ServiceGroupId") == group_id:
                return service
        except CloudError as exc:
            if not exc.not_found and exc.code != "InvalidParameterValue":
                raise
        candidates = [
            (g, s)
            for g in self.api.iter_groups()
            if group_id in (None, g.get("ServiceGroupId"))
            for s in g.get("Services") or []
            if name in (s.get("ServiceName"), g.get("ServiceGroupName"))
        ]
        if not candidates:
            where = f" in endpoint {endpoint!r}" if endpoint else ""
            raise MlflowException(
                f"No deployment has the ID or name {name!r}{where}; `mlflow deployments list -t tcdeploy` lists them.",
                error_code=RESOURCE_DOES_NOT_EXIST,
            )
        if len(candidates) > 1:
            listed = "; ".join(
                f"{s['ServiceId']} (version {s.get('Version')}, {s.get('Status')})" for _, s in candidates
            )
            raise invalid(f"{name!r} names {len(candidates)} deployments: {listed}. Use a ServiceId.")
        return self.api.get_service(candidates[0][1]["ServiceId"])

    def _instance_type(self, wanted: str | None, charge_type: str) -> str:
        specs = self.api.billing_specs(charge_type)
        if wanted is None:
            cpu = [s for s in specs if s.get("Available") and s.get("SpecType") == "CPU"]
            if not cpu:
                raise MlflowException(
                    "No CPU instance type is available; set instance_type (`list_instance_types()` lists them).",
                    error_code=RESOURCE_EXHAUSTED,
                )
            chosen = cpu[0]
            logger.info(
                "tcdeploy: instance_type not given; using %s (%s)", chosen["SpecName"], chosen.get("SpecAlias", "")
            )
            return str(chosen["SpecName"])
        found = next((s for s in specs if s.get("SpecName") == wanted), None)
        if found is None:
            from difflib import get_close_matches

            names = [str(s.get("SpecName")) for s in specs]
            hint = get_close_matches(wanted, names, n=1)
            maybe = f" Did you mean {hint[0]!r}?" if hint else ""
            raise invalid(f"Unknown instance_type {wanted!r}.{maybe} Available: {', '.join(names)}.")
        if not found.get("Available"):
            regions = ", ".join(found.get("AvailableRegion") or []) or "no other region"
            raise MlflowException(
                f"instance_type {wanted!r} is sold out in {self.settings.region}; it is available in {regions}.",
                error_code=RESOURCE_EXHAUSTED,
            )
        return wanted

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
        options = opt.parse(config, opt.CREATE)
        opt.check(options, opt.CREATE)
        if endpoint is None and not (isinstance(name, str) and GROUP_NAME_RE.match(name)):
            raise invalid(
                f"The deployment name {name!a} is not a valid service group name: use at most 60 "
                "letters, digits, '_' or '-', starting with a letter or digit."
            )
        check_syntax(model_uri)
        action = options.get("service_action", "START")
        if action not in ("START", "STOP"):
            raise invalid(f"service_action={action} is for updates; a new deployment takes START or STOP.")
        runs_image = "image_info" in options or "image_repository" in options
        model_source = "IMAGE" if runs_image else opt.value(options, "model_source")
        charge_type = opt.value(options, "charge_type")
        if charge_type != "PREPAID" or "instance_type" in options:
            options["instance_type"] = self._instance_type(options.get("instance_type"), charge_type)
        model = resolve(model_uri, self.api)
        scan = prepare.gate(model, options)
        service_info = self._service_info(model, options, opt.CREATE)
        built = self._image(model, options, scan, service_info)
        if model_source == "IMAGE":
            service_info.setdefault("ServicePort", IMAGE_PORT)
        env = service_info.pop("Env", None)
        if env and len(env) == 1:
            service_info["EnvVar"] = env[0]  # CreateServiceInfos takes a single EnvVar; more go in an update
            env = None
        group_members = {
            "Status": opt.value(options, "status"),
            "ServiceAction": action,
            **opt.api_members(options, opt.CREATE, group=True),
            "ModelSource": model_source,
        }
        if endpoint is not None:
            group = self._group(endpoint)
            before = {s["ServiceId"] for s in group.get("Services") or []}
            params = {
                "ServiceGroupId": group["ServiceGroupId"],
                "NewVersion": True,
                **group_members,
                "Services": [service_info],
            }
            params.pop("ServiceDescription", None)

            def recover() -> dict[str, Any] | None:
                again = self.api.get_group(group["ServiceGroupId"])
                return again if {s["ServiceId"] for s in again.get("Services") or []} - before else None
        else:
            before = set()
            params = {"ServiceName": name, **group_members, "Services": [service_info]}

            def recover() -> dict[str, Any] | None:
                return next((g for g in self.api.iter_groups() if g.get("ServiceGroupName") == name), None)

        try:
            created = self.api.create_services(params, recover)
        except CloudError as exc:
            if exc.error_code == "RESOURCE_ALREADY_EXISTS":
                raise MlflowException(
                    f"An endpoint named {name!r} already exists: add a version with "
                    f"--endpoint {name} (endpoint={name!r}) or update an existing deployment. "
                    f"({exc.message})",
                    error_code=RESOURCE_ALREADY_EXISTS,
                ) from exc
            raise
        service = self._new_version(created, before, name if endpoint is None else endpoint)
        service_id = service["ServiceId"]
        logger.info(
            "tcdeploy: created %s (endpoint %s, version %s)",
            service_id,
            created.get("ServiceGroupId"),
            service.get("Version"),
        )
        if env:
            self._set_env(service_id, env)
        if opt.value(options, "wait"):
            goal = waiters.STOPPED if action == "STOP" else waiters.RUNNING
            service = self._wait(service_id, goal, options)
        summary = results.deployment_summary(service, created.get("ServiceGroupName"))
        if built is not None:
            summary["image"] = built.summary()
        return {**summary, "model_uri": model.model_uri, "scan": scan}

    @staticmethod
    def _image(
        model: ResolvedModel, options: dict[str, Any], scan: dict[str, Any], service_info: dict[str, Any]
    ) -> BuiltImage | None:
        """With image_repository: build (or find) and push the model's image; the service runs it."""
        if "image_repository" not in options:
            return None
        built, image_options = prepare.image(model, options, scan)
        service_info["ImageInfo"] = image_options.image_info(built.reference)
        return built

    @staticmethod
    def _new_version(created: dict[str, Any], before: set[str], endpoint: str) -> dict[str, Any]:
        """The version a create added; a group that lists none (an answer lost and the group found by name, say,
        when a group of that name already existed) is an error that says how to look."""
        new = [s for s in created.get("Services") or [] if s.get("ServiceId") not in before]
        if not new:
            listed = ", ".join(str(s.get("ServiceId")) for s in created.get("Services") or []) or "none"
            raise MlflowException(
                f"CreateMLModelServices answered with endpoint {created.get('ServiceGroupId')!r} ({endpoint}), but it "
                f"lists no new deployment (its deployments: {listed}). If the first answer was lost, an endpoint of "
                f"that name may have existed already. Check with `mlflow deployments get-endpoint -t tcdeploy "
                f"--endpoint {endpoint}` before creating again; add a version with --endpoint {endpoint}.",
                error_code=INTERNAL_ERROR,
            )
        return max(new, key=lambda s: int(s.get("Version") or 0))

    def _set_env(self, service_id: str, env: list[dict[str, str]]) -> None:
        """The second environment variable onwards, set right after the create (CreateServiceInfos takes one)."""
        try:
            self.api.update_service({"ServiceId": service_id, "Env": env})
        except MlflowException as exc:
            names = ", ".join(p["Name"] for p in env)
            raise MlflowException(
                f"The deployment {service_id} was created and exists, but setting its environment variables "
                f"({names}) failed: {exc.message} Set them with `mlflow deployments update -t tcdeploy --name "
                f"{service_id} -C env='{{...}}'`, or delete it with `mlflow deployments delete -t tcdeploy --name "
                f"{service_id}`.",
                error_code=ErrorCode.Value(exc.error_code),
            ) from exc

    def _service_info(self, model: ResolvedModel | None, options: dict[str, Any], scope: str) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if model is not None:
            info["MlModelInfo"] = model.ml_model_info
            if model.catalog:
                info["CatalogName"], info["SchemaName"] = model.catalog, model.schema
        info.update(opt.api_members(options, scope, group=False if scope == opt.CREATE else None))
        if scope == opt.CREATE:
            for key in ("charge_type", "scale_mode", "replicas"):
                info.setdefault(opt.BY_KEY[key].field, opt.value(options, key))
        return info

    def _wait(self, service_id: str, goal: waiters.Goal, options: dict[str, Any]) -> dict[str, Any]:
        return waiters.wait_for_service(
            self.api,
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
        options = opt.parse(config, opt.UPDATE)
        if model_uri is not None:
            check_syntax(model_uri)
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
        elif model_uri is None and not opt.api_members(options, opt.UPDATE):
            raise invalid("Nothing to update: give a model URI (-m) or options (-C key=value).")
        service = self._service(name, endpoint)
        service_id = service["ServiceId"]
        model, scan, built = None, None, None
        if action is not None:
            params: dict[str, Any] = {"ServiceId": service_id, "ServiceAction": action}
            if action == "SCALE":
                params["Replicas"] = self._scale_to(service, options)
        else:
            self._check_update(service, options)
            if "instance_type" in options:
                self._instance_type(options["instance_type"], opt.value(options, "charge_type"))
            model = resolve(model_uri, self.api) if model_uri is not None else None
            scan = prepare.gate(model, options) if model is not None else None
            params = {"ServiceId": service_id, **self._service_info(model, options, opt.UPDATE)}
            built = self._image(model, options, scan or {}, params) if model is not None else None
            if ("image_info" in options or built is not None) and "model_source" not in options:
                params["ModelSource"] = "IMAGE"
            if built is not None:
                params.setdefault("ServicePort", IMAGE_PORT)
        updated = self.api.update_service(params)
        logger.info("tcdeploy: updated %s (%s)", service_id, action or ", ".join(sorted(set(params) - {"ServiceId"})))
        status = str(updated.get("Status") or "")
        if opt.value(options, "wait"):
            stopping = action == "STOP" or (action is None and status in ("Stopped", "Stopping"))
            updated = self._wait(service_id, waiters.STOPPED if stopping else waiters.RUNNING, options)
        summary = results.deployment_summary(updated)
        if model is not None:
            summary["model_uri"] = model.model_uri
        if built is not None:
            summary["image"] = built.summary()
        return {**summary, "scan": scan} if scan is not None else summary

    @staticmethod
    def _scale_to(service: dict[str, Any], options: dict[str, Any]) -> int:
        """SCALE's replica count: the one given, else (as 1.0.3 accepted ``SCALE`` alone) the current one."""
        if "replicas" in options:
            return int(options["replicas"])
        current = int(service.get("Replicas") or 0)
        if current < 1:
            raise invalid(
                f"service_action=SCALE needs replicas (-C replicas=N): {service['ServiceId']} runs no replica now "
                f"(status {service.get('Status')}), so there is no current count to keep."
            )
        logger.info("tcdeploy: service_action=SCALE without replicas: sending the current count, %d", current)
        return current

    @staticmethod
    def _check_update(service: dict[str, Any], options: dict[str, Any]) -> None:
        """Combinations an update refuses, given what the service already has."""
        if options.get("charge_type") == "PREPAID" and not (
            options.get("resource_group_id") or service.get("ResourceGroupId")
        ):
            raise invalid(
                f"charge_type=PREPAID runs {service['ServiceId']} in a prepaid resource group, and it has none: "
                "give resource_group_id (and resources)."
            )
        if options.get("model_source") == "IMAGE" and not (options.get("image_info") or service.get("ImageInfo")):
            raise invalid(f"model_source=IMAGE needs image_info: {service['ServiceId']} has no image to run.")

    def delete_deployment(self, name: str, config: dict[str, Any] | None = None, endpoint: str | None = None) -> None:
        """Delete a service version; deleting one that does not exist is not an error."""
        opt.parse(config, opt.UPDATE)
        try:
            service = self._service(name, endpoint)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            logger.info("tcdeploy: %s does not exist; nothing to delete", name)
            return
        try:
            self.api.delete_service(service["ServiceId"])
        except CloudError as exc:
            if not exc.not_found:
                raise
        logger.info("tcdeploy: deleted %s", service["ServiceId"])

    def list_deployments(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """One item per service version (``name`` is the ServiceId), optionally of one endpoint only."""
        groups = [self._group(endpoint)] if endpoint else list(self.api.iter_groups())
        return [
            results.deployment_summary(s, g.get("ServiceGroupName")) for g in groups for s in g.get("Services") or []
        ]

    def get_deployment(self, name: str, endpoint: str | None = None, include_events: bool = False) -> dict[str, Any]:
        """The service version, snake_case; ``include_events=True`` adds its latest events (newest first)."""
        service = self._service(name, endpoint)
        detail = results.deployment_detail(service)
        if include_events:
            detail["events"] = to_snake(self.api.list_events(service["ServiceId"], EVENTS_SHOWN))
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
        options = opt.parse(config, opt.PREDICT)
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
        group_id = self._group_id_for(target, endpoint if deployment_name else None)
        return decode_answer(target, self.api.call_test(group_id, url, body, options.get("auth_token")))

    def _group_id_for(self, target: str, endpoint: str | None) -> str:
        """A group ID or name first, then a ServiceId or service name."""
        if endpoint is None:
            try:
                return str(self._group(target)["ServiceGroupId"])
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
        return str(self._service(target, endpoint)["ServiceGroupId"])

    # --- endpoints (service groups) ------------------------------------------------------------------------------
    def create_endpoint(self, name: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
        raise invalid(
            "WeData creates an endpoint (service group) with its first deployment: run "
            f"create_deployment({name!r}, model_uri) (CLI: mlflow deployments create -t tcdeploy "
            f"--name {name} -m <model URI>), then add versions with endpoint={name!r}."
        )

    def list_endpoints(self) -> list[dict[str, Any]]:
        return [results.endpoint_summary(g) for g in self.api.iter_groups()]

    def get_endpoint(self, endpoint: str, reveal_tokens: bool = False) -> dict[str, Any]:
        """The service group with its versions, auth tokens and call addresses (``call_info``).

        Token values show only their last 4 characters unless ``reveal_tokens=True``.
        """
        group = self._group(endpoint)
        return results.endpoint_detail(group, self.api.call_info(group["ServiceGroupId"]), reveal_tokens)

    def update_endpoint(self, endpoint: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Change an endpoint: ``description``, ``authorization_enable``, and named auth tokens
        (``create_auth_token``, ``update_auth_token``, ``delete_auth_token``). Returns ``get_endpoint``'s view.

        CLI: ``mlflow deployments update-endpoint -t tcdeploy --endpoint iris -C create_auth_token=ci-bot``.
        """
        options = opt.parse(config, opt.ENDPOINT)
        if not set(options) & set(ENDPOINT_CHANGES):
            raise invalid(f"Nothing to change: give one of {', '.join(ENDPOINT_CHANGES)} (-C key=value).")
        group = self._group(endpoint)
        group_id = group["ServiceGroupId"]
        new, changed, deleted = (
            options.get("create_auth_token"),
            options.get("update_auth_token"),
            options.get("delete_auth_token"),
        )
        if new is not None and results.token_named(group, new["Name"]):
            raise MlflowException(
                f"The endpoint {endpoint!r} already has an auth token named {new['Name']!r}.",
                error_code=RESOURCE_ALREADY_EXISTS,
            )
        to_change = self._token(group, endpoint, changed["Name"]) if changed is not None else None
        to_delete = self._token(group, endpoint, deleted) if deleted is not None else None
        if "description" in options:
            self.api.update_group(group_id, options["description"])
        if "authorization_enable" in options:
            self.api.set_authorization(group_id, options["authorization_enable"])
        if new is not None:
            self.api.create_auth_token(group_id, new)
        if changed is not None and to_change is not None:
            base = to_change.get("Base") or {}
            token = {"Base": {"Name": changed["Name"], "Value": base.get("Value")}}
            if "Description" in changed:
                token["Base"]["Description"] = changed["Description"]
            if "Limits" in changed:
                token["Limits"] = changed["Limits"]
            self.api.update_auth_token(group_id, token)
        if to_delete is not None:
            self.api.delete_auth_token(group_id, str((to_delete.get("Base") or {}).get("Value")))
        logger.info(
            "tcdeploy: updated endpoint %s (%s)", group_id, ", ".join(sorted(set(options) & set(ENDPOINT_CHANGES)))
        )
        return self.get_endpoint(group_id, reveal_tokens=opt.value(options, "reveal_tokens"))

    @staticmethod
    def _token(group: dict[str, Any], endpoint: str, name: str) -> dict[str, Any]:
        token = results.token_named(group, name)
        if token is None:
            names = ", ".join(results.token_names(group)) or "(none)"
            raise MlflowException(
                f"The endpoint {endpoint!r} has no auth token named {name!r}; its tokens: {names}.",
                error_code=RESOURCE_DOES_NOT_EXIST,
            )
        return token

    def delete_endpoint(self, endpoint: str) -> None:
        """Delete a service group and all its versions; a missing one is not an error."""
        try:
            group = self._group(endpoint)
            self.api.delete_group(group["ServiceGroupId"])
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            logger.info("tcdeploy: endpoint %s does not exist; nothing to delete", endpoint)

    # --- instance types and pods ---------------------------------------------------------------------------------
    def list_instance_types(self, spec_type: str | None = None) -> list[dict[str, Any]]:
        """The instance specs on offer; ``spec_type`` ``CPU`` or ``GPU`` filters them."""
        if spec_type is not None and str(spec_type).upper() not in ("CPU", "GPU"):
            raise invalid(f"spec_type must be CPU or GPU, not {spec_type!r}.")
        specs = self.api.billing_specs()
        if spec_type is not None:
            specs = [s for s in specs if s.get("SpecType") == str(spec_type).upper()]
        return to_snake(specs)

    def _pod(self, deployment_name: str, pod_name: Any, wildcard: bool = False) -> str:
        valid = isinstance(pod_name, str) and (
            POD_NAME_RE.match(pod_name) or (wildcard and POD_PATTERN_RE.match(pod_name))
        )
        if not valid:
            raise invalid(f"{pod_name!a} is not a pod name (get_deployment(...)['pod_infos'] lists them).")
        return str(self._service(deployment_name)["ServiceId"])

    def debug_pod_shell(
        self, deployment_name: str | None = None, pod_name: str | None = None, *, service_id: str | None = None
    ) -> dict[str, Any]:
        """A short-lived web-shell URL for one pod: ``{"url", "request_id"}``."""
        target = self._pod(_deployment_arg("debug_pod_shell", deployment_name, service_id), pod_name)
        data, request_id = self.api.pod_url(target, pod_name)
        return {**to_snake(data), "request_id": request_id}

    def restart_pod(
        self, deployment_name: str | None = None, pod_name: str | None = None, *, service_id: str | None = None
    ) -> dict[str, Any]:
        """Rebuild one pod: ``{"request_id", "ti_one_rebuild_service_request_id"}`` (the API call's RequestId and
        the TI-ONE request behind it)."""
        target = self._pod(_deployment_arg("restart_pod", deployment_name, service_id), pod_name)
        data, request_id = self.api.rebuild_pod(target, pod_name)
        return {**to_snake(data), "request_id": request_id}

    def _log_query(
        self,
        deployment_name: str,
        pod_name: str | None,
        start_time: str | None,
        end_time: str | None,
        keyword: str | None,
        order: str,
    ) -> dict[str, Any]:
        if order not in ("ASC", "DESC"):
            raise invalid(f"order must be ASC or DESC, not {order!r}.")
        service_id = (
            self._pod(deployment_name, pod_name, wildcard=True)
            if pod_name
            else str(self._service(deployment_name)["ServiceId"])
        )
        query: dict[str, Any] = {"ServiceId": service_id, "Order": order}
        for key, val in (("PodName", pod_name), ("StartTime", start_time), ("EndTime", end_time), ("Key", keyword)):
            if val:
                query[key] = val
        return query

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
        query["Limit"] = limit
        if context:
            query["Context"] = context
        page = self.api.logs_page(query)
        return {"logs": to_snake(page.get("Content") or []), "context": page.get("Context") or ""}

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
        return (to_snake(entry) for entry in self.api.iter_logs({**query, "Limit": 1000}))
