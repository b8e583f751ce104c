"""Tool calls: reassembled per call (parallel, late ids, split arguments, zero arguments) and round-tripped."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.family("tool_calls")

TOOL_STREAMS = (
    "tool_single",
    "tool_parallel",
    "tool_parallel_interleaved",
    "tool_parallel_same_index",
    "tool_late_id",
    "tool_split_arguments",
    "tool_split_multibyte",
    "tool_zero_args",
)


@pytest.mark.cases(*TOOL_STREAMS)
async def test_tool_calls_reassembled(conformance):
    """Each tool call the server sent becomes one toolUse block with its id, name and parsed arguments."""
    summary = await conformance.valid_stream()
    expected = conformance.expected()
    got = [(tool.tool_use_id, tool.name, tool.input) for tool in summary.tool_uses]
    want = [(call.call_id, call.name, call.input) for call in expected.tool_calls]
    assert want, f"the server sent no tool call ({conformance.where()})"
    assert got == want, f"tool calls differ from the wire ({conformance.where()}):\n got  {got}\n want {want}"
    assert summary.stop_reason == "tool_use", f"stopReason {summary.stop_reason!r} with tool calls, expected tool_use"


@pytest.mark.cases("tool_zero_args")
async def test_zero_argument_tool_input_is_empty_object(conformance):
    """A zero-argument call yields input {} (empty or absent arguments are not an error)."""
    summary = await conformance.valid_stream()
    assert [tool.input for tool in summary.tool_uses] == [{}]


@pytest.mark.cases("tool_result_round_trip")
async def test_tool_result_round_trip(conformance):
    """After a tool result the server's text answer streams normally, and the result went out with its call's id."""
    summary = await conformance.valid_stream()
    assert summary.text.strip(), "no text after the tool result"
    meaning = conformance.sent_meaning()
    assert [call.call_id for call in meaning.tool_calls] == ["call_oslo0001"], meaning.tool_calls
    assert [result.call_id for result in meaning.tool_results] == ["call_oslo0001"], meaning.tool_results
