"""Details of the OpenAI Responses provider the shared checks do not reach: vLLM's incomplete status inside
response.completed, `.done` arguments against the streamed ones, arguments sent only whole, the input items
built from a tool round trip, the request schema (tests/providers/test_cassette_parity.py holds the provider
and the reference decoder to the same reading of every cassette)."""

from __future__ import annotations

from typing import Any

import pytest

from providers._responses_wire import ResponsesStreamDecoder
from providers.errors import MalformedStreamError, TruncatedStreamError
from providers.openai_responses import OpenAIResponsesModel, format_input

CALL = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": ""}


def _feed(*events: dict[str, Any]) -> list[dict[str, Any]]:
    decoder = ResponsesStreamDecoder("http://model.test/v1/responses")
    out: list[dict[str, Any]] = list(decoder.asm.start())
    for event in events:
        out.extend(decoder.feed(event["type"], event))
    return [*out, *decoder.finish()]


def _completed(**response: Any) -> dict[str, Any]:
    return {"type": "response.completed", "response": {"status": "completed", **response}}


def _stop(events: list[dict[str, Any]]) -> str:
    return next(event["messageStop"]["stopReason"] for event in events if "messageStop" in event)


def test_incomplete_status_inside_completed_is_max_tokens() -> None:
    """vLLM ends a max_output_tokens cut with response.completed whose status is incomplete."""
    events = _feed({"type": "response.output_text.delta", "delta": "Hi"},
                   _completed(status="incomplete", incomplete_details={"reason": "max_output_tokens"}))
    assert _stop(events) == "max_tokens"


def test_arguments_sent_only_in_done_are_used() -> None:
    events = _feed({"type": "response.output_item.added", "item": CALL},
                   {"type": "response.function_call_arguments.done", "item_id": "fc_1", "arguments": '{"city": "Oslo"}'},
                   _completed())
    inputs = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events
              if "toolUse" in e.get("contentBlockDelta", {}).get("delta", {})]
    assert inputs == ['{"city": "Oslo"}'] and _stop(events) == "tool_use"


def test_done_arguments_that_disagree_with_the_stream_raise() -> None:
    with pytest.raises(MalformedStreamError, match="not the final arguments"):
        _feed({"type": "response.output_item.added", "item": CALL},
              {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": '{"city": "Os'},
              {"type": "response.function_call_arguments.done", "item_id": "fc_1", "arguments": '{"city": "Rome"}'})


def test_arguments_for_an_unopened_item_raise() -> None:
    with pytest.raises(MalformedStreamError, match="no response.output_item.added"):
        _feed({"type": "response.function_call_arguments.delta", "item_id": "fc_9", "delta": "{}"})


def test_a_stream_without_a_terminal_event_is_truncated() -> None:
    with pytest.raises(TruncatedStreamError, match="without response.completed"):
        _feed({"type": "response.output_text.delta", "delta": "Hi"})


def test_tool_round_trip_becomes_call_and_output_items() -> None:
    items = format_input([
        {"role": "user", "content": [{"text": "Weather?"}]},
        {"role": "assistant", "content": [{"text": "Checking."},
                                          {"toolUse": {"toolUseId": "c1", "name": "get_weather", "input": {"city": "Oslo"}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "c1", "status": "success", "content": [{"text": "3 C"}]}}]},
    ])
    assert items == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
        {"type": "message", "role": "assistant", "content": "Checking."},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "3 C"},
    ]


def test_system_prompt_content_becomes_instructions() -> None:
    model = OpenAIResponsesModel(client_args={"base_url": "http://model.test/v1"}, model_id="m")
    request = model.format_request([{"role": "user", "content": [{"text": "hi"}]}],
                                   system_prompt_content=[{"text": "Be terse."}, {"cachePoint": {"type": "default"}},
                                                          {"text": "English."}])
    assert request["instructions"] == "Be terse.\nEnglish." and request["store"] is False


def test_schema_takes_the_provider_round_trip_and_rejects_a_call_without_id() -> None:
    from conformance.cases import CASES
    from conformance.schemas import schema_errors

    model = OpenAIResponsesModel(client_args={"base_url": "http://model.test/v1"}, model_id="m")
    kwargs = CASES["tool_result_round_trip"].stream_kwargs()
    body = model.format_request(kwargs["messages"], kwargs["tool_specs"], kwargs["system_prompt"])
    assert schema_errors("openai-responses.request.json", body) == []
    body["input"][1] = {key: value for key, value in body["input"][1].items() if key != "call_id"}
    assert schema_errors("openai-responses.request.json", body)
