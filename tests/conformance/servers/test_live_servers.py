"""Smoke tests of the real llama.cpp and vLLM servers: the features the conformance suite relies on.

Plain httpx on purpose, so a failure here points at the server or its provisioning, not at our
providers. Each request opens a new connection: llama.cpp sometimes drops a keep-alive connection
reused after a streamed response.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import httpx
import jsonschema
import pytest

from conformance.servers import SERVER_NAMES, RunningServer

pytestmark = [pytest.mark.live, pytest.mark.parametrize("conformance_live_server", SERVER_NAMES, indirect=True)]

TIMEOUT = httpx.Timeout(120.0, connect=5.0)

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "the city name"}},
    "required": ["city"],
    "additionalProperties": False,
}


def weather_tool(strict: bool) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": WEATHER_PARAMETERS,
    }
    if strict:
        function["strict"] = True
    return {"type": "function", "function": function}


def earlier_weather_call(call_id: str, city: str) -> list[dict[str, Any]]:
    """An earlier question answered by a tool call. Without results after the calls: SmolLM2
    imitates a <tool_response> turn when one follows, and llama.cpp's "required" grammar lets free
    text come before the call, so the reply would run out of tokens before calling."""
    return [
        {"role": "user", "content": f"What is the weather in {city}?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call_id, "type": "function",
                 "function": {"name": "get_weather", "arguments": json.dumps({"city": city})}}
            ],
        },
    ]


def stream_chat(server: RunningServer, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """POST a streamed chat completion and yield each decoded SSE data payload until [DONE]."""
    request = {"model": server.model_id, "stream": True, **body}
    with httpx.stream("POST", f"{server.base_url}/v1/chat/completions", json=request, timeout=TIMEOUT) as response:
        if response.status_code != 200:
            response.read()
            raise AssertionError(f"HTTP {response.status_code} from {server.name}: {response.text[:500]}")
        done = False
        for line in response.iter_lines():
            if not line.startswith("data:"):
                assert line == "" or line.startswith(":"), f"unexpected SSE line from {server.name}: {line!r}"
                continue
            data = line[len("data:"):].strip()
            if data == "[DONE]":
                done = True
                break
            yield json.loads(data)
        assert done, f"{server.name} closed the stream without data: [DONE]"


def test_streamed_chat_reports_usage(conformance_live_server: RunningServer) -> None:
    chunks = list(
        stream_chat(
            conformance_live_server,
            {
                "messages": [{"role": "user", "content": "Name three colours."}],
                "max_tokens": 24,
                "stream_options": {"include_usage": True},
            },
        )
    )
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c.get("choices") and c["choices"][0].get("finish_reason")]
    usage_chunks = [c for c in chunks if c.get("usage")]
    assert text.strip(), f"no text streamed: {chunks}"
    assert finishes in (["stop"], ["length"]), f"expected one finish reason, got {finishes}"
    assert len(usage_chunks) == 1, f"expected one usage chunk, got {usage_chunks}"
    usage = usage_chunks[0]["usage"]
    assert usage_chunks[0] is chunks[-1] and chunks[-1]["choices"] == [], "the usage chunk must come last, without choices"
    assert usage["prompt_tokens"] > 0 and 0 < usage["completion_tokens"] <= 24
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_required_tool_call_streams_tool_call_deltas(conformance_live_server: RunningServer) -> None:
    if conformance_live_server.name == "llamacpp":
        # llama.cpp's small-model path needs examples of earlier calls; a named tool_choice is ignored.
        history = earlier_weather_call("call_1", "Paris") + earlier_weather_call("call_2", "Oslo")
        tool = weather_tool(strict=False)
    else:
        # vLLM constrains the arguments to the schema only for a strict tool.
        history = []
        tool = weather_tool(strict=True)
    chunks = list(
        stream_chat(
            conformance_live_server,
            {
                "messages": [*history, {"role": "user", "content": "What is the weather in Tokyo?"}],
                "tools": [tool],
                "tool_choice": "required",
                "max_tokens": 64,
            },
        )
    )
    deltas = [tc for c in chunks if c.get("choices") for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c.get("choices") and c["choices"][0].get("finish_reason")]
    assert deltas, f"no tool_calls deltas streamed: {chunks}"
    assert finishes == ["tool_calls"], f"expected finish reason tool_calls, got {finishes}"
    first = deltas[0]
    assert first["index"] == 0 and first.get("id") and first["function"]["name"] == "get_weather", first
    arguments = "".join(d["function"].get("arguments") or "" for d in deltas if d["index"] == 0)
    jsonschema.validate(json.loads(arguments), WEATHER_PARAMETERS)


def test_json_schema_response_format_is_enforced(conformance_live_server: RunningServer) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 40}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    response = httpx.post(
        f"{conformance_live_server.base_url}/v1/chat/completions",
        json={
            "model": conformance_live_server.model_id,
            "messages": [{"role": "user", "content": "Invent a person. Reply in JSON with a name and an age."}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}},
            "max_tokens": 120,
            "temperature": 0,
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "stop", choice
    jsonschema.validate(json.loads(choice["message"]["content"]), schema)


def test_prompt_over_the_context_window_is_http_400(conformance_live_server: RunningServer) -> None:
    response = httpx.post(
        f"{conformance_live_server.base_url}/v1/chat/completions",
        json={
            "model": conformance_live_server.model_id,
            "messages": [{"role": "user", "content": "hello " * 9000}],
            "max_tokens": 8,
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 400, f"{response.status_code}: {response.text[:300]}"
    error = response.json()["error"]
    assert "context" in error["message"].lower(), error
