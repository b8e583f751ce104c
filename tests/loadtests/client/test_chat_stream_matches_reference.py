"""The load-test client's own chat-chunk reader against the conformance reference decoder, on every openai-chat cassette.

Each streamed 200 answer is fed to `ChatStreamAccumulator` the way a Locust user feeds it (the
recorded reads one by one through `SSEParser`) and to the wire's reference decoder; both must find
the same text, tool calls (id, name, arguments), finish reason, usage and end of stream, or both
must refuse the stream.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cassette import load_cassette
from conformance.wires import get_wire
from loadtests.client.chat_stream import ChatStreamAccumulator, StreamResult
from loadtests.client.failures import RequestFailure
from loadtests.client.sse import SSEParser

CASSETTES = sorted((Path(__file__).resolve().parents[3] / "recordings" / "openai-chat").glob("*.json"))

# Where the two readings differ on purpose, and why. Every other cassette must agree on everything.
REASONING_IS_OUTPUT = {
    # the load test times output tokens, and reasoning tokens are output: its text is the reasoning,
    # then the answer; the reference keeps reasoning apart from the text a provider must return
    "reasoning_content.written.json",
    "reasoning_field.written.json",
}


def _streamed_answers(path: Path) -> list[tuple[int, bytes, list[tuple[float, bytes]]]]:
    """(interaction index, body, reads as (seconds after sending, bytes)) of each 200 text/event-stream answer."""
    out = []
    for i, interaction in enumerate(load_cassette(path).interactions):
        response = interaction.response
        if response.status == 200 and "text/event-stream" in response.headers.get("content-type", ""):
            out.append((i, response.body, [(chunk.ms / 1e3, chunk.data) for chunk in response.chunks]))
    return out


def _accumulate(reads: list[tuple[float, bytes]]) -> StreamResult:
    acc, parser = ChatStreamAccumulator(0.0), SSEParser()
    for ts, piece in reads:
        for kind, text in parser.feed(piece):
            (acc.on_data if kind == "data" else acc.on_comment)(ts, text)
    return acc.finish()


def test_every_openai_chat_cassette_has_a_streamed_answer():
    assert len(CASSETTES) >= 40
    assert sum(len(_streamed_answers(path)) for path in CASSETTES) >= 40


@pytest.mark.parametrize("path", CASSETTES, ids=[path.name for path in CASSETTES])
def test_accumulator_reads_what_the_reference_decoder_reads(path):
    decode = get_wire("openai-chat").decode
    for index, body, reads in _streamed_answers(path):
        where = f"{path.name} interaction {index}"
        try:
            expected = decode(body)
        except ValueError:  # the reference refuses the stream: so must the load-test client
            with pytest.raises(RequestFailure):
                _accumulate(reads)
            continue
        got = _accumulate(reads)
        if path.name in REASONING_IS_OUTPUT:
            assert expected.reasoning, f"{where}: listed as carrying reasoning, but the reference found none"
            assert got.text == expected.reasoning + expected.text, where
        else:
            assert got.text == expected.text, where
        assert [(c.id, c.name, c.arguments) for c in got.tool_calls] == \
            [(c.call_id or "", c.name or "", c.arguments) for c in expected.tool_calls], where
        assert got.finish_reason == expected.finish_reason, where
        usage = expected.usage or {}
        assert (got.prompt_tokens, got.completion_tokens) == (usage.get("inputTokens"), usage.get("outputTokens")), where
        assert got.done == expected.saw_done, where
