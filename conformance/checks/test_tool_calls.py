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
@pytest.mark.asyncio
async def test_tool_calls_reassembled(conformance_run):
    """Each tool call the server sent becomes one toolUse block with its id, name and parsed arguments.

    Severity: must -- a tool call lost, merged or with wrong arguments runs the wrong tool or none.
    """
    summary = await conformance_run.valid_stream()
    expected = conformance_run.expected()
    want = [(call.call_id, call.name, call.input) for call in expected.tool_calls]
    assert want, f"the server sent no tool call ({conformance_run.where()})"
    # A wire without call ids (Ollama's /api/chat) leaves the id to the provider: any non-empty one is right.
    wire_ids = [call.call_id for call in expected.tool_calls]
    got = [(tool.tool_use_id if index >= len(wire_ids) or wire_ids[index] is not None or not tool.tool_use_id else None,
            tool.name, tool.input) for index, tool in enumerate(summary.tool_uses)]
    assert got == want, f"tool calls differ from the wire ({conformance_run.where()}):\n got  {got}\n want {want}"
    assert summary.stop_reason == "tool_use", f"stopReason {summary.stop_reason!r} with tool calls, expected tool_use"


@pytest.mark.cases("tool_single", "tool_parallel", "tool_parallel_same_index")
@pytest.mark.asyncio
async def test_tool_use_ids_unique(conformance_run):
    """Every toolUse in a message has its own non-empty id, also for the same tool called twice and on a wire
    without ids (Ollama's /api/chat), where the provider must make them: results are matched to calls by id.

    Severity: must -- colliding ids give a result to the wrong call, or the agent drops one.
    """
    summary = await conformance_run.valid_stream()
    ids = [tool.tool_use_id for tool in summary.tool_uses]
    assert ids, f"no toolUse in the message ({conformance_run.where()})"
    assert all(isinstance(tool_id, str) and tool_id for tool_id in ids), f"toolUse ids {ids}: each must be a non-empty string"
    assert len(set(ids)) == len(ids), f"toolUse ids collide within one message: {ids}"


@pytest.mark.cases("tool_zero_args")
@pytest.mark.asyncio
async def test_zero_argument_tool_input_is_empty_object(conformance_run):
    """A zero-argument call yields input {} (empty or absent arguments are not an error).

    Severity: must -- a zero-argument tool fails to run.
    """
    summary = await conformance_run.valid_stream()
    assert [tool.input for tool in summary.tool_uses] == [{}]


@pytest.mark.cases("tool_result_round_trip")
@pytest.mark.asyncio
async def test_tool_result_round_trip(conformance_run):
    """After a tool result the server's text answer streams normally, and the result went out with its call's id.

    Severity: must -- the loop's second turn after a tool breaks.
    """
    summary = await conformance_run.valid_stream()
    assert summary.text.strip(), "no text after the tool result"
    meaning = conformance_run.sent_meaning()
    assert [call.name for call in meaning.tool_calls] == ["get_weather"], meaning.tool_calls
    assert [result.text for result in meaning.tool_results] == ["3 C, light snow"], meaning.tool_results
    # A wire without ids (Ollama) pairs the result with the call by order and name, checked above.
    sent_id = "call_oslo0001" if conformance_run.wire.carries_call_ids else None
    assert [call.call_id for call in meaning.tool_calls] == [sent_id], meaning.tool_calls
    assert [result.call_id for result in meaning.tool_results] == [sent_id], meaning.tool_results
