"""The embedded simulator's command line: its hostile streams outlast the client's stall watchdog."""

from __future__ import annotations

from types import SimpleNamespace

from loadtests.runner.target import simulator_command


def _options(**overrides: object) -> SimpleNamespace:
    base = {"sim_profile": "vllm", "seed": 1, "sim_fault_rate": "pings=0.1", "sim_cpu": None, "sim_args": "",
            "stall_timeout_s": 30.0}
    return SimpleNamespace(**{**base, **overrides})


def _stall_s(cmd: list[str]) -> float:
    return float(cmd[cmd.index("--stall-s") + 1])


def test_the_simulator_cuts_a_hostile_stream_only_after_the_client_gave_up_on_it():
    # Equal bounds race: the simulator's cut-off would be filed as `dropped` instead of `stall`.
    for stall in (1.0, 30.0, 90.0):
        assert _stall_s(simulator_command(_options(stall_timeout_s=stall))) > stall


def test_a_stall_s_given_in_sim_args_is_kept():
    cmd = simulator_command(_options(sim_args="--itl-ms 2 --stall-s 5"))
    assert cmd.count("--stall-s") == 1 and _stall_s(cmd) == 5.0
