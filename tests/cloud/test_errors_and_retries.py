"""Cloud error codes mapped to MLflow's, retry decisions and backoff; API objects to snake_case."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin.cloud.errors import CloudError, mlflow_code
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
        "Scalars": ["KeepMe", 1, 2.5, True, None],
        "Nested": [[{"CpuLimit": 0.5}], []],
    }
    assert to_snake(raw) == {
        "service_id": "s",
        "pod_infos": [{"name": "p", "container_infos": [{"restart_count": 1}]}],
        "ti_one_service_id": None,
        "workload_status": {"ready_replicas": 1},
        "scalars": ["KeepMe", 1, 2.5, True, None],
        "nested": [[{"cpu_limit": 0.5}], []],
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
