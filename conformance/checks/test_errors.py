"""Errors: throttling and context overflow mapped to the exceptions the loop acts on; broken streams raise.

Each check also runs the wire's own error answers of its kind (`errors:<kind>`: Anthropic's 529 and its
overloaded event, Bedrock's exception frames, Mistral's finish_reason error, ...).
"""

from __future__ import annotations

import json

import pytest
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

pytestmark = pytest.mark.family("errors")

# Python's own errors from a provider's code (a dict key or attribute that was not there, a None where an
# object was expected): a stream the provider could not read must be named as such, not crash its parser.
PROGRAMMING_ERRORS = (AttributeError, KeyError, IndexError, TypeError, NameError, UnboundLocalError,
                      ZeroDivisionError, AssertionError, json.JSONDecodeError, UnicodeDecodeError)


def _describe(outcome) -> str:
    error = outcome.error
    return f"{type(error).__name__}: {error}" if error else f"no exception after {len(outcome.events)} events"


@pytest.mark.cases("error_429", "error_503", "errors:throttled")
@pytest.mark.asyncio
async def test_throttling_maps_to_model_throttled(conformance_run):
    """HTTP 429 and 503, and the wire's own overload answers, raise ModelThrottledException (the loop retries
    it with backoff); for the wire's own answers the original error is kept as __cause__.

    Severity: must -- the loop retries only ModelThrottledException; anything else ends the agent.
    """
    outcome = await conformance_run.attempt()
    assert isinstance(outcome.error, ModelThrottledException), f"got {_describe(outcome)}"
    if conformance_run.case.name in conformance_run.wire.errors:
        assert outcome.error.__cause__ is not None, "the original server error is not kept as __cause__"


@pytest.mark.cases("overflow_before_stream", "overflow_openai_code", "overflow_mid_stream", "errors:context_overflow")
@pytest.mark.asyncio
async def test_context_overflow_maps(conformance_run):
    """Context overflow (before or inside the stream, any server's wording) raises
    ContextWindowOverflowException with the original error as __cause__ (the loop then trims the context).

    Severity: must -- the loop trims the conversation only on ContextWindowOverflowException;
    anything else ends the agent.
    """
    outcome = await conformance_run.attempt()
    assert isinstance(outcome.error, ContextWindowOverflowException), f"got {_describe(outcome)}"
    assert outcome.error.__cause__ is not None, "the original server error is not kept as __cause__"
    assert not any("messageStop" in event for event in outcome.events), "a messageStop was emitted before the error"


@pytest.mark.cases("truncated_stream", "malformed_line", "connection_closed", "errors:failed")
@pytest.mark.asyncio
async def test_broken_stream_raises(conformance_run):
    """A stream cut short (no finish and no [DONE]), a line that is not JSON, a dropped connection, or the
    wire's own failed answer raises an error naming the problem; it never ends as a normal message.

    Severity: must -- a broken stream taken as a complete answer is silently truncated data.
    """
    outcome = await conformance_run.attempt()
    assert outcome.error is not None, f"no exception: the broken stream ended normally with {outcome.events[-2:]}"
    assert not isinstance(outcome.error, (ModelThrottledException, ContextWindowOverflowException)), (
        f"a broken stream is neither throttling nor overflow: {_describe(outcome)}"
    )
    assert str(outcome.error).strip(), "the exception has no message"
    assert not isinstance(outcome.error, PROGRAMMING_ERRORS), (
        f"the broken stream surfaced as a Python programming error from inside the provider: {_describe(outcome)}; "
        "raise a typed error (a Strands exception, or e.g. providers.errors.MalformedStreamError / TruncatedStreamError)")
    stops = [event for event in outcome.events if "messageStop" in event]
    assert not stops, f"messageStop {stops} emitted for a broken stream"
