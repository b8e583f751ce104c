"""The open-loop schedule shared by all workers, and the checks of the scenarios' options."""

from __future__ import annotations

import argparse

import pytest

from loadtests.runner.options import _positive_ms
from loadtests.runner.schedule import ArrivalSchedule, Stage, stage_of
from loadtests.runner.workloads import parse_mix


def test_schedule_workers_partition_one_global_sequence():
    stages = [Stage(2.0, rate=50.0), Stage(2.0, rate=100.0)]
    whole = []
    s = ArrivalSchedule("poisson", stages, epoch=1000.0, seed=7)
    while (slot := s.take()) is not None:
        whole.append(slot)
    parts = []
    for idx in range(3):
        s = ArrivalSchedule("poisson", stages, epoch=1000.0, worker_index=idx, worker_count=3, seed=7)
        while (slot := s.take()) is not None:
            parts.append(slot)
    assert sorted(p.t_intended for p in parts) == [w.t_intended for w in whole]
    first = [w for w in whole if w.stage == 0]
    second = [w for w in whole if w.stage == 1]
    assert 60 < len(first) < 140 and 140 < len(second) < 260  # 100 and 200 expected
    assert all(1000.0 <= w.t_intended < 1002.0 for w in first) and all(1002.0 <= w.t_intended < 1004.0 for w in second)


def test_constant_schedule_is_evenly_spaced():
    s = ArrivalSchedule("constant", [Stage(1.0, rate=10.0)], epoch=0.0)
    times = []
    while (slot := s.take()) is not None:
        times.append(slot.t_intended)
    assert times == pytest.approx([i / 10 for i in range(10)])
    assert stage_of(0.5, 0.0, [Stage(1.0), Stage(1.0)]) == 0 and stage_of(1.5, 0.0, [Stage(1.0), Stage(1.0)]) == 1


def test_bad_options_say_the_flag_and_value():
    with pytest.raises(argparse.ArgumentTypeError, match="--slo-ttft-ms.*positive.*'-5'"):
        _positive_ms("--slo-ttft-ms")("-5")
    with pytest.raises(argparse.ArgumentTypeError, match="--slo-ttft-ms takes milliseconds.*'fast'"):
        _positive_ms("--slo-ttft-ms")("fast")
    with pytest.raises(ValueError, match="unknown workload 'chta'"):
        parse_mix("chta=1")
    assert parse_mix("chat=3,tool=1,json=0") == {"chat": 3.0, "tool": 1.0}
