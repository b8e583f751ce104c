"""The Responses API and Anthropic Messages stream readers: what is a token, TTFT and ITL, counts, finish, failures.

The streams are the shapes vLLM 0.32 and llama.cpp answered on this machine (ids and padding fields trimmed),
each event given its own arrival time, so every figure is known exactly.
"""

from __future__ import annotations

import json

import pytest

from loadtests.client.chat_stream import latencies_of
from loadtests.client.failures import RequestFailure
from loadtests.client.typed_stream import MessagesStreamAccumulator, ResponsesStreamAccumulator
from loadtests.runner.workloads import WEATHER_TOOL, WorkloadRequest, validate_output

T0 = 100.0
# vLLM's /v1/responses at max_output_tokens: incomplete, said inside response.completed
VLLM_RESPONSES = [
    {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress", "usage": None}},
    {"type": "response.in_progress", "response": {"id": "resp_1", "status": "in_progress"}},
    {"type": "response.output_item.added", "output_index": 0,
     "item": {"id": "msg_1", "content": [], "role": "assistant", "status": "in_progress", "type": "message"}},
    {"type": "response.content_part.added", "item_id": "msg_1", "part": {"text": "", "type": "output_text"}},
    {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "M"},
    {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "ali"},
    {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "!"},
    {"type": "response.output_text.delta", "item_id": "msg_1", "delta": " How"},
    {"type": "response.output_text.done", "item_id": "msg_1", "text": "Mali! How"},
    {"type": "response.output_item.done", "item": {"id": "msg_1", "type": "message", "status": "completed"}},
    {"type": "response.completed", "response": {
        "id": "resp_1", "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
        "usage": {"input_tokens": 32, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 4, "total_tokens": 36}}},
]
# llama.cpp's /v1/messages at max_tokens
LLAMACPP_MESSAGES = [
    {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [],
                                          "usage": {"cache_read_input_tokens": 0, "input_tokens": 34, "output_tokens": 0}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "G"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "reet"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ings"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " to"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": None}, "usage": {"output_tokens": 4}},
    {"type": "message_stop"},
]
RESPONSES_TOOL = [
    {"type": "response.created", "response": {"id": "resp_2", "status": "in_progress"}},
    {"type": "response.output_item.added", "item": {"id": "fc_1", "type": "function_call", "call_id": "call_1",
                                                    "name": "get_weather", "arguments": ""}},
    {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": '{"city": "Lima", '},
    {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": '"unit": "celsius"}'},
    {"type": "response.function_call_arguments.done", "item_id": "fc_1", "arguments": '{"city": "Lima", "unit": "celsius"}'},
    {"type": "response.completed", "response": {"status": "completed", "usage": {"input_tokens": 40, "output_tokens": 14}}},
]
MESSAGES_TOOL = [
    {"type": "message_start", "message": {"usage": {"input_tokens": 40, "output_tokens": 1}}},
    {"type": "ping"},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                                                  "input": {}}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"city": "Lima", '}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '"unit": "celsius"}'}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 14}},
    {"type": "message_stop"},
]
READERS = {"responses": ResponsesStreamAccumulator, "messages": MessagesStreamAccumulator}


def _read(api, events, gaps_ms):
    """Feed `events`, the i-th arriving gaps_ms[i] after the one before (the first after T0)."""
    acc = READERS[api](T0)
    ts = T0
    for event, gap in zip(events, gaps_ms, strict=True):
        ts += gap / 1e3
        acc.on_data(ts, event if isinstance(event, str) else json.dumps(event))
    return acc.finish()


@pytest.mark.parametrize(("api", "events", "prompt"), [("responses", VLLM_RESPONSES, 32), ("messages", LLAMACPP_MESSAGES, 34)])
def test_framing_events_are_not_tokens_and_counts_come_from_the_final_usage(api, events, prompt):
    # the framing events arrive at once; the first text 40 ms later, then 10, 20 and 30 ms apart
    n_framing = 4 if api == "responses" else 2
    gaps = [1.0] * n_framing + [40.0, 10.0, 20.0, 30.0] + [1.0] * (len(events) - n_framing - 4)
    res = _read(api, events, gaps)
    lat = latencies_of(res)
    assert lat.ttft_ms == pytest.approx(n_framing + 40.0)
    assert lat.itl_chunk_ms == pytest.approx([10.0, 20.0, 30.0])  # TTFT never enters ITL
    assert lat.itl_token_ms == [(pytest.approx(10.0), 1), (pytest.approx(20.0), 1), (pytest.approx(30.0), 1)]
    assert lat.output_tokens == 4 and res.prompt_tokens == prompt and res.token_source == "usage"
    assert lat.e2e_ms == pytest.approx(sum(gaps))
    assert lat.tpot_ms == pytest.approx((sum(gaps) - n_framing - 40.0) / 3)
    assert res.finish_reason == "length" and res.done and res.counted_tokens is None
    assert res.text == ("Mali! How" if api == "responses" else "Greetings to")


