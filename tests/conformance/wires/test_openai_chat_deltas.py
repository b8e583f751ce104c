"""The openai-chat wire's one reading of deltas: the checks' expectation and the replay's whole answer agree."""

from __future__ import annotations

import json

from conformance.wires.openai_chat import chat_completion_from_stream, decode_openai_chat


def _sse(delta: dict, finish: str | None = None) -> bytes:
    payload = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(payload)}\n\n".encode()


def _body(*deltas: dict, finish: str = "tool_calls") -> bytes:
    return b"".join([*(_sse(delta) for delta in deltas), _sse({}, finish), b"data: [DONE]\n\n"])


def tool_delta(index: int, call_id: str | None, name: str | None, arguments: str) -> dict:
    function = {"arguments": arguments} | ({"name": name} if name else {})
    return {"tool_calls": [{"index": index, "function": function} | ({"id": call_id} if call_id else {})]}


def _completion_calls(body: bytes) -> list[tuple[str | None, str, str]]:
    completion = chat_completion_from_stream(body)
    assert completion is not None
    return [(item["id"], item["function"]["name"], item["function"]["arguments"])
            for item in completion["choices"][0]["message"]["tool_calls"]]


def test_a_repeated_tool_name_is_one_name() -> None:
    # llama.cpp may repeat the name in every delta; vLLM and OpenAI send it once. Either way it is one name.
    body = _body(tool_delta(0, "a", "get_weather", '{"city"'), tool_delta(0, None, "get_weather", ': "Oslo"}'))
    wire = decode_openai_chat(body)
    assert [(c.call_id, c.name, c.arguments) for c in wire.tool_calls] == [("a", "get_weather", '{"city": "Oslo"}')]
    assert _completion_calls(body) == [("a", "get_weather", '{"city": "Oslo"}')]


def test_a_new_id_at_a_used_index_starts_a_new_call() -> None:
    # Servers that put every call at index 0 tell the calls apart by their ids.
    body = _body(tool_delta(0, "a", "f", "{}"), tool_delta(0, "b", "g", '{"x": 1}'))
    wire = decode_openai_chat(body)
    assert [(c.call_id, c.name, c.input) for c in wire.tool_calls] == [("a", "f", {}), ("b", "g", {"x": 1})]
    assert _completion_calls(body) == [("a", "f", "{}"), ("b", "g", '{"x": 1}')]


def test_the_same_id_again_continues_the_call() -> None:
    body = _body(tool_delta(0, "a", "f", '{"x"'), tool_delta(0, "a", None, ": 1}"))
    assert [(c.call_id, c.input) for c in decode_openai_chat(body).tool_calls] == [("a", {"x": 1})]
    assert _completion_calls(body) == [("a", "f", '{"x": 1}')]


def test_a_body_that_is_not_a_chunk_stream_is_answered_as_recorded() -> None:
    assert chat_completion_from_stream(b"x") is None
    assert chat_completion_from_stream(b'data: {"type": "message_start"}\n\n') is None
