"""Event grammar: every successful stream is a sequence the Strands event loop consumes as intended."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.family("event_grammar")

SUCCESSFUL_STREAMS = (
    "text_basic",
    "text_multibyte_split",
    "usage_missing",
    "finish_length",
    "tool_single",
    "tool_parallel",
    "tool_parallel_interleaved",
    "tool_late_id",
    "tool_split_arguments",
    "tool_split_multibyte",
    "tool_zero_args",
    "tool_result_round_trip",
    "reasoning_content",
    "reasoning_field",
)


@pytest.mark.cases(*SUCCESSFUL_STREAMS)
@pytest.mark.asyncio
async def test_event_grammar(conformance_run):
    """The event sequence passes the validator (schema per event, order by the state machine).

    Severity: must -- the loop assembles messages from this sequence; another order loses or misplaces content.
    """
    await conformance_run.valid_stream()


@pytest.mark.cases("text_basic", "text_multibyte_split", "usage_missing", "finish_length", "tool_result_round_trip")
@pytest.mark.asyncio
async def test_text_matches_wire(conformance_run):
    """The assembled text equals the content the server sent, byte for byte, across chunk boundaries.

    Severity: must -- text lost or changed is wrong data.
    """
    summary = await conformance_run.valid_stream()
    expected = conformance_run.expected()
    assert summary.text == expected.text, f"text differs from the wire ({conformance_run.where()})"
    assert not summary.tool_uses, "a text-only answer produced tool calls"


@pytest.mark.cases("text_basic", "tool_single")
@pytest.mark.asyncio
async def test_message_start_first(conformance_run):
    """The stream opens with messageStart(role=assistant), so the loop knows the speaker from the first event.

    Severity: must -- the loop takes the message's role from messageStart.
    """
    events = await conformance_run.stream()
    assert events and "messageStart" in events[0], f"first event is {events[:1]}, expected messageStart"