@pytest.mark.parametrize(("api", "events"), [("responses", RESPONSES_TOOL), ("messages", MESSAGES_TOOL)])
def test_a_tool_call_is_output_from_its_name_on_and_validates(api, events):
    framing = [1.0] if api == "responses" else [1.0, 1.0]  # response.created; message_start and a ping
    res = _read(api, events, framing + [30.0, 5.0, 5.0] + [1.0] * (len(events) - len(framing) - 3))
    lat = latencies_of(res)
    assert lat.ttft_ms == pytest.approx(len(framing) + 30.0)  # the call's name is the first token
    assert lat.itl_chunk_ms == pytest.approx([5.0, 5.0])
    assert lat.output_tokens == 14 and res.finish_reason == "tool_calls" and res.done
    assert [(c.name, json.loads(c.arguments)) for c in res.tool_calls] == [("get_weather", {"city": "Lima", "unit": "celsius"})]
    req = WorkloadRequest("tool", {}, "tool", WEATHER_TOOL["function"]["parameters"])
    assert validate_output(req, res) == (True, None)


def test_responses_finish_words():
    def finish(kind, response):
        return _read("responses", [VLLM_RESPONSES[4], {"type": kind, "response": response}], [1.0, 1.0]).finish_reason
    assert finish("response.completed", {"status": "completed"}) == "stop"
    assert finish("response.incomplete", {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}) == "length"
    assert finish("response.incomplete", {"status": "incomplete", "incomplete_details": {"reason": "content_filter"}}) == "content_filter"


@pytest.mark.parametrize(("api", "event", "kind", "said"), [
    ("responses", {"type": "response.failed", "response": {"status": "failed", "error": {"code": "server_error"}}},
     "stream_error", "server_error"),
    ("responses", {"type": "error", "code": "rate_limit_exceeded", "message": "slow down"}, "stream_error", "rate_limit_exceeded"),
    ("messages", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "stream_error", "overloaded_error"),
    ("responses", {"delta": "no type"}, "malformed_json", "typed Responses API event"),
    ("messages", [1, 2], "malformed_json", "typed Anthropic Messages event"),
    ("responses", {"type": "response.function_call_arguments.delta", "item_id": "fc_unknown", "delta": "{"}, "malformed_json",
     "fc_unknown"),
    ("messages", {"type": "content_block_delta", "index": 0, "delta": "text"}, "malformed_json", "shape of a Anthropic"),
    ("messages", "{not json", "malformed_json", "not JSON"),
])
def test_error_events_and_events_of_the_wrong_shape_fail_by_kind(api, event, kind, said):
    first = VLLM_RESPONSES[4] if api == "responses" else LLAMACPP_MESSAGES[2]
    with pytest.raises(RequestFailure) as info:
        _read(api, [first, event], [1.0, 1.0])
    assert info.value.kind == kind and said in str(info.value)


@pytest.mark.parametrize(("api", "events"), [("responses", VLLM_RESPONSES[:-1]), ("messages", LLAMACPP_MESSAGES[:-1])])
def test_a_stream_cut_before_its_terminal_event_is_not_done(api, events):
    res = _read(api, events, [1.0] * len(events))
    assert not res.done and res.chunk_ts  # the request path fails it as `protocol`, naming the missing event


def test_a_stream_of_framing_only_has_no_output():
    res = _read("responses", [VLLM_RESPONSES[0], VLLM_RESPONSES[-1]], [1.0, 1.0])
    with pytest.raises(RequestFailure, match="without any output token") as info:
        latencies_of(res)
    assert info.value.kind == "invalid_output"
