"""One method per WeData action, over the official SDK's ``CommonClient`` (the SDK signs and sends).

The only module that imports the SDK. It unwraps ``Response.Data``, treats an error envelope as an error even
when the SDK returned it without raising, maps errors to ``CloudError`` and retries what is safe to retry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..log import get_logger, watch_sdk_logger
from ..redact import add_secret
from ..settings import Settings
from .errors import CloudError
from .retry import RetryPolicy, Safety, jitter

WEDATA = ("wedata", "2025-10-10")
SDK_LOGGER = "tencentcloud_sdk_common"

logger = get_logger(__name__)
watch_sdk_logger(SDK_LOGGER)
MAX_MESSAGE = 500
GROUP_PAGE_SIZE = 100


class CloudApi:
    """The WeData model-service API for one workspace and region. Reuses one HTTP connection pool."""

    def __init__(
        self,
        settings: Settings,
        *,
        policy: RetryPolicy | None = None,
        timeout: int = 60,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = jitter,
    ) -> None:
        from tencentcloud.common import credential
        from tencentcloud.common.common_client import CommonClient
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        http = HttpProfile(endpoint=settings.endpoint, protocol=settings.protocol, reqTimeout=timeout)
        profile = ClientProfile(httpProfile=http, language="en-US")
        add_secret(settings.secret_key)
        add_secret(settings.token)
        cred = credential.Credential(settings.secret_id, settings.secret_key, settings.token)
        self._client = CommonClient(*WEDATA, cred, settings.region, profile)
        self.workspace_id = settings.workspace_id
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rand = rand

    def __repr__(self) -> str:
        return f"CloudApi(workspace_id={self.workspace_id!r})"

    # --- the one way in ------------------------------------------------------------------------------------------
    def _once(self, action: str, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """One attempt: ``(Response.Data, RequestId)``."""
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

        try:
            answer = self._client.call_json(action, params)
        except TencentCloudSDKException as exc:
            message = str(exc.message if exc.message is not None else "")
            raise CloudError(action, exc.code or "InternalError", message[:MAX_MESSAGE], exc.requestId) from None
        body = answer.get("Response") if isinstance(answer, dict) else None
        if not isinstance(body, dict):
            raise CloudError(action, "InternalError", "The answer has no Response object.")
        # With a Content-Type other than exactly application/json the SDK returns error envelopes without raising.
        error = body.get("Error")
        if isinstance(error, dict):
            raise CloudError(
                action,
                str(error.get("Code") or "InternalError"),
                str(error.get("Message") or ""),
                body.get("RequestId"),
            )
        return body.get("Data") or {}, str(body.get("RequestId") or "")

    def call(
        self,
        action: str,
        params: dict[str, Any],
        safety: Safety = Safety.READ,
        recover: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """Call ``action`` with retries and return ``Response.Data``."""
        return self.call_with_request_id(action, params, safety, recover)[0]

    def call_with_request_id(
        self,
        action: str,
        params: dict[str, Any],
        safety: Safety = Safety.READ,
        recover: Callable[[], dict[str, Any] | None] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """``(Response.Data, RequestId)``; ``recover`` finds the result of a CREATE whose first answer was lost
        (its RequestId is then empty)."""
        params = {"WorkspaceId": self.workspace_id, **params}
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(action, params)
            except CloudError as error:
                if error.network and safety is Safety.CREATE and recover is not None:
                    found = recover()
                    if found is not None:
                        logger.info("%s: the first attempt had succeeded; using its result", action)
                        return found, ""
                    retry = attempt < self._policy.max_attempts
                else:
                    retry = self._policy.should_retry(error, attempt, safety)
                if not retry:
                    raise
                delay = self._policy.delay(attempt, self._rand())
                logger.warning(
                    "%s: %s; retrying in %.1fs (attempt %d of %d)",
                    action,
                    error.code,
                    delay,
                    attempt + 1,
                    self._policy.max_attempts,
                )
                self._sleep(delay)

    # --- service groups and services -----------------------------------------------------------------------------
    def create_services(self, params: dict[str, Any], recover: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
        return self.call("CreateMLModelServices", params, Safety.CREATE, recover)

    def update_service(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.call("UpdateMLModelService", params)

    def delete_service(self, service_id: str) -> dict[str, Any]:
        return self.call("DeleteMLModelService", {"ServiceId": service_id})

    def delete_group(self, group_id: str) -> dict[str, Any]:
        return self.call("DeleteMLModelServiceGroup", {"ServiceGroupId": group_id})

    def get_service(self, service_id: str) -> dict[str, Any]:
        return self.call("GetMLModelService", {"ServiceId": service_id})

    def get_group(self, group_id: str) -> dict[str, Any]:
        return self.call("GetMLModelServiceGroup", {"ServiceGroupId": group_id})

    def update_group(self, group_id: str, description: str) -> dict[str, Any]:
        return self.call("UpdateModelServiceGroup", {"ServiceGroupId": group_id, "Description": description})

    def iter_groups(self, page_size: int = GROUP_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every service group, following PageNumber/PageSize to the last page."""
        page = 1
        while True:
            data = self.call("ListMLModelServiceGroups", {"PageNumber": page, "PageSize": page_size})
            yield from data.get("Rows") or []
            if page >= int(data.get("TotalPageNumber") or 0) or not data.get("Rows"):
                return
            page += 1

    # --- calling a service and its pods --------------------------------------------------------------------------
    def call_test(self, group_id: str, relative_url: str, body: str, auth_token: str | None) -> dict[str, Any]:
        """Send ``body`` to ``relative_url`` of the group; return the upstream ``{status, headers, body}``."""
        params = {"ServiceId": group_id, "ServiceGroupId": group_id, "RelativeUrl": relative_url, "CurlData": body}
        if auth_token:
            params["AuthTokenValue"] = auth_token
        raw = self.call("ModelServiceInterfaceCallTest", params).get("CurlResponseRaw")
        try:
            upstream = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            upstream = None
        if not isinstance(upstream, dict) or "status" not in upstream:
            raise CloudError(
                "ModelServiceInterfaceCallTest",
                "InternalError",
                f"CurlResponseRaw is not the expected JSON object: {str(raw)[:MAX_MESSAGE]!r}",
            )
        return upstream

    def pod_url(self, service_id: str, pod_name: str) -> tuple[dict[str, Any], str]:
        return self.call_with_request_id("CreateModelServicePodUrl", {"ServiceId": service_id, "PodName": pod_name})

    def rebuild_pod(self, service_id: str, pod_name: str) -> tuple[dict[str, Any], str]:
        params = {"ServiceId": service_id, "PodName": pod_name}
        return self.call_with_request_id("RebuildModelServicePod", params, Safety.ONCE)

    # --- call addresses and auth tokens --------------------------------------------------------------------------
    def call_info(self, group_id: str) -> dict[str, Any]:
        return self.call("GetModelServiceCallInfo", {"ServiceGroupId": group_id})

    def set_authorization(self, group_id: str, enable: bool) -> dict[str, Any]:
        return self.call("UpdateModelServiceAuthorization", {"ServiceGroupId": group_id, "AuthorizationEnable": enable})

    def create_auth_token(self, group_id: str, token: dict[str, Any]) -> dict[str, Any]:
        """Add a named token; a lost answer is recovered by finding the name among the group's tokens."""

        def recover() -> dict[str, Any] | None:
            tokens = self.get_group(group_id).get("AuthTokens") or []
            return {} if any((t.get("Base") or {}).get("Name") == token["Name"] for t in tokens) else None

        return self.call("CreateModelServiceAuthToken", {"ServiceGroupId": group_id, **token}, Safety.CREATE, recover)

    def update_auth_token(self, group_id: str, token: dict[str, Any]) -> dict[str, Any]:
        return self.call("UpdateModelServiceAuthToken", {"ServiceGroupId": group_id, "AuthToken": token})

    def delete_auth_token(self, group_id: str, value: str) -> dict[str, Any]:
        return self.call("DeleteModelServiceAuthToken", {"ServiceGroupId": group_id, "AuthTokenValue": value})

    # --- logs, events, catalog, billing --------------------------------------------------------------------------
    def logs_page(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.call("ListMLServiceLogs", {"Service": "INFER", **params})

    def iter_logs(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every log line matching ``params``, following Context to the end."""
        params = dict(params)
        while True:
            data = self.logs_page(params)
            yield from data.get("Content") or []
            if not data.get("Context") or not data.get("Content"):
                return
            params["Context"] = data["Context"]

    def list_events(self, service_id: str, limit: int = 20, warnings_only: bool = False) -> list[dict[str, Any]]:
        """The service's latest events, newest first."""
        params: dict[str, Any] = {"Service": "INFER", "ServiceId": service_id, "Limit": limit, "Order": "DESC"}
        if warnings_only:
            params["Filters"] = [{"Name": "Type", "Values": ["Warning"]}]
        return list(self.call("ListModelServiceEvents", params).get("Events") or [])

    def iter_model_versions(
        self, catalog: str, schema: str, model: str, page_size: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Every version of a TCLake model, following NextPageToken to the end."""
        params = {"CatalogName": catalog, "SchemaName": schema, "ModelName": model, "MaxResults": str(page_size)}
        while True:
            data = self.call("ListModelVersions", params)
            yield from data.get("Items") or []
            if not data.get("NextPageToken"):
                return
            params["PageToken"] = data["NextPageToken"]

    def billing_specs(self, charge_type: str = "POSTPAID_BY_HOUR") -> list[dict[str, Any]]:
        return list(self.call("GetBillingSpecs", {"ChargeType": charge_type}).get("SpecInfos") or [])
