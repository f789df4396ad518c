"""The emulator's autoscaling on a clock the test moves: what each metric proposes, the stabilization windows,
scheduled jobs (their minute, excluded dates, their effect under CRON and HPA), and cron schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from mlflow_tcdeploy_plugin.emulator.autoscaler import CHINA, Autoscaler
from mlflow_tcdeploy_plugin.emulator.cron import parse


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 7, 59, 30, tzinfo=CHINA).timestamp()

    def __call__(self) -> float:
        return self.now


def _hpa(*metrics: tuple[str, int], up: int | None = None, down: int | None = None) -> dict[str, Any]:
    hpa: dict[str, Any] = {
        "MinReplicas": 1,
        "MaxReplicas": 4,
        "HpaMetrics": [{"Name": n, "Value": v} for n, v in metrics],
    }
    if up is not None:
        hpa["ScaleUpStabilizationWindowSeconds"] = up
    if down is not None:
        hpa["ScaleDownStabilizationWindowSeconds"] = down
    return {"ScaleMode": "AUTO", "ScaleStrategy": "HPA", "HorizontalPodAutoscaler": hpa, "Replicas": 1}


def _calls(scaler: Autoscaler, clock: _Clock, per_second: int, seconds: int, service: str = "s") -> None:
    for _ in range(seconds):
        for _ in range(per_second):
            scaler.begin(service)
            scaler.end(service)
        clock.now += 1


def test_service_qps_proposes_load_over_target_within_the_bounds() -> None:
    clock = _Clock()
    scaler = Autoscaler(metric_window=2.0, clock=clock)
    spec = _hpa(("service-qps", 5))
    assert scaler.wanted("s", spec, 1) == 1  # no calls: the floor
    _calls(scaler, clock, 12, 2)
    assert scaler.wanted("s", spec, 1) == 3  # 12 calls/s over 5 per replica
    _calls(scaler, clock, 50, 2)
    assert scaler.wanted("s", spec, 3) == 4  # capped at MaxReplicas
    assert scaler.wanted("other", spec, 1) == 1  # calls are counted per version


def test_concurrency_and_driven_utilisation() -> None:
    clock = _Clock()
    scaler = Autoscaler(metric_window=2.0, clock=clock)
    for _ in range(5):
        scaler.begin("s")
    assert scaler.wanted("s", _hpa(("concurrency-util", 2)), 1) == 3  # 5 in flight, 2 per replica
    spec = _hpa(("cpu-util", 50))
    assert scaler.wanted("t", spec, 2) == 2  # no value yet: keep the count
    scaler.set_metric("t", "cpu-util", 90)
    clock.now += 1  # a pass later
    assert scaler.wanted("t", spec, 2) == 4  # ceil(2 * 90 / 50): 90% of 2 replicas' capacity
    clock.now += 1
    assert scaler.wanted("t", spec, 4) == 4  # the demand measured at 2 replicas, not again at 4
    scaler.set_metric("t", "cpu-util", 20)
    clock.now += 1
    assert scaler.wanted("t", _hpa(("cpu-util", 50), down=0), 2) == 1


def test_a_rise_waits_for_the_scale_up_window_and_a_fall_for_the_scale_down_window() -> None:
    clock = _Clock()
    scaler = Autoscaler(metric_window=1.0, clock=clock)
    spec = _hpa(("service-qps", 5), up=3, down=5)
    for _ in range(4):  # the policy proposes at every pass: idle, 1
        assert scaler.wanted("s", spec, 1) == 1
        clock.now += 1
    seen = []
    for _ in range(3):  # 20 calls/s propose 4, which must hold for 3 s before the replicas follow
        _calls(scaler, clock, 20, 1)
        seen.append(scaler.wanted("s", spec, 1))
    assert seen == [1, 1, 4]
    seen = []
    for _ in range(6):  # idle again: 1 must hold for 5 s before the replicas fall
        clock.now += 1
        seen.append(scaler.wanted("s", spec, 4))
    assert seen == [4, 4, 4, 4, 4, 1]


def test_a_job_fires_once_in_its_minute_unless_the_day_is_excluded() -> None:
    clock = _Clock()
    scaler = Autoscaler(metric_window=1.0, clock=clock)
    spec = {
        "ScaleMode": "AUTO",
        "ScaleStrategy": "CRON",
        "Replicas": 1,
        "CronScaleJobs": [{"Schedule": "0 8 * * *", "TargetReplicas": 3}],
    }
    assert scaler.scheduled("s", spec) is None  # 07:59:30
    scaler.advance(31)
    changed = scaler.scheduled("s", spec)
    assert changed is not None and changed["Replicas"] == 3
    assert scaler.scheduled("s", spec) is None  # once per minute
    excluded = {**spec, "CronScaleJobs": [{**spec["CronScaleJobs"][0], "ExcludeDates": ["2026-12-02"]}]}
    scaler.advance(24 * 3600)
    assert scaler.scheduled("s", excluded) is None  # 08:00 the next day, excluded
    assert scaler.scheduled("t", spec) is not None  # another service's job still fires


def test_under_hpa_a_job_moves_the_bounds() -> None:
    clock = _Clock()
    scaler = Autoscaler(metric_window=1.0, clock=clock)
    spec = {
        **_hpa(("service-qps", 5)),
        "CronScaleJobs": [{"Schedule": "0 8 * * *", "MinReplicas": 2, "MaxReplicas": 3}],
    }
    scaler.advance(31)
    changed = scaler.scheduled("s", spec)
    assert changed is not None
    assert (changed["HorizontalPodAutoscaler"]["MinReplicas"], changed["Replicas"]) == (2, 1)
    assert scaler.wanted("s", changed, 1) == 2  # the new floor


@pytest.mark.parametrize(
    ("schedule", "at", "expected"),
    [
        ("0 8 * * *", datetime(2026, 12, 1, 8, 0), True),
        ("0 8 * * *", datetime(2026, 12, 1, 8, 1), False),
        ("*/15 * * * *", datetime(2026, 12, 1, 3, 45), True),
        ("0 8 * * 1-5", datetime(2026, 12, 5, 8, 0), False),  # a Saturday
        ("0 8 * * 0", datetime(2026, 12, 6, 8, 0), True),  # Sunday as 0
        ("0 8 * * 7", datetime(2026, 12, 6, 8, 0), True),  # and as 7
        ("0 8 1 * 1", datetime(2026, 12, 7, 8, 0), True),  # both days restricted: either matches (a Monday)
        ("0 8 1,15 6-8 *", datetime(2026, 7, 15, 8, 0), True),
    ],
)
def test_cron_schedules(schedule: str, at: datetime, expected: bool) -> None:
    parsed = parse(schedule)
    assert parsed is not None and parsed.due(at) is expected


@pytest.mark.parametrize(
    "schedule",
    ["0 8 * *", "60 * * * *", "0 24 * * *", "0 8 0 * *", "*/0 * * * *", "0 8 * * MON", "5-1 * * * *", "5/15 * * * *"],
)
def test_malformed_schedules_are_not_read(schedule: str) -> None:
    assert parse(schedule) is None


def test_a_clock_move_fires_the_jobs_it_skipped_and_bounds_hold_at_once() -> None:
    clock = _Clock()
    scaler = Autoscaler(metric_window=1.0, clock=clock)
    jobs = [{"Schedule": "0 8 * * *", "MinReplicas": 1, "MaxReplicas": 2}]
    spec = {**_hpa(("service-qps", 5)), "CronScaleJobs": jobs}
    _calls(scaler, clock, 20, 1)
    assert scaler.wanted("s", spec, 1) == 4  # 20 calls/s: 4 (the default scale-down window is 300 s)
    assert scaler.scheduled("s", spec) is None
    scaler.advance(24 * 3600)  # a day on (07:59:31): the 08:00 job it skipped over fires
    changed = scaler.scheduled("s", spec)
    assert changed is not None and changed["HorizontalPodAutoscaler"]["MaxReplicas"] == 2
    clock.now += 1
    assert scaler.wanted("s", changed, 4) == 2  # the new ceiling holds at once, whatever the window remembers


def test_a_reset_during_a_call_leaves_the_count_whole() -> None:
    scaler = Autoscaler(metric_window=1.0, clock=_Clock())
    scaler.begin("s")
    scaler.reset()
    scaler.end("s")  # the call in flight ends after the reset
    scaler.begin("s")
    assert scaler.wanted("s", _hpa(("concurrency-util", 1), down=0), 1) == 1
    with pytest.raises(ValueError):
        scaler.set_metric("s", "service-qps", 5)  # driven by calls, not set
