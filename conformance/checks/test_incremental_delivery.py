"""Incremental delivery: a provider yields each piece of content as soon as its bytes arrive, not at the end.

The replay holds the response back one wire message at a time (an SSE event, an NDJSON line, an AWS
event-stream frame). After a message that carries content (text, reasoning, a tool call's start or
arguments) the provider must yield a content event before the next message is released; it may wait
at most a bound for it. A provider that buffers the stream (tool arguments held to the end of the
turn, a body read whole before the first event) fails with the index of the first late event. On a wire
whose parallel tool calls may interleave, the calls after a turn's first may be reassembled first.
"""

from __future__ import annotations

import pytest

from conformance.checks._delivery import BOUND_SECONDS, paced

pytestmark = pytest.mark.family("incremental_delivery")


@pytest.mark.cases("text_basic", "text_multibyte_split", "tool_single", "tool_split_arguments", "tool_parallel",
                   "reasoning_content")
@pytest.mark.asyncio
async def test_content_yielded_before_next_bytes(conformance_run):
    """Every wire message that carries content is answered by a content event before the replay releases the
    next message (within the bound), so an Agent shows text and tool calls as they arrive.

    Severity: should -- nothing is lost, but streaming is not streaming: no real time to first token.
    """
    run = conformance_run
    if run.live:
        pytest.skip("paces replayed bytes: a live server's pace is not ours to choose")
    result = await paced(run, run.model())
    events = result.outcome.events
    assert result.outcome.error is None, f"the paced stream raised {result.outcome.error!r} ({run.where()})"
    assert not result.blocked_loop, (
        f"the provider read the response with a blocking call inside its async stream: the event loop (and every "
        f"other agent on it) stalls while it waits, and nothing streams ({run.where()})"
    )
    if result.late_event is not None:
        late = events[result.late_event] if result.late_event < len(events) else "(none: the content never came)"
        pytest.fail(
            f"event #{result.late_event} {late} came late: wire message #{result.late_message} carried its content, "
            f"but the provider yielded no content event within {BOUND_SECONDS} s while the replay held back the "
            f"rest of the stream (it buffers instead of streaming; {run.where()})"
        )
