"""Every cassette of every wire, read by the wire's reference provider and by conformance's reference decoder.

Why: each provider keeps its own fast parser (the chat core's inline SSE loop, ``providers._sse``,
the Bedrock event-stream reader) apart from the reference decoders in ``conformance``, for speed.
Two parsers of one wire can drift; this test feeds the same bytes to both and requires the same
text, tool calls (id, name, arguments as parsed JSON), stop reason (the wire's finish word through
``WireFamily.strands_stop_reason``, then the assembler's cross-vendor rules) and usage (the
decoder's ``usage`` or one of its ``usage_also`` readings).

Cassettes in scope: every ``recordings/<wire>/*.json`` of one request answered by a 200 stream
that the reference decoder reads. Where the provider is meant to differ (it raises instead of
answering), the case is listed in ``PROVIDER_RAISES`` with the reason, and the test requires the
raise, so the list cannot go stale quietly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

from conformance.cassette import Cassette, load_cassette
from conformance.targets import DEFAULT_MATRIX, REFERENCE_PROVIDERS
from conformance.wires import WireDecodeError, get_wire, known_wires
from providers._assembler import STRANDS_STOP_REASONS
from providers.errors import ProviderError

# Cassette case -> why the provider raises where the reference decoder reads an answer.
PROVIDER_RAISES: dict[str, str] = {
    "connection_closed": "the connection dropped before a finish: the provider raises TruncatedStreamError",
    "finish_error": "finish_reason error: the server says the answer failed (StreamServerError)",
    "finish_malformed_model_output": "Bedrock could not parse the model's output: nothing usable (StreamServerError)",
    "finish_malformed_tool_use": "Bedrock could not parse the tool call: nothing usable (StreamServerError)",
    "finish_malformed_function_call": "Gemini could not parse the model's function call: nothing usable (StreamServerError)",
    "truncated_stream": "no finish before the body ended: the provider raises TruncatedStreamError",
}
RAISED = (ProviderError, ContextWindowOverflowException, ModelThrottledException)
MESSAGES = [{"role": "user", "content": [{"text": "Replay the cassette."}]}]


def _reference_provider(wire: str) -> Any:
    """The first provider of the default matrix that speaks ``wire``."""
    for name in DEFAULT_MATRIX:
        entry = REFERENCE_PROVIDERS.get(name)
        if entry is not None and entry.wire == wire:
            return entry
    return None


def _in_scope(cassette: Cassette) -> bool:
    if len(cassette.interactions) != 1 or cassette.interactions[0].response.status != 200:
        return False
    try:
        get_wire(cassette.wire).decode(cassette.interactions[0].response.body)
    except WireDecodeError:  # an error the stream carries, or bytes no reader accepts: not a parity case
        return False
    return True


def cassettes() -> list[Any]:
    found = []
    for wire in known_wires():
        if _reference_provider(wire) is None:
            continue
        for path in sorted(get_wire(wire).cassette_dir.glob("*.json")):
            cassette = load_cassette(path)
            if _in_scope(cassette):
                found.append(pytest.param(cassette, id=f"{wire}/{path.name}"))
    return found


class _Body(httpx.AsyncByteStream):
    """The recorded chunks, as the server sent them; a ``closed`` ending drops the connection."""

    def __init__(self, cassette: Cassette) -> None:
        self._response = cassette.interactions[0].response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._response.chunks:
            yield chunk.data
        if self._response.end == "closed":
            raise httpx.RemoteProtocolError("peer closed connection (replayed from cassette)")


async def _provider_events(cassette: Cassette) -> list[dict[str, Any]]:
    recorded = cassette.interactions[0].response
    model = _reference_provider(cassette.wire).build(base_url="http://replay.invalid/v1", model_id="m", api_key="k")
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(
            side_effect=lambda request: httpx.Response(recorded.status, headers=recorded.headers, stream=_Body(cassette))
        )
        return [event async for event in model.stream(MESSAGES)]


def _provider_reading(events: list[dict[str, Any]]) -> dict[str, Any]:
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for event in events:
        if "contentBlockStart" in event and "toolUse" in event["contentBlockStart"]["start"]:
            start = event["contentBlockStart"]["start"]["toolUse"]
            calls.append({"id": start["toolUseId"], "name": start["name"], "input": ""})
        delta = event.get("contentBlockDelta", {}).get("delta", {})
        if "text" in delta:
            text.append(delta["text"])
        if "toolUse" in delta:
            calls[-1]["input"] += delta["toolUse"]["input"]
    stop = next(event["messageStop"]["stopReason"] for event in events if "messageStop" in event)
    usage = next(event["metadata"]["usage"] for event in events if "metadata" in event)
    for call in calls:
        call["input"] = _arguments(call["input"])
    return {"text": "".join(text), "tool_calls": calls, "stop": stop, "usage": usage}


def _arguments(text: str) -> Any:
    """Arguments as parsed JSON; a call cut off by the token limit keeps its text (both sides must agree)."""
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return text


def _expected_stop(wire: str, finish_word: str | None, has_calls: bool) -> str:
    stop = get_wire(wire).strands_stop_reason(finish_word)
    if stop is None:  # the assembler's cross-vendor rules: Strands' own names pass, an unknown word ends the turn
        stop = finish_word if finish_word in STRANDS_STOP_REASONS else "end_turn"
    # Calls present win over end_turn; tool_use needs a call.
    if has_calls and stop == "end_turn":
        return "tool_use"
    if stop == "tool_use" and not has_calls:
        return "end_turn"
    return stop


@pytest.mark.parametrize("cassette", cassettes())
def test_provider_reads_the_cassette_as_the_reference_decoder_does(cassette: Cassette) -> None:
    if cassette.case in PROVIDER_RAISES:
        with pytest.raises(RAISED):
            asyncio.run(_provider_events(cassette))
        return
    expected = get_wire(cassette.wire).decode(cassette.interactions[0].response.body)
    got = _provider_reading(asyncio.run(_provider_events(cassette)))

    assert got["text"] == expected.text
    assert [(call["name"], call["input"]) for call in got["tool_calls"]] == [
        (call.name, _arguments(call.arguments)) for call in expected.tool_calls
    ]
    ids = [call.call_id for call in expected.tool_calls]
    if all(ids):  # a wire without call ids (Ollama) gets ids the provider makes up
        assert [call["id"] for call in got["tool_calls"]] == ids
    assert got["stop"] == _expected_stop(cassette.wire, expected.finish_reason, bool(expected.tool_calls))
    readings = [reading for reading in (expected.usage, *expected.usage_also) if reading]
    if readings:
        assert any({key: got["usage"].get(key) for key in reading} == reading for reading in readings), (
            got["usage"], readings
        )
    else:  # the server sent no usage: the assembler reports zeros
        assert (got["usage"]["inputTokens"], got["usage"]["outputTokens"]) == (0, 0)
