"""The OpenAI chat-completions core through each provider: SSE decoding, chunk mapping, error mapping.

Served in-process by respx (no sockets); every route is strict (unmatched requests fail).
"""

from __future__ import annotations

import json

import httpx
import pytest
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

from .chat_server import CHAT_PROVIDERS, serve
from .wire import (
    Replay, chunk, collect, event_bytes, make_models, request_json, sse, stream_response, text_answer, tool_delta,
    usage_chunk,
)
from providers.errors import (
    MalformedStreamError,
    ProviderConnectionError,
    ProviderHTTPError,
    StreamServerError,
    TruncatedStreamError,
)


@pytest.fixture(params=CHAT_PROVIDERS)
def model(request):
    return make_models()[request.param]




def texts(events):
    return "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)


def stop_reason(events):
    return next(e["messageStop"]["stopReason"] for e in events if "messageStop" in e)


def tool_uses(events):
    """(id, name, parsed input) per toolUse block, as the Strands event loop would assemble them."""
    calls, current = [], None
    for event in events:
        if "contentBlockStart" in event and "toolUse" in event["contentBlockStart"]["start"]:
            start = event["contentBlockStart"]["start"]["toolUse"]
            current = [start["toolUseId"], start["name"], ""]
        elif "contentBlockDelta" in event and current is not None:
            current[2] += event["contentBlockDelta"]["delta"]["toolUse"]["input"]
        elif "contentBlockStop" in event and current is not None:
            calls.append((current[0], current[1], json.loads(current[2]) if current[2].strip() else {}))
            current = None
    return calls


# -- happy paths -------------------------------------------------------------------------------------


async def test_text_stream_events_usage_and_metrics(model, mock):
    serve(mock, stream_response(text_answer("Hel", "lo", " wörld")))
    events = await collect(model)
    assert events[0] == {"messageStart": {"role": "assistant"}}
    assert events[1] == {"contentBlockStart": {"start": {}}}
    assert texts(events) == "Hello wörld"
    assert events[-3] == {"contentBlockStop": {}}
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}
    metadata = events[-1]["metadata"]
    assert metadata["usage"] == {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12}
    assert isinstance(metadata["metrics"]["latencyMs"], int)
    assert isinstance(metadata["metrics"]["timeToFirstByteMs"], int)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_both_reasoning_field_names_stream_as_reasoning(model, mock, field):
    serve(mock, stream_response(sse(chunk({field: "Let me "}), chunk({field: "think."}), chunk({"content": "42"}),
                                    chunk({}, "stop"), usage_chunk())))
    events = await collect(model)
    reasoning = [e["contentBlockDelta"]["delta"]["reasoningContent"]["text"] for e in events
                 if "contentBlockDelta" in e and "reasoningContent" in e["contentBlockDelta"]["delta"]]
    assert reasoning == ["Let me ", "think."]
    assert texts(events) == "42"
    assert sum("contentBlockStart" in e for e in events) == 2


async def test_parallel_tool_calls(model, mock):
    serve(mock, stream_response(sse(
        tool_delta(0, id="call_a", name="weather", arguments=""),
        tool_delta(0, arguments='{"city": "Paris"}'),
        tool_delta(1, id="call_b", name="time", arguments='{"tz": '),
        tool_delta(1, arguments='"CET"}'),
        chunk({}, "tool_calls"), usage_chunk())))
    events = await collect(model)
    assert tool_uses(events) == [("call_a", "weather", {"city": "Paris"}), ("call_b", "time", {"tz": "CET"})]
    assert stop_reason(events) == "tool_use"


async def test_interleaved_parallel_tool_calls(model, mock):
    serve(mock, stream_response(sse(
        tool_delta(0, id="call_a", name="weather", arguments=""),
        tool_delta(1, id="call_b", name="weather", arguments=""),
        tool_delta(0, arguments='{"city": '), tool_delta(1, arguments='{"city": "Paris"}'),
        tool_delta(0, arguments='"Tokyo"}'),
        chunk({}, "tool_calls"), usage_chunk())))
    events = await collect(model)
    assert tool_uses(events) == [("call_a", "weather", {"city": "Tokyo"}), ("call_b", "weather", {"city": "Paris"})]


