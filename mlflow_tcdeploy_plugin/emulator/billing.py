"""The billing specs (instance types) the emulator offers, realistic TI.* names, and its prepaid resource groups."""

from __future__ import annotations

from typing import Any

# (SpecName, SpecAlias, SpecType, GpuType, Available, AvailableRegion)
_SPECS: list[tuple[str, str, str, str, bool, list[str]]] = [
    ("TI.S.MEDIUM.POST", "2C4G", "CPU", "", True, []),
    ("TI.S.LARGE.POST", "4C8G", "CPU", "", True, []),
    ("TI.S6.LARGE8.POST", "4C8G", "CPU", "", True, []),
    ("TI.S.2XLARGE16.POST", "8C16G", "CPU", "", True, []),
    ("TI.S.4XLARGE32.POST", "16C32G", "CPU", "", True, []),
    ("TI.GN7.2XLARGE32.POST", "8C32G T4*1", "GPU", "T4", True, []),
    ("TI.GN7.5XLARGE80.POST", "20C80G T4*1", "GPU", "T4", True, []),
    ("TI.GN7.10XLARGE160.POST", "40C160G T4*2", "GPU", "T4", True, []),
    ("TI.GN7.20XLARGE320.POST", "80C320G T4*4", "GPU", "T4", True, []),
    ("TI.GN10X.2XLARGE40.POST", "8C40G V100*1", "GPU", "V100", False, ["ap-shanghai", "ap-beijing"]),
]


def specs(resource_type: str = "") -> list[dict[str, Any]]:
    """Every spec, or those of one ``ResourceType`` (``CPU``/``GPU``; ``CALC`` counts as CPU)."""
    wanted = {"": None, "CALC": "CPU", "GPU-SW": "GPU"}.get(resource_type, resource_type)
    return [
        {
            "SpecId": f"spec-{i:03d}",
            "SpecName": name,
            "SpecAlias": alias,
            "Available": available,
            "AvailableRegion": regions,
            "SpecFeatures": [],
            "SpecType": spec_type,
            "GpuType": gpu,
            "CategoryId": "cpu" if spec_type == "CPU" else "gpu",
        }
        for i, (name, alias, spec_type, gpu, available, regions) in enumerate(_SPECS, 1)
        if wanted is None or spec_type == wanted
    ]


def find(name: str) -> dict[str, Any] | None:
    return next((s for s in specs() if s["SpecName"] == name), None)


# Prepaid resource groups the emulated account owns: (ResourceGroupId, name, cores, memory in MB, GPU cards).
_RESOURCE_GROUPS: list[tuple[str, str, int, int, int]] = [
    ("trsg-emu00001", "emulator-cpu", 64, 262144, 0),
    ("trsg-emu00002", "emulator-gpu", 32, 131072, 4),
]


def resource_group(group_id: str) -> dict[str, Any] | None:
    for ident, name, cores, memory, gpus in _RESOURCE_GROUPS:
        if ident == group_id:
            return {
                "ResourceGroupId": ident,
                "ResourceGroupName": name,
                "Cpu": cores * 1000,
                "Memory": memory,
                "Gpu": gpus * 100,
            }
    return None
