"""Request definitions of the emulated actions, written from the API reference, and their validation.

Each action lists its members with a type, a required flag and, where the reference documents one, an enum.
The WeData ``2025-10-10`` definitions mark nearly every member optional; where an action cannot do anything
without a member (the ID of the thing it acts on), the emulator requires it and docs/emulator.md says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STRING = "string"
INT64 = "int64"
UINT64 = "uint64"
BOOL = "bool"


@dataclass(frozen=True)
class ListOf:
    item: TypeSpec


@dataclass(frozen=True)
class Struct:
    name: str
    members: dict[str, Member]


TypeSpec = str | ListOf | Struct


@dataclass(frozen=True)
class Member:
    type: TypeSpec
    required: bool = False
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    service: str
    version: str
    name: str
    members: dict[str, Member] = field(default_factory=dict)


def _m(type_: TypeSpec, required: bool = False, enum: tuple[str, ...] = ()) -> Member:
    return Member(type_, required, enum)


WEDATA = ("wedata", "2025-10-10")
TIONE = ("tione", "2021-11-11")

CHARGE_TYPES = ("PREPAID", "POSTPAID_BY_HOUR")
SCALE_MODES = ("MANUAL", "AUTO")
SERVICE_ACTIONS = ("START", "STOP", "RESUME", "SCALE")
MODEL_SOURCES = ("MODEL", "IMAGE")
ORDER = ("ASC", "DESC")

NV_PAIR = Struct("NVPair", {"Name": _m(STRING), "Value": _m(STRING)})
LOG_CONFIG = Struct("LogConfig", {"LogsetId": _m(STRING), "TopicId": _m(STRING)})
ML_MODEL_INFO = Struct(
    "MLModelInfo", {"Id": _m(STRING), "Name": _m(STRING), "Version": _m(STRING), "ModelPath": _m(STRING)}
)
IMAGE_SECRET = Struct(
    "ImageSecret",
    {"KeyId": _m(STRING), "Username": _m(STRING), "Password": _m(STRING), "SecretId": _m(STRING)},
)
IMAGE_INFO = Struct(
    "ImageInfo",
    {
        "ImageType": _m(STRING, enum=("TCR", "CCR", "PreSet", "CUSTOM")),
        "ImageUrl": _m(STRING, required=True),
        "RegistryRegion": _m(STRING),
        "RegistryId": _m(STRING),
        "AllowSaveAllContent": _m(BOOL),
        "ImageName": _m(STRING),
        "SupportDataPipeline": _m(BOOL),
        "ImageSecret": _m(IMAGE_SECRET),
    },
)
RESOURCE_INFO = Struct(
    "ResourceInfo",
    {
        "Cpu": _m(INT64),
        "Memory": _m(INT64),
        "Gpu": _m(INT64),
        "GpuType": _m(STRING),
        "RealGpu": _m(INT64),
        "EnableRDMA": _m(BOOL),
        "RdmaNumber": _m(INT64),
        "RootDisk": _m(INT64),
        "DataDisk": _m(INT64),
    },
)
SERVICE_LIMIT = Struct(
    "ServiceLimit",
    {
        "EnableInstanceRpsLimit": _m(BOOL, required=True),
        "InstanceRpsLimit": _m(INT64, required=True),
        "EnableInstanceReqLimit": _m(BOOL, required=True),
        "InstanceReqLimit": _m(INT64, required=True),
    },
)
SCHEDULED_ACTION = Struct("ScheduledAction", {"ScheduleStop": _m(BOOL), "ScheduleStopTime": _m(STRING)})
AUTH_TOKEN_BASE = Struct(
    "AuthTokenBase",
    {
        "Name": _m(STRING),
        "Description": _m(STRING),
        "Value": _m(STRING),
        "Id": _m(STRING),
        "Status": _m(STRING),
        "CreateTime": _m(STRING),
    },
)
AUTH_TOKEN_LIMIT = Struct(
    "AuthTokenLimit", {"Strategy": _m(STRING, required=True, enum=("PerMinute", "PerDay")), "Max": _m(INT64)}
)
AUTH_TOKEN = Struct("AuthToken", {"Base": _m(AUTH_TOKEN_BASE, required=True), "Limits": _m(ListOf(AUTH_TOKEN_LIMIT))})
FILTER = Struct("Filter", {"Name": _m(STRING, required=True), "Values": _m(ListOf(STRING))})
# The reference did not extract OrderField's structure; this shape is the emulator's inference.
ORDER_FIELD = Struct("OrderField", {"Name": _m(STRING), "Direction": _m(STRING, enum=ORDER)})

CREATE_SERVICE_INFOS = Struct(
    "CreateServiceInfos",
    {
        "ServiceId": _m(STRING),
        "ChargeType": _m(STRING, enum=CHARGE_TYPES),
        "InstanceType": _m(STRING),
        "ScaleMode": _m(STRING, enum=SCALE_MODES),
        "Replicas": _m(INT64),
        "ServicePort": _m(INT64),
        "ImageInfo": _m(IMAGE_INFO),
        "MlModelInfo": _m(ML_MODEL_INFO),
        "ResourceGroupId": _m(STRING),
        "TioneResourceInfo": _m(RESOURCE_INFO),
        "Command": _m(STRING),
        "ServiceLimit": _m(SERVICE_LIMIT),
        "ScheduledAction": _m(SCHEDULED_ACTION),
        "EnvVar": _m(NV_PAIR),
        "CatalogName": _m(STRING),
        "SchemaName": _m(STRING),
    },
)

HPA_OPTION = Struct("Option", {"Name": _m(STRING, required=True), "Value": _m(INT64, required=True)})
HPA = Struct(
    "HorizontalPodAutoscaler",
    {
        "MinReplicas": _m(INT64, required=True),
        "MaxReplicas": _m(INT64, required=True),
        "HpaMetrics": _m(ListOf(HPA_OPTION), required=True),
        "ScaleUpStabilizationWindowSeconds": _m(INT64),
        "ScaleDownStabilizationWindowSeconds": _m(INT64),
    },
)
CRON_SCALE_JOB = Struct(
    "CronScaleJob",
    {
        "Schedule": _m(STRING, required=True),
        "Name": _m(STRING),
        "TargetReplicas": _m(INT64),
        "MinReplicas": _m(INT64),
        "MaxReplicas": _m(INT64),
        "ExcludeDates": _m(ListOf(STRING)),
    },
)
TIONE_ENV = Struct("EnvVar", {"Name": _m(STRING), "Value": _m(STRING), "IsPrivate": _m(BOOL)})
TAG = Struct("Tag", {"TagKey": _m(STRING, required=True), "TagValue": _m(STRING, required=True)})
TIONE_FILTER = Struct(
    "Filter", {"Name": _m(STRING), "Values": _m(ListOf(STRING)), "Negative": _m(BOOL), "Fuzzy": _m(BOOL)}
)
WEIGHT_ENTRY = Struct("WeightEntry", {"ServiceId": _m(STRING, required=True), "Weight": _m(INT64, required=True)})
_PROJECT = {"TiProjectId": _m(STRING)}
# Members CreateModelService and ModifyModelService share (reference §5.1, §5.5).
_TIONE_SERVICE = {
    **_PROJECT,
    "ServiceDescription": _m(STRING),
    "ChargeType": _m(STRING, enum=(*CHARGE_TYPES, "HYBRID_PAID")),
    "ResourceGroupId": _m(STRING),
    "InstanceType": _m(STRING),
    "Resources": _m(RESOURCE_INFO),
    "ImageInfo": _m(IMAGE_INFO),
    "Env": _m(ListOf(TIONE_ENV)),
    "ScaleMode": _m(STRING, enum=SCALE_MODES),
    "Replicas": _m(INT64),
    "HorizontalPodAutoscaler": _m(HPA),
    "ScaleStrategy": _m(STRING, enum=("HPA", "CRON")),
    "CronScaleJobs": _m(ListOf(CRON_SCALE_JOB)),
    "LogEnable": _m(BOOL),
    "LogConfig": _m(LOG_CONFIG),
    "ScheduledAction": _m(SCHEDULED_ACTION),
    "ServiceLimit": _m(SERVICE_LIMIT),
    "ServicePort": _m(INT64),
    "Command": _m(STRING),
    "CommandBase64": _m(STRING),
    "TerminationGracePeriodSeconds": _m(INT64),
    "SchedulingStrategy": _m(STRING, enum=("binpack", "spread")),
    "Priority": _m(INT64),
}

LOG_SERVICES = ("TRAIN", "NOTEBOOK", "INFER", "BATCH")
# What ListMLServiceLogs (WeData) and DescribeLogs (TI-ONE) share.
_LOG_QUERY = {
    "ServiceId": _m(STRING),
    "PodName": _m(STRING),
    "StartTime": _m(STRING),
    "EndTime": _m(STRING),
    "Limit": _m(UINT64),
    "Offset": _m(UINT64),
    "Context": _m(STRING),
    "Order": _m(STRING, enum=ORDER),
    "OrderField": _m(STRING, enum=("Timestamp",)),
}
_WS = {"WorkspaceId": _m(STRING)}
_SERVICE_ID = {"ServiceId": _m(STRING, required=True), **_WS}
_GROUP_ID = {"ServiceGroupId": _m(STRING, required=True), **_WS}
_POD = {"ServiceId": _m(STRING, required=True), "PodName": _m(STRING, required=True), **_WS}

_ACTIONS = [
    Action(
        *WEDATA,
        "CreateMLModelServices",
        {
            **_WS,
            "ServiceName": _m(STRING),
            "ServiceDescription": _m(STRING),
            "Services": _m(ListOf(CREATE_SERVICE_INFOS)),
            "ServiceGroupId": _m(STRING),
            "NewVersion": _m(BOOL),
            "ModelSource": _m(STRING, enum=MODEL_SOURCES),
            "Status": _m(STRING),
            "ServiceAction": _m(STRING, enum=SERVICE_ACTIONS),
            "AuthorizationEnable": _m(BOOL),
            "LogEnable": _m(BOOL),
            "LogConfig": _m(LOG_CONFIG),
            "InferenceTablePushEnable": _m(BOOL),
            "CatalogPath": _m(STRING),
            "SchemaPath": _m(STRING),
            "PayloadPath": _m(STRING),
        },
    ),
    Action(
        *WEDATA,
        "UpdateMLModelService",
        {
            **_SERVICE_ID,
            "ServiceAction": _m(STRING, enum=SERVICE_ACTIONS),
            "Status": _m(STRING),
            "ChargeType": _m(STRING, enum=CHARGE_TYPES),
            "InstanceType": _m(STRING),
            "ScaleMode": _m(STRING, enum=SCALE_MODES),
            "Replicas": _m(INT64),
            "ServicePort": _m(INT64),
            "Command": _m(STRING),
            "ServiceDescription": _m(STRING),
            "MlModelInfo": _m(ML_MODEL_INFO),
            "ImageInfo": _m(IMAGE_INFO),
            "ServiceLimit": _m(SERVICE_LIMIT),
            "ScheduledAction": _m(SCHEDULED_ACTION),
            "LogEnable": _m(BOOL),
            "LogConfig": _m(LOG_CONFIG),
            "InferenceTablePushEnable": _m(BOOL),
            "InferenceTableCosBucket": _m(STRING),
            "CosRegion": _m(STRING),
            "CatalogPath": _m(STRING),
            "SchemaPath": _m(STRING),
            "PayloadPath": _m(STRING),
            "CatalogName": _m(STRING),
            "SchemaName": _m(STRING),
            "AuthorizationEnable": _m(BOOL),
            "Env": _m(ListOf(NV_PAIR)),
            "ResourceGroupId": _m(STRING),
            "Resources": _m(RESOURCE_INFO),
            "WeDataRegion": _m(STRING),
            "ModelSource": _m(STRING, enum=MODEL_SOURCES),
        },
    ),
    Action(*WEDATA, "DeleteMLModelService", _SERVICE_ID),
    Action(*WEDATA, "DeleteMLModelServiceGroup", _GROUP_ID),
    Action(*WEDATA, "GetMLModelService", _SERVICE_ID),
    Action(*WEDATA, "GetMLModelServiceGroup", _GROUP_ID),
    Action(
        *WEDATA,
        "ListMLModelServiceGroups",
        {
            **_WS,
            "PageNumber": _m(INT64),
            "PageSize": _m(INT64),
            "Filters": _m(ListOf(FILTER)),
            "OrderField": _m(ORDER_FIELD),
            "ServiceType": _m(STRING),
        },
    ),
    Action(*WEDATA, "UpdateModelServiceGroup", {**_GROUP_ID, "Description": _m(STRING)}),
    Action(*WEDATA, "GetModelServiceCallInfo", {"ServiceGroupId": _m(STRING), "ServiceId": _m(STRING), **_WS}),
    Action(*WEDATA, "UpdateModelServiceAuthorization", {**_GROUP_ID, "AuthorizationEnable": _m(BOOL, required=True)}),
    Action(*WEDATA, "CreateModelServiceAuthToken", {**_GROUP_ID, "Name": _m(STRING), "Description": _m(STRING)}),
    Action(*WEDATA, "UpdateModelServiceAuthToken", {**_GROUP_ID, "AuthToken": _m(AUTH_TOKEN, required=True)}),
    Action(*WEDATA, "DeleteModelServiceAuthToken", {**_GROUP_ID, "AuthTokenValue": _m(STRING, required=True)}),
    Action(
        *WEDATA,
        "ModelServiceInterfaceCallTest",
        {
            **_WS,
            "RelativeUrl": _m(STRING, required=True),
            "ServiceId": _m(STRING, required=True),
            "ServiceGroupId": _m(STRING),
            "CurlData": _m(STRING),
            "AuthTokenValue": _m(STRING),
        },
    ),
    Action(*WEDATA, "CreateModelServicePodUrl", _POD),
    Action(*WEDATA, "RebuildModelServicePod", _POD),
    Action(
        *WEDATA,
        "ListMLServiceLogs",
        {
            **_WS,
            **_LOG_QUERY,
            "Service": _m(STRING, enum=LOG_SERVICES),
            "Key": _m(STRING),
            "JobCategory": _m(STRING),
        },
    ),
    Action(
        *WEDATA,
        "ListModelServiceEvents",
        {
            **_WS,
            "Service": _m(STRING, enum=("INFER",)),
            "ServiceId": _m(STRING),
            "ResourceName": _m(STRING),
            "Offset": _m(UINT64),
            "Limit": _m(UINT64),
            "StartTime": _m(STRING),
            "EndTime": _m(STRING),
            "Order": _m(STRING, enum=ORDER),
            "OrderField": _m(STRING, enum=("FirstTimestamp", "LastTimestamp")),
            "Filters": _m(ListOf(FILTER)),
            "JobCategory": _m(STRING),
        },
    ),
    Action(
        *WEDATA,
        "ListModelVersions",
        {
            **_WS,
            "CatalogName": _m(STRING, required=True),
            "SchemaName": _m(STRING, required=True),
            "ModelName": _m(STRING, required=True),
            "MaxResults": _m(STRING),
            "PageToken": _m(STRING),
        },
    ),
    Action(
        *WEDATA,
        "GetBillingSpecs",
        {
            **_WS,
            "ChargeType": _m(STRING, required=True, enum=CHARGE_TYPES),
            "TaskType": _m(STRING),
            "ResourceType": _m(STRING),
        },
    ),
    Action(
        *TIONE,
        "CreateModelService",
        {
            **_TIONE_SERVICE,
            "ServiceGroupId": _m(STRING),
            "NewVersion": _m(BOOL),
            "ServiceGroupName": _m(STRING),
            "AuthorizationEnable": _m(BOOL),
            "Tags": _m(ListOf(TAG)),
            "DeployType": _m(STRING, enum=("STANDARD", "DIST", "ROLE_SET")),
        },
    ),
    Action(
        *TIONE,
        "ModifyModelService",
        {
            **_TIONE_SERVICE,
            "ServiceId": _m(STRING, required=True),
            "ServiceAction": _m(STRING, enum=("STOP", "RESUME", "SCALE")),
        },
    ),
    Action(*TIONE, "DescribeModelService", {"ServiceId": _m(STRING, required=True), **_PROJECT}),
    Action(*TIONE, "DeleteModelService", {"ServiceId": _m(STRING, required=True), **_PROJECT}),
    Action(*TIONE, "DescribeModelServiceGroup", {"ServiceGroupId": _m(STRING, required=True), **_PROJECT}),
    Action(*TIONE, "DeleteModelServiceGroup", {"ServiceGroupId": _m(STRING, required=True), **_PROJECT}),
    Action(
        *TIONE,
        "DescribeModelServiceGroups",
        {
            **_PROJECT,
            "Offset": _m(INT64),
            "Limit": _m(INT64),
            "Order": _m(STRING, enum=ORDER),
            "OrderField": _m(STRING, enum=("CreateTime", "UpdateTime")),
            "Filters": _m(ListOf(TIONE_FILTER)),
        },
    ),
    Action(*TIONE, "DescribeModelServiceCallInfo", {"ServiceGroupId": _m(STRING, required=True), **_PROJECT}),
    Action(
        *TIONE,
        "CreateModelServiceAuthToken",
        {"ServiceGroupId": _m(STRING, required=True), "Name": _m(STRING), "Description": _m(STRING), **_PROJECT},
    ),
    Action(
        *TIONE,
        "ModifyServiceGroupWeights",
        {"ServiceGroupId": _m(STRING, required=True), "Weights": _m(ListOf(WEIGHT_ENTRY), required=True), **_PROJECT},
    ),
    Action(
        *TIONE,
        "DescribeLogs",
        {
            **_PROJECT,
            **_LOG_QUERY,
            "Service": _m(STRING, required=True, enum=LOG_SERVICES),
            "Filters": _m(ListOf(TIONE_FILTER)),
            "LogStream": _m(STRING, enum=("", "stdout", "stderr")),
        },
    ),
    Action(
        *TIONE,
        "DescribeBillingSpecs",
        {
            "ChargeType": _m(STRING, required=True, enum=CHARGE_TYPES),
            "TaskType": _m(STRING, enum=("", "TRAIN", "NOTEBOOK", "INFERENCE", "EMS")),
            "ResourceType": _m(STRING, enum=("", "CALC", "CPU", "GPU", "GPU-SW")),
            "TiProjectId": _m(STRING),
        },
    ),
]

ACTIONS: dict[tuple[str, str], Action] = {(a.service, a.name): a for a in _ACTIONS}
VERSIONS: dict[str, str] = {WEDATA[0]: WEDATA[1], TIONE[0]: TIONE[1]}


def _type_name(type_: TypeSpec) -> str:
    if isinstance(type_, ListOf):
        return f"array of {_type_name(type_.item)}"
    if isinstance(type_, Struct):
        return f"object {type_.name}"
    return type_


# Scalar types: whether a JSON value is one (a bool is not an integer, a uint64 is not negative).
_SCALARS: dict[str, Callable[[Any], bool]] = {
    STRING: lambda v: isinstance(v, str),
    BOOL: lambda v: isinstance(v, bool),
    INT64: lambda v: isinstance(v, int) and not isinstance(v, bool),
    UINT64: lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
}


def _type_ok(path: str, value: Any, type_: TypeSpec, errors: list[tuple[str, str]]) -> bool:
    """Whether ``value`` has the type; the errors inside a list or struct of the right type go to ``errors``."""
    if isinstance(type_, ListOf):
        if not isinstance(value, list):
            return False
        for i, item in enumerate(value):
            _check(f"{path}.{i}", item, Member(type_.item), errors)
        return True
    if isinstance(type_, Struct):
        if not isinstance(value, dict):
            return False
        _check_members(path + ".", value, type_.members, errors)
        return True
    scalar = _SCALARS.get(type_)
    return scalar is not None and scalar(value)


def _check(path: str, value: Any, member: Member, errors: list[tuple[str, str]]) -> None:
    if not _type_ok(path, value, member.type, errors):
        errors.append(
            ("InvalidParameter", f"The type of parameter {path} is wrong: expected {_type_name(member.type)}.")
        )
    elif member.enum and value not in member.enum:
        allowed = ", ".join(repr(e) for e in member.enum)
        errors.append(("InvalidParameterValue", f"The value {value!r} of {path} is not one of {allowed}."))


def _check_members(
    prefix: str, params: dict[str, Any], members: dict[str, Member], errors: list[tuple[str, str]]
) -> None:
    for name, value in params.items():
        member = members.get(name)
        if member is None:
            errors.append(("UnknownParameter", f"The parameter {prefix}{name} is not recognized."))
        elif value is not None:
            _check(prefix + name, value, member, errors)
    for name, member in members.items():
        if member.required and params.get(name) is None:
            errors.append(("MissingParameter", f"The request is missing the required parameter {prefix}{name}."))


def validate(action: Action, params: dict[str, Any]) -> tuple[str, str] | None:
    """Return the first ``(code, message)`` the cloud would answer for these members, or None."""
    return check_members("", params, action.members)


def check_members(prefix: str, params: dict[str, Any], members: dict[str, Member]) -> tuple[str, str] | None:
    """The first ``(code, message)`` for members named ``<prefix><name>`` (a request's or a struct's), or None."""
    errors: list[tuple[str, str]] = []
    _check_members(prefix, params, members, errors)
    return errors[0] if errors else None
