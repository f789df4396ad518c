"""The one way to a cloud API, shared by the backends: the official SDK's ``CommonClient`` signs and sends.

The only module that imports the SDK. It scopes each request (with the member each backend's ``Product`` names),
unwraps the payload (``Response.Data`` or ``Response``, as the ``Product`` says), treats an error envelope as an
error even when the SDK returned it without raising, maps errors to ``CloudError`` and retries what is safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..log import get_logger, watch_sdk_logger
from ..redact import add_secret
from ..settings import Settings
from .errors import CloudError
from .ratelimit import AdaptiveRate
from .retry import RetryPolicy, Safety, jitter

SDK_LOGGER = "tencentcloud_sdk_common"
MAX_MESSAGE = 500

logger = get_logger(__name__)
watch_sdk_logger(SDK_LOGGER)


@dataclass(frozen=True)
class Product:
    """What differs between the two APIs on the wire."""

    service: str
    version: str
    scope_member: str
    """The member naming the workspace every request is made in."""
    payload_in_data: bool
    """WeData nests each payload under ``Response.Data``; TI-ONE puts it in ``Response``."""


class Transport:
    """Signed calls to one product in one region and workspace, over one reused connection pool."""

    def __init__(
        self,
        settings: Settings,
        product: Product,
        *,
        endpoint: str | None = None,
        policy: RetryPolicy | None = None,
        timeout: int = 60,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = jitter,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from tencentcloud.common import credential
        from tencentcloud.common.common_client import CommonClient
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        http = HttpProfile(endpoint=endpoint or settings.endpoint, protocol=settings.protocol, reqTimeout=timeout)
        profile = ClientProfile(httpProfile=http, language="en-US")
        add_secret(settings.secret_key)
        add_secret(settings.token)
        cred = credential.Credential(settings.secret_id, settings.secret_key, settings.token)
        self.product = product
        self.scope = settings.scope
        self._client = CommonClient(product.service, product.version, cred, settings.region, profile)
        self._sdk_error = TencentCloudSDKException
        self._policy = policy or settings.retry_policy()
        self._sleep = sleep
        self._rand = rand
        self._clock = clock
        self._rates: dict[str, AdaptiveRate] = {}
        """Adaptive mode's request rate per action (Tencent Cloud limits each action's rate on its own)."""
        self._rates_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport({self.product.service}, {self.product.scope_member}={self.scope!r})"

    def _once(self, action: str, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """One attempt: ``(payload, RequestId)``."""
        try:
            answer = self._client.call_json(action, params)
        except self._sdk_error as exc:
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
        request_id = str(body.get("RequestId") or "")
        if self.product.payload_in_data:
            return body.get("Data") or {}, request_id
        return {k: v for k, v in body.items() if k != "RequestId"}, request_id

    def call(
        self,
        action: str,
        params: dict[str, Any],
        safety: Safety = Safety.READ,
        recover: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """Call ``action`` with retries and return its payload."""
        return self.call_with_request_id(action, params, safety, recover)[0]

    def call_with_request_id(
        self,
        action: str,
        params: dict[str, Any],
        safety: Safety = Safety.READ,
        recover: Callable[[], dict[str, Any] | None] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """``(payload, RequestId)``; ``recover`` finds the result of a CREATE whose first answer was lost (its
        RequestId is then empty)."""
        if self.scope:
            params = {self.product.scope_member: self.scope, **params}
        started, attempt = self._clock(), 0
        while True:
            attempt += 1
            try:
                return self._sent(action, params)
            except CloudError as error:
                if error.network and safety is Safety.CREATE and recover is not None:
                    found = recover()
                    if found is not None:
                        logger.info("%s: the first attempt had succeeded; using its result", action)
                        return found, ""
                elif not self._policy.retryable(error, safety):
                    raise
                delay = self._policy.delay(attempt, self._rand())
                if attempt >= self._policy.max_attempts or self._clock() + delay > started + self._policy.timeout:
                    raise self._spent(error, attempt, started) from error
                logger.warning(
                    "%s: %s; retrying in %.1fs (attempt %d of %d)",
                    action,
                    error.code,
                    delay,
                    attempt + 1,
                    self._policy.max_attempts,
                )
                self._sleep(delay)

    def _sent(self, action: str, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """One attempt, at the client's own rate for the action in adaptive mode (which the answer then adjusts)."""
        if self._policy.mode != "adaptive":
            return self._once(action, params)
        rate = self._rates.get(action)
        if rate is None:  # made once per action (setdefault alone would build one per call)
            with self._rates_lock:
                rate = self._rates.setdefault(action, AdaptiveRate(self._clock, self._sleep))
        sent_at = rate.acquire()
        try:
            answer = self._once(action, params)
        except CloudError as error:
            if not error.network:  # a lost answer says nothing about the rate
                rate.answered(sent_at, throttled=error.throttled)
            raise
        rate.answered(sent_at, throttled=False)
        return answer

    def _spent(self, error: CloudError, attempts: int, started: float) -> CloudError:
        """The last error, saying what the retries spent (the retry budget: attempts and seconds)."""
        policy = self._policy
        return CloudError(
            error.action,
            error.code,
            f"{error.cloud_message} [gave up after {attempts} attempts in {self._clock() - started:.1f}s; retry "
            f"budget {policy.max_attempts} attempts, {policy.timeout:g}s: max_attempts and retry_timeout in the "
            "target URI or TCDEPLOY_MAX_ATTEMPTS / TCDEPLOY_RETRY_TIMEOUT]",
            error.request_id,
        )
