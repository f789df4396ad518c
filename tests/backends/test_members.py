"""Each backend's member table: the request members options fill, the image and model members, and the
Capabilities record agreeing with what the backend implements."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mlflow_tcdeploy_plugin import options as opt
from mlflow_tcdeploy_plugin.backends import NAMES, capabilities_of, option_refusal, tione, wedata
from mlflow_tcdeploy_plugin.backends.base import Backend, image_info, model_info
from mlflow_tcdeploy_plugin.backends.capabilities import FEATURES
from mlflow_tcdeploy_plugin.backends.members import SECRET_MEMBERS, pascal, request_members, to_pascal
from mlflow_tcdeploy_plugin.image import ImageOptions
from mlflow_tcdeploy_plugin.resolve import ResolvedModel
from mlflow_tcdeploy_plugin.schema import ListOf, Struct, secrets_in

# Optional features and the method that implements each (create_stopped is a flag of the create request).
METHODS = {
    "events": "events",
    "catalog_models": "iter_model_versions",
    "set_description": "set_description",
    "set_authorization": "set_authorization",
    "update_auth_token": "update_auth_token",
    "delete_auth_token": "delete_auth_token",
    "set_weights": "set_weights",
    "pod_url": "pod_url",
    "rebuild_pod": "rebuild_pod",
}


def test_requests_are_built_from_the_table() -> None:
    options = opt.parse(
        {
            "replicas": "2",
            "env": '{"A": "1", "B": "2"}',
            "log_enable": "true",
            "wait": "false",
            "service_description": "d",
        },
        opt.CREATE,
    )
    assert request_members(wedata.MEMBERS, options, update=False, group=False) == {
        "Replicas": 2,
        "Env": [{"Name": "A", "Value": "1"}, {"Name": "B", "Value": "2"}],
    }
    assert request_members(wedata.MEMBERS, options, update=False, group=True) == {
        "LogEnable": True,
        "ServiceDescription": "d",
    }
    assert request_members(tione.MEMBERS, options, update=True)["ServiceDescription"] == "d"


def test_nested_values_go_with_the_apis_member_names() -> None:
    options = opt.parse(
        {
            "service_limit": {
                "enable_instance_rps_limit": "true",
                "InstanceRpsLimit": "50",
                "enable_instance_req_limit": False,
                "instanceReqLimit": 0,
            },
            "resources": {"cpu": 4000, "memory": "8192", "gpu_type": "T4"},
            "image_info": {"image_type": "ccr", "image_url": "u", "image_secret": {"username": "u", "password": "p"}},
            "log_config": {"logset_id": "ls-1", "TopicId": "tp-1"},
        },
        opt.CREATE,
    )
    assert request_members(wedata.MEMBERS, options, update=False) == {
        "TioneResourceInfo": {"Cpu": 4000, "Memory": 8192, "GpuType": "T4"},
        "ImageInfo": {"ImageType": "CCR", "ImageUrl": "u", "ImageSecret": {"Username": "u", "Password": "p"}},
        "LogConfig": {"LogsetId": "ls-1", "TopicId": "tp-1"},
        "ServiceLimit": {
            "EnableInstanceRpsLimit": True,
            "InstanceRpsLimit": 50,
            "EnableInstanceReqLimit": False,
            "InstanceReqLimit": 0,
        },
    }
    assert request_members(wedata.MEMBERS, options, update=True)["Resources"] == {
        "Cpu": 4000,
        "Memory": 8192,
        "GpuType": "T4",
    }
    assert request_members(tione.MEMBERS, options, update=False)["Resources"]["Cpu"] == 4000
    change = opt.parse({"update_auth_token": {"name": "ci", "limits": [{"strategy": "perday", "max": 9}]}}, "endpoint")
    assert to_pascal(change["update_auth_token"]) == {"Name": "ci", "Limits": [{"Strategy": "PerDay", "Max": 9}]}
    assert [pascal(n) for n in ("gpu_type", "enable_instance_rps_limit", "key_id", "ImageUrl")] == [
        "GpuType",
        "EnableInstanceRpsLimit",
        "KeyId",
        "ImageUrl",
    ]


def test_image_and_model_members() -> None:
    assert image_info(ImageOptions(repository="ccr.ccs.tencentyun.com/ns/iris").pull("r"))["ImageType"] == "CCR"
    assert image_info(ImageOptions(repository="x.tencentcloudcr.com/ns/iris").pull("r"))["ImageType"] == "TCR"
    pull = ImageOptions(repository="127.0.0.1:5000/iris", username="robot", password="Tk2mQ9xLw4").pull(
        "127.0.0.1:5000/iris@sha256:0"
    )
    assert "Tk2mQ9xLw4" not in repr(pull)
    assert image_info(pull) == {
        "ImageType": "CUSTOM",
        "ImageUrl": "127.0.0.1:5000/iris@sha256:0",
        "ImageSecret": {"Username": "robot", "Password": base64.b64encode(b"Tk2mQ9xLw4").decode()},
    }
    model = ResolvedModel("models:/iris/3", "models:/m-abc123", "m-abc123", "iris", "3")
    assert model_info(model) == {"Id": "m-abc123", "Name": "iris", "Version": "3", "ModelPath": "models:/m-abc123"}


def test_every_secret_of_the_option_table_is_redacted_by_member_name() -> None:
    secret_values = {pascal(n) for o in opt.OPTIONS if isinstance(o.type, (Struct, ListOf)) for n in secrets_in(o.type)}
    secret_options = {wedata.SENT_AS.get(o.key, "").strip("`") for o in opt.OPTIONS if o.secret} - {""}
    assert secret_values | secret_options <= SECRET_MEMBERS
    assert {"Password", "AuthTokenValue"} <= secret_values | secret_options


@pytest.mark.parametrize("name", NAMES)
def test_capabilities_agree_with_the_backend(name: str) -> None:
    module = {"wedata": wedata, "tione": tione}[name]
    backend = next(
        v for v in vars(module).values() if isinstance(v, type) and issubclass(v, Backend) and v is not Backend
    )
    can = capabilities_of(name)
    assert backend.capabilities is can and backend.name == name and backend.members is module.MEMBERS
    assert set(can.lacks) <= set(FEATURES)
    for feature, method in METHODS.items():
        implemented = getattr(backend, method) is not getattr(Backend, method)
        assert implemented == can.has(feature), (name, feature)
    # An option its table fills is never refused; every option is offered by some backend.
    assert not set(module.MEMBERS) & set(can.refuses)
    assert all(any(capabilities_of(n).takes(o.key) for n in NAMES) for o in opt.OPTIONS)


def test_an_option_a_backend_cannot_honour_is_refused_naming_who_can() -> None:
    refused = option_refusal("tione")("model_source")
    assert refused is not None and "not available on the tione backend (it is for wedata)" in str(refused)
    refused = option_refusal("wedata")("traffic")
    assert refused is not None and "(it is for tione)" in str(refused) and "backend=tione" in str(refused)
    assert option_refusal("wedata")("replicas") is None


def test_answers_are_read_as_the_api_gives_them() -> None:
    from mlflow_tcdeploy_plugin.backends.base import Endpoint, State, weights_state
    from mlflow_tcdeploy_plugin.backends.wedata import read_catalog_version
    from mlflow_tcdeploy_plugin.resolve import resolve

    # No status, or an empty one, is a split in force; only UPDATE_FAILED fails.
    assert [weights_state(s) for s in (None, "", "UPDATED", "UPDATING", "UPDATE_FAILED")] == [
        State.APPLIED,
        State.APPLIED,
        State.APPLIED,
        State.PENDING,
        State.FAILED,
    ]
    # A token listed without a value is sent back as listed (null), not as the text "None".
    assert Endpoint.token_value({"Base": {"Name": "ci"}}) is None
    # A null property falls back to the version's URI, as an absent one does.
    item = {
        "Version": "2",
        "Uri": "cos://bucket/model",
        "Properties": [{"Key": "tclake.mlflow.artifact_path", "Value": None}],
    }

    class Catalog:
        def iter_model_versions(self, catalog: str, schema: str, model: str) -> list[Any]:
            return [read_catalog_version(item)]

    model = resolve("models:/c.s.m/2", Catalog())
    assert (model.model_path, model.version, model.name) == ("cos://bucket/model", "2", "m")
