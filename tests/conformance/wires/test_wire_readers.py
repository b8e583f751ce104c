"""Unit tests of the reference decoders and request reader the checks compare against."""

from __future__ import annotations

import json

import pytest

from conformance.wires import WireDecodeError
from conformance.wires.anthropic import decode_anthropic
from conformance.wires.openai_chat import decode_openai_chat, read_openai_chat_request
from conformance.written.builders import DONE, call, chunk, sse, tool_delta, usage_chunk


def test_decoder_reassembles_text_tools_usage_and_finish():
    body = b"".join([
        sse(chunk({"content": "Hi"})),
        sse(chunk({"reasoning": "think"})),
        sse(chunk(tool_delta(call(0, "a", "f", '{"x"')))),
        sse(chunk(tool_delta(call(0, arguments=": 1}")))),
        sse(chunk(tool_delta(call(0, "b", "g", "{}")))),  # new id at the same index: a second call
        sse(chunk({}, "tool_calls")),
        sse(usage_chunk(5, 7)),
        DONE,
    ])
    wire = decode_openai_chat(body)
    assert (wire.text, wire.reasoning, wire.finish_reason, wire.saw_done) == ("Hi", "think", "tool_calls", True)
    assert [(c.call_id, c.name, c.input) for c in wire.tool_calls] == [("a", "f", {"x": 1}), ("b", "g", {})]
    assert wire.usage == {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"data: {not json\n\n", "SSE line 0 is not JSON"),
        (b"garbage line\n\n", "SSE line 0 is not a field"),
        (b'data: {"error": {"message": "boom"}}\n\n', "carries an error"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_decoder_refuses_what_it_cannot_read(body, message):
    with pytest.raises(WireDecodeError, match=message):
        decode_openai_chat(body)


def test_request_reader_meanings():
    body = {
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.25,
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d", "parameters": {}}}],
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]},
            {"role": "user", "content": "q"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                  "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "cold"},
        ],
    }
    meaning = read_openai_chat_request(body)
    assert meaning.tool_choice == ("tool", "get_weather")
    assert meaning.system_text == "AB" and meaning.system_first and meaning.system_messages == 1
    assert meaning.roles == ["user", "assistant", "tool"]
    assert [(c.call_id, c.input) for c in meaning.tool_calls] == [("c1", {"city": "Oslo"})]
    assert [(r.call_id, r.text) for r in meaning.tool_results] == [("c1", "cold")]
    assert meaning.streaming and meaning.usage_requested and meaning.params == {"temperature": 0.25}
    assert read_openai_chat_request(body | {"tool_choice": "required"}).tool_choice == "any"


def test_request_reader_refuses_non_json_body():
    with pytest.raises(ValueError, match="is a JSON object; got str"):
        read_openai_chat_request("text")


def test_anthropic_usage_with_a_prompt_cache_has_both_readings():
    events = [
        ("message_start", {"type": "message_start", "message": {"usage": {
            "input_tokens": 1, "output_tokens": 0, "cache_read_input_tokens": 43}}}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    body = "".join(f"event: {kind}\ndata: {json.dumps(data)}\n\n" for kind, data in events).encode()
    wire = decode_anthropic(body)
    assert wire.usage == {"inputTokens": 44, "outputTokens": 7, "totalTokens": 51}
    assert wire.usage_also == [{"inputTokens": 1, "outputTokens": 7, "totalTokens": 51, "cacheReadInputTokens": 43}]
