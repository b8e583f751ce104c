"""GeminiModel details no conformance check looks at: thought signatures kept and sent back, ids made unique,
the request's Gemini spelling, and errors inside the stream."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from strands.event_loop.streaming import process_stream
from strands.types.exceptions import ModelThrottledException

from conformance.written.gemini import SIGNATURE, USAGE, call, g, g_event, text, with_id
from providers.gemini import GeminiModel
from tests.providers.wire import USER

BASE = "http://gemini.test"
URL = f"{BASE}/v1beta/models/gemini-2.5-flash:streamGenerateContent"


def model(**config: Any) -> GeminiModel:
    return GeminiModel(client_args={"api_key": "k", "http_options": {"base_url": BASE}}, model_id="gemini-2.5-flash",
                       **config)


def answer(*events: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"".join(events))


async def message_of(events: list[bytes], **kwargs: Any) -> tuple[dict[str, Any], respx.Route]:
    """The assistant message Strands' own event loop builds from the answer, and the route that served it."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL).mock(return_value=answer(*events))
        last: dict[str, Any] = {}
        async for last in process_stream(model().stream(USER, **kwargs)):
            pass
    return last["stop"][1], route


async def test_a_call_keeps_its_thought_signature_and_sends_it_back() -> None:
    events = [g(text("Tokyo's weather, then.", thought=True)),
              g(call("get_weather", {"city": "Tokyo"}, thoughtSignature=SIGNATURE), finish="STOP", usage=USAGE)]
    message, route = await message_of(events)
    (use,) = [block["toolUse"] for block in message["content"] if "toolUse" in block]
    assert use["reasoningSignature"] == SIGNATURE
    assert route.calls.last.request.headers["x-goog-api-key"] == "k"
    assert route.calls.last.request.url.params["alt"] == "sse"
    body = model().format_request([*USER, message])
    sent = [part for part in body["contents"][-1]["parts"] if "functionCall" in part]
    assert sent == [{"functionCall": {"id": use["toolUseId"], "name": "get_weather", "args": {"city": "Tokyo"}},
                     "thoughtSignature": SIGNATURE}]


async def test_signature_on_a_text_part_becomes_signed_reasoning() -> None:
    message, _ = await message_of([g(text("Hi", thoughtSignature=SIGNATURE), finish="STOP", usage=USAGE)])
    reasoning = [block["reasoningContent"] for block in message["content"] if "reasoningContent" in block]
    assert reasoning == [{"reasoningText": {"text": "", "signature": SIGNATURE}}]


async def test_same_function_with_empty_or_repeated_ids_gets_distinct_ids() -> None:
    events = [g(with_id("", "get_weather", {"city": "Oslo"}), with_id("", "get_weather", {"city": "Rome"}),
                with_id("dup", "get_weather", {"city": "Paris"}), with_id("dup", "get_weather", {"city": "Lima"}),
                finish="STOP", usage=USAGE)]
    message, _ = await message_of(events)
    ids = [block["toolUse"]["toolUseId"] for block in message["content"] if "toolUse" in block]
    assert len(ids) == 4 and len(set(ids)) == 4 and all(ids) and ids[2] == "dup", ids


def test_request_in_gemini_spelling() -> None:
    configured = model(params={"max_output_tokens": 64, "temperature": 0.2,
                               "thinking_config": {"include_thoughts": True},
                               "response_json_schema": {"properties": {"snake_case": {"type": "string"}}},
                               "safety_settings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]})
    tool = {"name": "get_weather", "description": "Weather.", "inputSchema": {"json": {"type": "object"}}}
    body = configured.format_request(USER, [tool], None, {"tool": {"name": "get_weather"}},
                                     [{"text": "Be terse."}, {"text": "English."}])
    assert body["systemInstruction"] == {"parts": [{"text": "Be terse.\nEnglish."}]}
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert body["generationConfig"] == {"maxOutputTokens": 64, "temperature": 0.2,
                                        "thinkingConfig": {"includeThoughts": True},
                                        "responseJsonSchema": {"properties": {"snake_case": {"type": "string"}}}}
    assert body["safetySettings"] == [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]
    assert body["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather.", "parametersJsonSchema": {"type": "object"}}]}]


async def test_resource_exhausted_inside_the_stream_is_throttling() -> None:
    error = g_event({"error": {"code": 429, "message": "Resource has been exhausted.", "status": "RESOURCE_EXHAUSTED"}})
    with pytest.raises(ModelThrottledException, match="exhausted"):
        await message_of([g(text("Hel")), error])


async def test_usage_counts_thoughts_as_output_and_the_cache_inside_the_prompt() -> None:
    usage = {"promptTokenCount": 100, "cachedContentTokenCount": 60, "candidatesTokenCount": 5,
             "thoughtsTokenCount": 20, "toolUsePromptTokenCount": 3, "totalTokenCount": 128}
    with respx.mock() as mock:
        mock.post(URL).mock(return_value=answer(g(text("Hi"), finish="STOP", usage=usage)))
        events = [event async for event in model().stream(USER)]
    assert events[-1]["metadata"]["usage"] == {"inputTokens": 103, "outputTokens": 25, "totalTokens": 128,
                                               "cacheReadInputTokens": 60}
