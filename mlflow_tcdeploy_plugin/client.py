"""``TcDeploymentClient``: MLflow's deployments API over Tencent Cloud model services.

A *deployment* is a service version (its name is the ``ServiceId``); an *endpoint* is a service group. The client
adapts MLflow's methods: it parses the options, applies the refusal rules (``rules``, before the first request, so
input that must never be sent never leaves the machine), finds what is named (``lookup``) and runs the deployment
steps (``pipeline``) on the backend (WeData or TI-ONE).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mlflow.deployments import BaseDeploymentClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS

from .errors import TcDeployError, invalid
from .log import get_logger
from .naming import to_snake
from .settings import Settings

if TYPE_CHECKING:
    from . import lookup as find
    from . import options as opt
    from . import predict as scoring
    from . import results, rules
    from .backends import base
    from .backends.base import Backend, Endpoint
    from .cloud import errors as cloud
    from .pipeline import Release
else:
    from ._lazy import LazyModule

    # Loaded with the first call, not with the client (benchmarks/startup.py measures the import).
    find, opt, scoring, results, rules, base, cloud = (
        LazyModule(f"{__package__}.{name}")
        for name in ("lookup", "options", "predict", "results", "rules", "backends.base", "cloud.errors")
    )

logger = get_logger(__name__)

EVENTS_SHOWN = 20


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

    @property
    def _find(self) -> find.Lookup:
        return find.Lookup(self.backend)

    def _parse(self, config: dict[str, Any] | None, scope: str) -> dict[str, Any]:
        from .backends import option_refusal

        return opt.parse(config, scope, option_refusal(self.settings.backend))

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
        rules.check_flavor(flavor)
        options = self._parse(config, opt.CREATE)
        opt.check(options, opt.CREATE)
        if endpoint is None:
            rules.check_group_name(name)
        can = self.backend.capabilities
        rules.check_model_uri(model_uri, options, can)
        rules.create_action(options, can)
        rules.check_rollout(options, endpoint)
        rules.check_verify(options)
        release = self._release(options, model_uri=model_uri, endpoint=endpoint or name)
        from . import pipeline

        return pipeline.create(release, name, model_uri, options, endpoint)

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
        rules.check_flavor(flavor)
        options = self._parse(config, opt.UPDATE)
        if model_uri is not None:
            rules.check_model_uri(model_uri, options, self.backend.capabilities)
        opt.check(options, opt.UPDATE)
        rules.check_update(options, model_uri, self.backend.members)
        rules.check_verify(options)
        deployment = self._find.deployment(name, endpoint)
        from . import pipeline

        facts = {"model_uri": model_uri, "endpoint": deployment.group_id, "deployment": deployment.service_id}
        if "service_action" in options:
            rules.check_action_of(deployment, options)
            release = self._release(options, action=options["service_action"], **facts)
            return pipeline.act(release, deployment, options)
        rules.check_update_of(deployment, options)
        return pipeline.update(self._release(options, **facts), deployment, model_uri, options)

    def promote_release(
        self, release_id: str, name: str, config: dict[str, Any] | None = None, endpoint: str | None = None
    ) -> dict[str, Any]:
        """Deploy to this target what a succeeded release verified on another one: the very image digest it ran (no
        build) or the same model version, verified again here; the new release records where it came from.
        ``registry_username`` / ``registry_password`` log the service in to the image's registry.

        CLI: ``tcdeploy promote <release ID> --target tcdeploy:/ap-shanghai?backend=tione --name iris``.
        """
        from . import pipeline, promotion
        from .releases.actions import read

        options, credentials = promotion.options_of(self._parse(config, opt.CREATE))
        opt.check(options, opt.CREATE)
        if endpoint is None:
            rules.check_group_name(name)
        can = self.backend.capabilities
        rules.create_action(options, can)
        rules.check_rollout(options, endpoint)
        rules.check_verify(options)
        source = read(release_id)
        promotion.check_source(source, self.target_uri)
        model_uri = source.facts["model_uri"]
        rules.check_model_uri(model_uri, options, can, has_image=bool(source.facts.get("image")))
        release = self._release(options, model_uri=model_uri, endpoint=endpoint or name)
        result = pipeline.create(release, name, model_uri, options, endpoint, promotion.preparer(source, credentials))
        promotion.link(source.id, result["release"], self.target_uri)
        return {**result, "promoted_from": source.id}

    def _release(self, options: dict[str, Any], **facts: Any) -> Release:
        """A release of this target, recorded from now on."""
        from .pipeline import Release  # the deployment steps (gate, images, waiting) load on the first deployment

        return Release.start(self._find, self.settings.region, self.target_uri, options, **facts)

    def delete_deployment(self, name: str, config: dict[str, Any] | None = None, endpoint: str | None = None) -> None:
        """Delete a service version; deleting one that does not exist is not an error."""
        self._parse(config, opt.UPDATE)
        try:
            deployment = self._find.deployment(name, endpoint)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            logger.info("tcdeploy: %s does not exist; nothing to delete", name)
            return
        try:
            self.backend.delete_deployment(deployment.service_id)
        except cloud.CloudError as exc:
            if not exc.not_found:
                raise
        logger.info("tcdeploy: deleted %s", deployment.service_id)

    def list_deployments(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """One item per service version (``name`` is the ServiceId), optionally of one endpoint only."""
        groups = [self._find.endpoint(endpoint)] if endpoint else list(self.backend.iter_endpoints())
        return [results.deployment_summary(d, e.name) for e in groups for d in e.deployments]

    def get_deployment(self, name: str, endpoint: str | None = None, include_events: bool = False) -> dict[str, Any]:
        """The service version, snake_case, with the newest release recorded for it (``release``: id, status,
        stage; None when none is); ``include_events=True`` adds its latest events (newest first)."""
        if include_events:
            self.backend.capabilities.require("events")
        deployment = self._find.deployment(name, endpoint)
        from .releases.history import latest_for

        detail = results.deployment_detail(deployment)
        detail["release"] = latest_for(deployment.service_id, opt.BY_KEY["release_experiment"].default)
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
        url = scoring.validate_relative_url(url if url is not None else opt.value(options, "relative_url"))
        target = deployment_name or endpoint
        if not target:
            raise invalid("predict() needs a deployment name or an endpoint.")
        body = scoring.encode_inputs(inputs)
        rules.check_request_size(self.backend.request_size(body), self.backend.max_request, self.backend.name)
        group_id = self._find.group_id_for(target, endpoint if deployment_name else None)
        return scoring.decode_answer(target, self.backend.predict(group_id, url, body, options.get("auth_token")))

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
        group = self._find.endpoint(endpoint)
        return results.endpoint_detail(group, self.backend.call_info(group.group_id), reveal_tokens)

    def update_endpoint(self, endpoint: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Change an endpoint: ``description``, ``authorization_enable``, named auth tokens (``create_auth_token``,
        ``update_auth_token``, ``delete_auth_token``) and, on TI-ONE, the ``traffic`` split between versions
        (waits until it is applied). Returns ``get_endpoint``'s view.

        CLI: ``mlflow deployments update-endpoint -t tcdeploy --endpoint iris -C traffic='{"1": 90, "2": 10}'``.
        """
        options = self._parse(config, opt.ENDPOINT)
        changes = rules.endpoint_changes(options, self.backend.capabilities)
        group = self._find.endpoint(endpoint)
        new = options.get("create_auth_token")
        if new is not None and group.token_named(new["name"]):
            raise TcDeployError(
                f"The endpoint {endpoint!r} already has an auth token named {new['name']!r}.",
                error_code=RESOURCE_ALREADY_EXISTS,
            )
        changed, deleted = options.get("update_auth_token"), options.get("delete_auth_token")
        to_change = find.token(group, endpoint, changed["name"]) if changed is not None else None
        to_delete = find.token(group, endpoint, deleted) if deleted is not None else None
        weights = find.traffic_weights(options["traffic"], group) if "traffic" in options else None
        self._change_endpoint(group, options)
        if changed is not None and to_change is not None:
            self.backend.update_auth_token(group.group_id, changed, group.token_value(to_change))
        if to_delete is not None:
            self.backend.delete_auth_token(group.group_id, str(group.token_value(to_delete)))
        if weights is not None:
            self._split_traffic(group, weights, options)
        logger.info("tcdeploy: updated endpoint %s (%s)", group.group_id, ", ".join(changes))
        return self.get_endpoint(group.group_id, reveal_tokens=opt.value(options, "reveal_tokens"))

    def _change_endpoint(self, group: Endpoint, options: dict[str, Any]) -> None:
        if "description" in options:
            self.backend.set_description(group.group_id, options["description"])
        if "authorization_enable" in options:
            self.backend.set_authorization(group.group_id, options["authorization_enable"])
        if "create_auth_token" in options:
            self.backend.create_auth_token(group.group_id, options["create_auth_token"])

    def _split_traffic(self, group: Endpoint, weights: dict[str, int], options: dict[str, Any]) -> None:
        self.backend.set_weights(group, weights)
        if opt.value(options, "wait"):
            from .cloud import waiters

            waiters.wait_for_weights(
                self.backend, group.group_id, opt.value(options, "timeout"), opt.value(options, "poll_interval")
            )

    def delete_endpoint(self, endpoint: str) -> None:
        """Delete a service group and all its versions; a missing one is not an error."""
        try:
            self.backend.delete_endpoint(self._find.endpoint(endpoint).group_id)
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
        rules.check_pod_name(pod_name, wildcard)
        return self._find.deployment(deployment_name).service_id

    def debug_pod_shell(
        self, deployment_name: str | None = None, pod_name: str | None = None, *, service_id: str | None = None
    ) -> dict[str, Any]:
        """A short-lived web-shell URL for one pod: ``{"url", "request_id"}``."""
        name = rules.deployment_arg("debug_pod_shell", deployment_name, service_id)
        self.backend.capabilities.require("pod_url")
        data, request_id = self.backend.pod_url(self._pod(name, pod_name), str(pod_name))
        return {**to_snake(data), "request_id": request_id}

    def restart_pod(
        self, deployment_name: str | None = None, pod_name: str | None = None, *, service_id: str | None = None
    ) -> dict[str, Any]:
        """Rebuild one pod: ``{"request_id", "ti_one_rebuild_service_request_id"}`` (the API call's RequestId and
        the TI-ONE request behind it)."""
        name = rules.deployment_arg("restart_pod", deployment_name, service_id)
        self.backend.capabilities.require("rebuild_pod")
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
    ) -> base.LogQuery:
        if order not in ("ASC", "DESC"):
            raise invalid(f"order must be ASC or DESC, not {order!r}.")
        service_id = (
            self._pod(deployment_name, pod_name, wildcard=True)
            if pod_name
            else self._find.deployment(deployment_name).service_id
        )
        return base.LogQuery(service_id, pod_name or None, start_time, end_time, keyword, order)

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
        name = rules.deployment_arg("get_pod_logs", deployment_name, service_id)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise invalid(f"limit must be from 1 to 1000, not {limit!r}.")
        query = self._log_query(name, pod_name, start_time, end_time, keyword, order)
        page = self.backend.logs_page(query, limit, context or None)
        return {"logs": [to_snake(line.raw) for line in page.lines], "context": page.context}

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
        name = rules.deployment_arg("iter_pod_logs", deployment_name, service_id)
        query = self._log_query(name, pod_name, start_time, end_time, keyword, order)
        return (to_snake(line.raw) for line in self.backend.iter_logs(query))