async def test_id_in_a_later_delta(model, mock):
    serve(mock, stream_response(sse(
        tool_delta(0, name="weather", arguments='{"city":'), tool_delta(0, id="late_id", arguments=' "Oslo"}'),
        chunk({}, "tool_calls"), usage_chunk())))
    assert tool_uses(await collect(model)) == [("late_id", "weather", {"city": "Oslo"})]


async def test_every_call_on_index_zero_with_new_ids(model, mock):
    serve(mock, stream_response(sse(
        tool_delta(0, id="a", name="f", arguments="{}"), tool_delta(0, id="b", name="g", arguments='{"k": 1}'),
        chunk({}, "tool_calls"), usage_chunk())))
    assert tool_uses(await collect(model)) == [("a", "f", {}), ("b", "g", {"k": 1})]


async def test_arguments_split_inside_a_multibyte_character_at_the_byte_level(model, mock):
    arguments = json.dumps({"city": "東京", "note": "café"}, ensure_ascii=False)
    body = b"".join(sse(tool_delta(0, id="c", name="weather", arguments=arguments), chunk({}, "tool_calls"),
                        usage_chunk()))
    cut = body.index("東".encode()) + 1  # inside the 3-byte UTF-8 sequence
    pieces = [body[:cut], body[cut:cut + 2], body[cut + 2:]]
    serve(mock, stream_response(pieces))
    assert tool_uses(await collect(model)) == [("c", "weather", {"city": "東京", "note": "café"})]


async def test_argument_deltas_split_anywhere_reassemble(model, mock):
    arguments = json.dumps({"query": "ünïcode ☃ text", "n": 3}, ensure_ascii=False)
    deltas = [tool_delta(0, id="c", name="search")] + [tool_delta(0, arguments=ch) for ch in arguments]
    serve(mock, stream_response(sse(*deltas, chunk({}, "tool_calls"), usage_chunk())))
    assert tool_uses(await collect(model)) == [("c", "search", {"query": "ünïcode ☃ text", "n": 3})]


async def test_zero_argument_tool(model, mock):
    serve(mock, stream_response(sse(tool_delta(0, id="c", name="now", arguments=""), chunk({}, "tool_calls"),
                                    usage_chunk())))
    assert tool_uses(await collect(model)) == [("c", "now", {})]


async def test_tool_call_with_finish_stop_is_tool_use(model, mock):
    serve(mock, stream_response(sse(tool_delta(0, id="c", name="f", arguments="{}"), chunk({}, "stop"),
                                    usage_chunk())))
    assert stop_reason(await collect(model)) == "tool_use"


async def test_tool_call_cut_off_by_length_is_max_tokens(model, mock):
    serve(mock, stream_response(sse(tool_delta(0, id="c", name="f", arguments='{"city": "Par'),
                                    chunk({}, "length"), usage_chunk())))
    assert stop_reason(await collect(model)) == "max_tokens"


async def test_done_without_finish_reason_is_end_turn(model, mock):
    serve(mock, stream_response(sse(chunk({"content": "ok"}), usage_chunk())))
    assert stop_reason(await collect(model)) == "end_turn"


async def test_finish_without_done_is_accepted(model, mock):
    serve(mock, stream_response(sse(chunk({"content": "ok"}), chunk({}, "stop"), usage_chunk(), done=False)))
    assert stop_reason(await collect(model)) == "end_turn"


async def test_sse_comments_event_fields_and_crlf(model, mock):
    body = [b": keep-alive\r\n\r\n", b"event: message\r\nid: 1\r\n",
            event_bytes(chunk({"content": "a"})).replace(b"\n", b"\r\n"),
            event_bytes(chunk({}, "stop")), b"data: [DONE]\r\n\r\n"]
    serve(mock, stream_response(body))
    assert texts(await collect(model)) == "a"


