"""Errors: throttling and context overflow mapped to the exceptions the loop acts on; broken streams raise."""

from __future__ import annotations

import pytest
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

pytestmark = pytest.mark.family("errors")


def _describe(outcome) -> str:
    error = outcome.error
    return f"{type(error).__name__}: {error}" if error else f"no exception after {len(outcome.events)} events"


def _assert_throttled(outcome) -> None:
    assert isinstance(outcome.error, ModelThrottledException), f"got {_describe(outcome)}"


def _assert_context_overflow(outcome) -> None:
    assert isinstance(outcome.error, ContextWindowOverflowException), f"got {_describe(outcome)}"
    assert outcome.error.__cause__ is not None, "the original server error is not kept as __cause__"
    assert not any("messageStop" in event for event in outcome.events), "a messageStop was emitted before the error"


def _assert_failed(outcome) -> None:
    assert outcome.error is not None, f"no exception: the broken stream ended normally with {outcome.events[-2:]}"
    assert not isinstance(outcome.error, (ModelThrottledException, ContextWindowOverflowException)), (
        f"a broken stream is neither throttling nor overflow: {_describe(outcome)}"
    )
    assert str(outcome.error).strip(), "the exception has no message"
    stops = [event for event in outcome.events if "messageStop" in event]
    assert not stops, f"messageStop {stops} emitted for a broken stream"


@pytest.mark.cases("error_429", "error_503")
@pytest.mark.asyncio
async def test_throttling_maps_to_model_throttled(conformance):
    """HTTP 429 and 503 raise ModelThrottledException (the loop retries it with backoff)."""
    _assert_throttled(await conformance.attempt())


@pytest.mark.cases("overflow_before_stream", "overflow_openai_code", "overflow_mid_stream")
@pytest.mark.asyncio
async def test_context_overflow_maps(conformance):
    """Context overflow (before or inside the stream, any server's wording) raises
    ContextWindowOverflowException with the original error as __cause__ (the loop then trims the context)."""
    _assert_context_overflow(await conformance.attempt())


@pytest.mark.cases("truncated_stream", "malformed_line", "connection_closed")
@pytest.mark.asyncio
async def test_broken_stream_raises(conformance):
    """A stream cut short (no finish and no [DONE]), a line that is not JSON, or a dropped connection raises
    an error naming the problem; it never ends as a normal message."""
    _assert_failed(await conformance.attempt())


@pytest.mark.cases("errors")
@pytest.mark.asyncio
async def test_wire_error_maps(conformance):
    """A wire's own error answers (Anthropic's 529 and overloaded event, Bedrock's exception frames, ...) end
    as the wire's error table says: throttling and overflow as the exceptions the loop acts on, with the
    original error as __cause__; anything else as an error naming the problem, never a normal message."""
    kind = conformance.wire.errors[conformance.case.name]
    outcome = await conformance.attempt()
    if kind == "throttled":
        _assert_throttled(outcome)
        assert outcome.error.__cause__ is not None, "the original server error is not kept as __cause__"
    elif kind == "context_overflow":
        _assert_context_overflow(outcome)
    else:
        _assert_failed(outcome)
