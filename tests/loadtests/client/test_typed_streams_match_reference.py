"""The load-test readers of the Responses API and Anthropic Messages streams against the conformance reference
decoders, on every cassette of those wires.

Each streamed 200 answer is read the way a Locust user reads it (the recorded reads one by one through
`SSEParser`) and by the wire's reference decoder; both must find the same text, tool calls, finish (the
reader's chat word and the wire's word mean the same Strands stop reason), usage and end of stream, or
both must refuse the stream.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.wires import get_wire
from loadtests.client.apis import APIS
from loadtests.client.chat_stream import StreamResult
from loadtests.client.failures import RequestFailure
from loadtests.client.sse import SSEParser

from .test_chat_stream_matches_reference import _streamed_answers

RECORDINGS = Path(__file__).resolve().parents[3] / "recordings"
CASES = [(api, path) for api in ("responses", "messages")
         for path in sorted((RECORDINGS / APIS[api].wire_name).glob("*.json"))]
CHAT = get_wire("openai-chat")
# Finish words read into a chat word of another meaning on purpose: chat has one word for a natural stop and a
# stop sequence.
READ_AS_CHAT = {("stop_sequence", "stop")}


def _read(api: str, reads: list[tuple[float, bytes]]) -> StreamResult:
    acc, parser = APIS[api].reader(0.0), SSEParser()
    for ts, piece in reads:
        for kind, text in parser.feed(piece):
            (acc.on_data if kind == "data" else acc.on_comment)(ts, text)
    return acc.finish()


@pytest.mark.parametrize("api", ["responses", "messages"])
def test_every_wire_has_streamed_answers(api):
    assert sum(len(_streamed_answers(path)) for a, path in CASES if a == api) >= 20


@pytest.mark.parametrize(("api", "path"), CASES, ids=[f"{api}-{path.name}" for api, path in CASES])
def test_reader_reads_what_the_reference_decoder_reads(api, path):
    wire = APIS[api].wire
    for index, body, reads in _streamed_answers(path):
        where = f"{path.name} interaction {index}"
        try:
            expected = wire.decode(body)
        except ValueError:  # the reference refuses the stream: so must the load-test client
            with pytest.raises(RequestFailure):
                _read(api, reads)
            continue
        got = _read(api, reads)
        assert got.text == expected.text, where  # reasoning is timed as output, but is not the answer
        assert [(c.id, c.name, c.arguments) for c in got.tool_calls] == \
            [(c.call_id or "", c.name or "", c.arguments) for c in expected.tool_calls], where
        if (expected.finish_reason, got.finish_reason) not in READ_AS_CHAT:
            ours = CHAT.strands_stop_reason(got.finish_reason) or wire.strands_stop_reason(got.finish_reason)
            assert ours == wire.strands_stop_reason(expected.finish_reason), where
        usage = expected.usage or {}
        assert (got.prompt_tokens, got.completion_tokens) == (usage.get("inputTokens"), usage.get("outputTokens")), where
        assert got.done == expected.saw_done, where