# -- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_statuses(model, mock, status):
    serve(mock, httpx.Response(status, json={"error": {"message": "busy", "code": status}}))
    with pytest.raises(ModelThrottledException) as raised:
        await collect(model)
    assert isinstance(raised.value.__cause__, ProviderHTTPError) and raised.value.__cause__.status == status


OVERFLOW_BODIES = {
    "vllm": {"object": "error", "type": "BadRequestError", "code": 400, "param": None,
             "message": "This model's maximum context length is 2048 tokens. However, your prompt contains at "
                        "least 2049 input tokens. Please reduce the length of the input."},
    "vllm-max_model_len": {"object": "error", "code": 400, "message": "prompt length 3000 exceeds max_model_len 2048"},
    "llamacpp": {"error": {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": 5000, "n_ctx": 4096,
                           "message": "the request exceeds the available context size, try increasing it"}},
    "openai": {"error": {"message": "This model's maximum context length is 128000 tokens.", "type":
                         "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}},
}


@pytest.mark.parametrize("wording", sorted(OVERFLOW_BODIES))
async def test_context_overflow_before_the_stream(model, mock, wording):
    serve(mock, httpx.Response(400, json=OVERFLOW_BODIES[wording]))
    with pytest.raises(ContextWindowOverflowException) as raised:
        await collect(model)
    cause = raised.value.__cause__
    assert isinstance(cause, ProviderHTTPError) and cause.status == 400
    assert json.loads(cause.body) == OVERFLOW_BODIES[wording]


@pytest.mark.parametrize("wording", sorted(OVERFLOW_BODIES))
async def test_context_overflow_inside_the_stream(model, mock, wording):
    body = OVERFLOW_BODIES[wording]
    error = body if "error" in body else {"error": body}
    serve(mock, stream_response(sse(chunk({"content": "x"}), error, done=False)))
    with pytest.raises(ContextWindowOverflowException) as raised:
        await collect(model)
    assert isinstance(raised.value.__cause__, StreamServerError)


async def test_throttling_inside_the_stream(model, mock):
    serve(mock, stream_response(sse({"error": {"message": "Rate limit reached", "code": 429}}, done=False)))
    with pytest.raises(ModelThrottledException):
        await collect(model)


async def test_other_http_error_carries_status_and_body(model, mock):
    serve(mock, httpx.Response(500, text="upstream exploded"))
    with pytest.raises(ProviderHTTPError) as raised:
        await collect(model)
    assert raised.value.status == 500 and raised.value.body == "upstream exploded"
    assert raised.value.url.endswith("/chat/completions")


async def test_other_error_inside_the_stream(model, mock):
    serve(mock, stream_response(sse({"error": {"message": "CUDA out of memory", "code": 500}}, done=False)))
    with pytest.raises(StreamServerError, match="CUDA out of memory"):
        await collect(model)


async def test_truncated_stream_without_finish_or_done(model, mock):
    serve(mock, stream_response(sse(chunk({"content": "Hel"}), done=False)))
    with pytest.raises(TruncatedStreamError, match="no finish reason and no \\[DONE\\]"):
        await collect(model)


async def test_empty_200_body_is_truncated(model, mock):
    serve(mock, stream_response([]))
    with pytest.raises(TruncatedStreamError):
        await collect(model)


async def test_malformed_line_raises(model, mock):
    serve(mock, stream_response([event_bytes(chunk({"content": "a"})), b"garbage here\n\n"] + sse(chunk({}, "stop"))))
    with pytest.raises(MalformedStreamError, match="garbage here"):
        await collect(model)


async def test_json_with_extra_spaces_is_accepted(model, mock):
    serve(mock, stream_response([b"data:   " + event_bytes(chunk({"content": "a"}))[6:-2] + b"  \n\n"]
                                + sse(chunk({}, "stop"))))
    assert texts(await collect(model)) == "a"


async def test_malformed_json_raises(model, mock):
    serve(mock, stream_response([b'data: {"choices": [\n\n']))
    with pytest.raises(MalformedStreamError, match="not JSON"):
        await collect(model)


async def test_non_sse_json_body_raises(model, mock):
    serve(mock, httpx.Response(200, json={"id": "x", "choices": [{"message": {"content": "hi"}}]}))
    with pytest.raises(MalformedStreamError, match="not an event stream"):
        await collect(model)


async def test_unterminated_non_sse_tail_raises(model, mock):
    serve(mock, stream_response([event_bytes(chunk({"content": "a"})), b"<html>oops"]))
    with pytest.raises(MalformedStreamError, match="not server-sent events"):
        await collect(model)


async def test_connection_closed_mid_stream_is_mapped_and_response_closed(model, mock):
    replay = Replay(sse(chunk({"content": "Hel"}), done=False), then_raise=httpx.RemoteProtocolError("peer closed"))
    serve(mock, httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=replay))
    with pytest.raises(TruncatedStreamError, match="broke mid-stream") as raised:
        await collect(model)
    assert isinstance(raised.value.__cause__, httpx.RemoteProtocolError)
    assert replay.closed


async def test_connection_refused_names_the_url(model, mock):
    serve(mock, httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(ProviderConnectionError, match="http://model.test/v1/chat/completions"):
        await collect(model)


async def test_really_refused_port_names_the_url():
    # A real socket to a closed local port: the one test here that does not use respx.
    from providers import VLLMModel

    model = VLLMModel(base_url="http://127.0.0.1:9/v1", model_id="m")
    with pytest.raises(ProviderConnectionError, match="127.0.0.1:9"):
        await collect(model)


# -- request shape -----------------------------------------------------------------------------------


TOOL_SPEC = {"name": "weather", "description": "Weather for a city",
             "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}


async def test_request_shape_system_prompt_tools_and_tool_results(model, mock):
    route = serve(mock, stream_response(text_answer("ok")))
    messages = [
        {"role": "user", "content": [{"text": "Weather in Paris?"}]},
        {"role": "assistant", "content": [{"text": "Checking."},
                                          {"toolUse": {"toolUseId": "call_9", "name": "weather",
                                                       "input": {"city": "Paris"}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "call_9", "status": "success",
                                                     "content": [{"text": "18C"}, {"json": {"wind": 3}}]}}]},
    ]
    await collect(model, messages, tool_specs=[TOOL_SPEC], system_prompt="ignored when content given",
                  system_prompt_content=[{"text": "You are terse."}, {"cachePoint": {"type": "default"}}],
                  tool_choice={"any": {}})
    body = request_json(route)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "smollm2"
    assert body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": '18C\n{"wind": 3}'},
    ]
    assert body["tools"] == [{"type": "function", "function": {
        "name": "weather", "description": "Weather for a city", "parameters": TOOL_SPEC["inputSchema"]["json"]}}]
    assert body["tool_choice"] == "required"


async def test_plain_system_prompt_and_image(model, mock):
    route = serve(mock, stream_response(text_answer("ok")))
    messages = [{"role": "user", "content": [{"text": "What is it?"},
                                             {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}]}]
    await collect(model, messages, system_prompt="Be brief.")
    body = request_json(route)
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
    ]


async def test_unsupported_content_block_raises(model, mock):
    messages = [{"role": "user", "content": [{"document": {"format": "pdf", "name": "x", "source": {"bytes": b""}}}]}]
    with pytest.raises(TypeError, match="'document'.*not supported"):
        await collect(model, messages)


async def test_authorization_header(mock):
    route = serve(mock, stream_response(text_answer("ok")), stream_response(text_answer("ok")))
    models = make_models()
    await collect(models["vllm"])
    await collect(models["openai"])
    assert route.calls[0].request.headers["authorization"] == "Bearer k"
    assert route.calls[1].request.headers["authorization"] == "Bearer k"


async def test_one_http_client_per_model_reused(mock):
    serve(mock, stream_response(text_answer("a")), stream_response(text_answer("b")))
    model = make_models()["vllm"]
    await collect(model)
    client = model._client
    await collect(model)
    assert model._client is client and client is not None
