"""Concurrency: one model instance streams several requests at once, each getting its own answer.

Agents share model instances. The check streams the cell's cassette alone and two other cassettes of
the wire alone, then all three at once on the same instance, the replay releasing one wire message
per stream in turn; each stream must yield exactly the events it yielded alone. State kept on the
instance for the current stream (a tool-call buffer, a block index, usage) corrupts another stream.
"""

from __future__ import annotations

import pytest

from conformance.checks._delivery import concurrent, partner_cassettes

pytestmark = pytest.mark.family("concurrency")

# The streams started next to the cell's, first available first: tool calls, reasoning and text mixed.
PARTNERS = ("tool_parallel", "tool_single", "reasoning_content", "text_multibyte_split", "tool_split_arguments")
STREAMS = 3


@pytest.mark.cases("text_basic", "tool_split_arguments")
@pytest.mark.asyncio
async def test_interleaved_streams_keep_their_own_events(conformance_run):
    """Three streams of different cassettes on one model instance at once, interleaved message by message,
    each yield the events they yield alone.

    Severity: must -- agents sharing one model get each other's text or tool calls.
    """
    run = conformance_run
    if run.live:
        pytest.skip("interleaves replayed responses: a live server's interleaving is not ours to choose")
    partners = partner_cassettes(run, PARTNERS, STREAMS - 1)
    if not partners:
        pytest.skip(f"wire {run.wire.name} has no other one-request cassette to stream alongside")
    differences = await concurrent(run, run.model(), partners)
    assert not differences, "streams sharing one model instance changed each other's events: " + "; ".join(
        f"{name}: {difference}" for name, difference in differences) + f" ({run.where()})"
