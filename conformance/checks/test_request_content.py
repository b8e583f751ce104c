"""Request content: every block a Strands user can send reaches the wire, or is refused by name; never lost.

Each `content_*` case holds one block (an image, a document, reasoning with and without its signature, a
cache point, a tool result holding an image or JSON, citations) in a history answered by text. The wire's
content table (`WireFamily.content`) says what its request must do with the block: send it (the wire's
request reader finds it), send it or refuse it, refuse it, or omit it where the wire has no place for it by
design. A refusal is an exception raised before anything is sent, whose message names the block.
Every request body these checks and the request-shape checks see is also validated against the wire's
published request schema (`conformance/schemas/`): e.g. no `content: []` on an assistant turn of tool calls only.
"""

from __future__ import annotations

import base64
import json

import pytest

from conformance.cases import PNG_BYTES, REPORT_JSON
from conformance.schemas import assert_bodies_match_schema

pytestmark = pytest.mark.family("request_shape")  # the request-shape family, content part

CONTENT_CASES = ("content_image", "content_document", "content_reasoning", "content_reasoning_unsigned",
                 "content_cache_point", "content_tool_result_image", "content_citations")
# The words an error message may use to name each block (Strands' own key, or the wire's name for it).
BLOCK_NAMES = {
    "image": ("image",), "document": ("document",), "reasoning": ("reasoning", "thinking"),
    "reasoning_unsigned": ("reasoning", "thinking", "signature"), "cache_point": ("cachepoint", "cache point"),
    "tool_result_image": ("image",), "citations": ("citation",),
}
PNG_BASE64 = base64.b64encode(PNG_BYTES).decode()


@pytest.mark.cases(*CONTENT_CASES)
@pytest.mark.asyncio
async def test_content_block_sent_or_refused(conformance_run):
    """The block goes out as the wire carries it (an image with its bytes unchanged), or the provider raises
    an error naming it before sending anything; only a block the wire has no place for may be left out.

    Severity: must -- a block dropped silently is lost data: the model answers without the image or document.
    """
    kind = conformance_run.case.name.removeprefix("content_")
    handling, why = conformance_run.wire.content.get(kind, ("send_or_refuse", "the wire declares nothing"))
    outcome = await conformance_run.attempt()
    if outcome.error is not None and not conformance_run.sent:  # refused before sending: judge the refusal
        conformance_run.replay_refused()
        message = f"{type(outcome.error).__name__}: {outcome.error}"
        assert handling != "omit", (f"the {kind} block raised {message}; wire {conformance_run.wire.name} has no "
                                    f"place for it ({why}), so it is left out, not refused")
        assert handling != "send", f"the {kind} block raised {message}; wire {conformance_run.wire.name} carries it ({why})"
        assert any(name in message.lower() for name in BLOCK_NAMES[kind]), (
            f"the refusal does not name the {kind} block: {message}")
        return
    # What the provider made of the answer is other checks' business: the request is judged here.
    assert_bodies_match_schema(conformance_run)
    assert handling != "refuse", f"the {kind} block must be refused by name on this wire ({why}); it was sent"
    meaning = conformance_run.sent_meaning()
    # reasoning goes back as reasoning, signed or not; an image in a tool result may go in the next user message
    found = {"reasoning_unsigned": ("reasoning",), "tool_result_image": ("tool_result_image", "image")}.get(kind, (kind,))
    if handling in ("send", "send_or_refuse"):
        assert set(found) & set(meaning.content), (
            f"the {kind} block was silently dropped: the request carries {meaning.content or 'no such block'} "
            f"(wire {conformance_run.wire.name}: {why})")
    if "image" in kind:
        assert meaning.images == [PNG_BASE64], f"image data sent {meaning.images}, expected the case's PNG"


@pytest.mark.cases("content_tool_result_json")
@pytest.mark.asyncio
async def test_tool_result_json_sent(conformance_run):
    """A tool result holding JSON goes out under its call's id with the same JSON value (not dropped, not repr'd).

    Severity: must -- the model reads another result than the tool returned.
    """
    await conformance_run.attempt()  # the request is judged here, whatever the provider made of the answer
    assert_bodies_match_schema(conformance_run)
    results = conformance_run.sent_meaning().tool_results
    assert len(results) == 1, f"tool results sent: {results}"
    try:
        sent = json.loads(results[0].text)
    except ValueError:
        raise AssertionError(f"the JSON result went out as {results[0].text!r}, which is not that JSON") from None
    assert sent == REPORT_JSON, f"the JSON result went out as {sent!r}, expected {REPORT_JSON!r}"


@pytest.mark.cases("content_same_tool_twice")
@pytest.mark.asyncio
async def test_same_tool_twice_keeps_both_calls(conformance_run):
    """One assistant turn calling the same tool twice goes out as two calls with distinct ids (on a wire without
    ids, two calls and two results in order), each result after its call.

    Severity: must -- a merged or lost call gives the model the wrong results: the loop repeats or answers wrong.
    """
    await conformance_run.attempt()
    assert_bodies_match_schema(conformance_run)
    meaning = conformance_run.sent_meaning()
    calls = [(call.name, call.input) for call in meaning.tool_calls]
    assert calls == [("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Rome"})], meaning.tool_calls
    assert [result.text for result in meaning.tool_results] == ["3 C, light snow", "22 C, clear"], meaning.tool_results
    if conformance_run.wire.carries_call_ids:
        ids = [call.call_id for call in meaning.tool_calls]
        assert ids == ["call_oslo0001", "call_rome0001"], f"tool call ids sent {ids}"
        assert [result.call_id for result in meaning.tool_results] == ids, meaning.tool_results
