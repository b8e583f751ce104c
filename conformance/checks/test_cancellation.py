"""Cancellation: an Agent that stops reading closes the provider's stream; the response is released, nothing raises.

The replay releases the response up to its first content message and holds the rest. After the first
content event the check closes the stream (`aclose()` on the async generator, what an interrupted
Agent's event loop does). Closing must raise nothing, and the HTTP response must be closed: the
in-process replay counts responses neither read to their end nor closed; the loopback server (socket
clients) sees the client's end of the connection close.
"""

from __future__ import annotations

import pytest

from conformance.checks._delivery import BOUND_SECONDS, cancel_after_first_content, is_content

pytestmark = pytest.mark.family("cancellation")


@pytest.mark.cases("text_basic", "tool_single", "reasoning_content")
@pytest.mark.asyncio
async def test_close_after_first_content_releases_response(conformance_run):
    """Closing the stream after its first content event raises nothing and closes the HTTP response.

    Severity: must -- an interrupted agent leaks a connection per turn or crashes on an exception from the close.
    """
    run = conformance_run
    if run.live:
        pytest.skip("holds replayed bytes back: a live server cannot be held at a chosen message")
    result = await cancel_after_first_content(run, run.model())
    assert result.stream_error is None, f"the stream raised {result.stream_error!r} before any close ({run.where()})"
    assert result.events and is_content(result.events[-1]), (
        f"no content event before the stream ended: {result.events[-3:]}")
    assert result.closable, "stream() returned no async generator: an Agent cannot close it (no aclose())"
    assert result.close_error is None, f"aclose() raised {type(result.close_error).__name__}: {result.close_error}"
    assert result.left_open == 0, (
        f"{result.left_open} HTTP response(s) still open {BOUND_SECONDS} s after the stream was closed: the "
        f"provider leaks the connection of an abandoned stream ({run.where()})"
    )
