"""Cloud error codes mapped to MLflow's, retry decisions and backoff; API objects to snake_case."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin.cloud.errors import CloudError, mlflow_code
from mlflow_tcdeploy_plugin.cloud.ratelimit import MIN_RATE, AdaptiveRate
from mlflow_tcdeploy_plugin.cloud.retry import RetryPolicy, Safety
from mlflow_tcdeploy_plugin.naming import to_snake


def _code(exc: pytest.ExceptionInfo[MlflowException]) -> str:
    return str(exc.value.error_code)


def test_snake_case_is_recursive_through_lists() -> None:
    raw = {
        "ServiceId": "s",
        "PodInfos": [{"Name": "p", "ContainerInfos": [{"RestartCount": 1}]}],
        "TiOneServiceId": None,
        "WorkloadStatus": {"ReadyReplicas": 1},
    }
    assert to_snake(raw) == {
        "service_id": "s",
        "pod_infos": [{"name": "p", "container_infos": [{"restart_count": 1}]}],
        "ti_one_service_id": None,
        "workload_status": {"ready_replicas": 1},
    }


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ResourceNotFound", "RESOURCE_DOES_NOT_EXIST"),
        ("ResourceNotFound.NoModel", "RESOURCE_DOES_NOT_EXIST"),
        ("InvalidParameter", "INVALID_PARAMETER_VALUE"),
        ("InvalidParameterValue.BadName", "INVALID_PARAMETER_VALUE"),
        ("MissingParameter", "INVALID_PARAMETER_VALUE"),
        ("UnknownParameter", "INVALID_PARAMETER_VALUE"),
        ("InvalidParameter.DuplicateName", "RESOURCE_ALREADY_EXISTS"),
        ("AuthFailure.SignatureFailure", "UNAUTHENTICATED"),
        ("AuthFailure.SecretIdNotFound", "UNAUTHENTICATED"),
        ("AuthFailure.UnauthorizedOperation", "PERMISSION_DENIED"),
        ("UnauthorizedOperation.UserNotInProject", "PERMISSION_DENIED"),
        ("RequestLimitExceeded", "REQUEST_LIMIT_EXCEEDED"),
        ("RequestLimitExceeded.UinLimitExceeded", "REQUEST_LIMIT_EXCEEDED"),
        ("LimitExceeded", "RESOURCE_EXHAUSTED"),
        ("ResourceInsufficient.QuotaInsufficient", "RESOURCE_EXHAUSTED"),
        ("InternalError", "INTERNAL_ERROR"),
        ("FailedOperation.ClusterQueryFailed", "INTERNAL_ERROR"),
        ("InvalidParameterish", "INTERNAL_ERROR"),
    ],
)
def test_error_codes_map_to_mlflow(code: str, expected: str) -> None:
    from mlflow.protos import databricks_pb2

    assert databricks_pb2.ErrorCode.Name(mlflow_code(code)) == expected
    err = CloudError("GetMLModelService", code, "msg", "req-1")
    assert err.error_code == expected and "GetMLModelService" in err.message and "req-1" in err.message


@pytest.mark.parametrize(
    ("code", "safety", "retried"),
    [
        ("RequestLimitExceeded", Safety.READ, True),
        ("RequestLimitExceeded", Safety.ONCE, True),
        ("RequestLimitExceeded", Safety.CREATE, True),
        ("ClientNetworkError", Safety.READ, True),
        ("ServerNetworkError", Safety.READ, True),
        ("ClientNetworkError", Safety.ONCE, False),
        ("ClientNetworkError", Safety.CREATE, False),
        ("ResourceNotFound", Safety.READ, False),
        ("InternalError", Safety.READ, False),
        ("AuthFailure.SignatureFailure", Safety.READ, False),
    ],
)
def test_retry_decisions(code: str, safety: Safety, retried: bool) -> None:
    assert RetryPolicy().retryable(CloudError("A", code, ""), safety) is retried


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert [policy.delay(n, 0.999999) for n in (1, 2, 3, 4, 5, 9)] == pytest.approx([0.5, 1, 2, 4, 4, 4], rel=1e-3)
    assert policy.delay(3, 0.0) == 0.0


class _Clock:
    """Time that moves only when the rate limiter sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_adaptive_rate_is_unlimited_until_a_throttle_then_paced_at_70_percent_of_what_was_sent() -> None:
    clock = _Clock()
    rate = AdaptiveRate(clock, clock.sleep)
    sent = [rate.acquire() for _ in range(20)]  # 20 requests in the same instant: no limit yet
    assert clock.slept == [] and rate.rate is None
    rate.throttled(sent[-1])
    assert rate.rate == pytest.approx(20 * 0.7)
    for _ in range(28):
        rate.acquire()
    assert sum(clock.slept) == pytest.approx(28 / 14, rel=0.01)  # paced: 28 requests at 14/s take 2 s


def test_the_adaptive_rate_is_cut_once_per_round_and_climbs_back_to_unlimited() -> None:
    clock = _Clock()
    rate = AdaptiveRate(clock, clock.sleep)
    sent = [rate.acquire() for _ in range(10)]
    rate.throttled(sent[0])
    first = rate.rate
    for at in sent[1:]:  # answers to requests sent before the cut say nothing about the new rate
        rate.throttled(at)
    assert rate.rate == first
    rate.throttled(rate.acquire())  # sent after the cut: the rate is cut again
    assert rate.rate == pytest.approx(first * 0.7)
    climbs = 0
    while rate.rate is not None:
        rate.acquire()
        rate.succeeded()
        climbs += 1
    assert 5 < climbs < 30  # 15% a success: back to no limit once far above what is sent


def test_the_adaptive_rate_never_goes_below_its_floor() -> None:
    clock = _Clock()
    rate = AdaptiveRate(clock, clock.sleep)
    for _ in range(50):
        clock.now += 10  # each throttled request is a round of its own, sent alone
        rate.throttled(rate.acquire())
    assert rate.rate == MIN_RATE
