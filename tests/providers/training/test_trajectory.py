"""TokenManager: loss masks, segments and drift detection over recorded model calls."""

from __future__ import annotations

import pytest
from strands import Agent, tool

from providers.training import (
    MissingTokenIdsError,
    ModelCallTokens,
    TokenManager,
    TokenRecorder,
    TrajectoryDriftError,
)

from .scripted import ScriptedModel, text_call, tool_call


def _call(index: int, prompt: list[int], response: list[int]) -> ModelCallTokens:
    return ModelCallTokens(index=index, prompt_token_ids=tuple(prompt), token_ids=tuple(response),
                           stop_reason="end_turn", text="", tool_use_count=0)


@tool
def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: the key
    """
    return f"value-of-{key}"


def test_multi_turn_tool_run_gives_one_trajectory_with_both_mask_values() -> None:
    recorder = TokenRecorder()
    model = ScriptedModel([
        tool_call("lookup", '{"key": "a"}', prompt_ids=[1, 10, 11, 12], ids=[20, 21, 2]),
        text_call("done", prompt_ids=[1, 10, 11, 12, 20, 21, 2, 30, 31], ids=[40, 41, 2]),
    ])
    Agent(model=model, tools=[lookup], callback_handler=recorder)("look up a")

    manager = TokenManager.from_history(recorder.history)

    assert manager.drifts == []
    assert manager.token_ids == [1, 10, 11, 12, 20, 21, 2, 30, 31, 40, 41, 2]
    assert manager.loss_mask == [0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1]
    assert len(manager.loss_mask) == len(manager.token_ids) == len(manager)
    assert [(s.kind, s.start, s.end, s.model_call) for s in manager.segments] == [
        ("prompt", 0, 4, 0), ("response", 4, 7, 0), ("prompt", 7, 9, 1), ("response", 9, 12, 1),
    ]
    for segment in manager.segments:
        assert set(manager.loss_mask[segment.start:segment.end]) == {segment.loss_mask_value}
    assert len(manager.trajectories) == 1 and manager.trajectories[0].model_calls == (0, 1)


def test_prompt_that_does_not_extend_the_trajectory_is_reported_and_split() -> None:
    # Call 1's prompt re-tokenized call 0's response [20, 21] as [22]: that is drift.
    history = [_call(0, [1, 10], [20, 21, 2]), _call(1, [1, 10, 22, 2, 30], [40, 2])]

    manager = TokenManager.from_history(history)

    assert len(manager.drifts) == 1
    drift = manager.drifts[0]
    assert (drift.model_call, drift.position, drift.trajectory_length, drift.prompt_length) == (1, 2, 5, 5)
    assert drift.expected == (20, 21, 2) and drift.got == (22, 2, 30)
    assert "first difference at position 2" in drift.describe()
    first, second = manager.trajectories
    assert first.token_ids == (1, 10, 20, 21, 2) and first.loss_mask == (0, 0, 1, 1, 1)
    assert second.token_ids == (1, 10, 22, 2, 30, 40, 2) and second.loss_mask == (0, 0, 0, 0, 0, 1, 1)
    assert manager.token_ids == list(second.token_ids)


def test_shorter_prompt_is_drift_too() -> None:
    manager = TokenManager.from_history([_call(0, [1, 2, 3], [4]), _call(1, [1, 2], [5])])
    assert manager.drifts[0].position == 2 and manager.drifts[0].got == ()


def test_raise_policy_names_the_call_and_position() -> None:
    with pytest.raises(TrajectoryDriftError, match="model call 1: .* position 1"):
        TokenManager.from_history([_call(0, [1, 2], [3]), _call(1, [1, 9, 3], [4])], on_drift="raise")


def test_call_without_ids_is_a_clear_error() -> None:
    call = ModelCallTokens(index=3, prompt_token_ids=(1,), token_ids=None, stop_reason=None, text="", tool_use_count=0)
    with pytest.raises(MissingTokenIdsError, match="model call 3 has no token_ids; .*return_token_ids=True"):
        TokenManager().add_model_call(call)


def test_manual_building_and_bad_policy() -> None:
    manager = TokenManager()
    manager.add_prompt([1, 2])
    manager.add_response([3])
    manager.add_prompt([])
    assert manager.loss_mask == [0, 0, 1] and len(manager.segments) == 2
    with pytest.raises(ValueError, match="on_drift must be"):
        TokenManager(on_drift="ignore")  # type: ignore[arg-type]
