"""The wires' request schemas: each names its source and date, accepts a plain body, and rejects the bodies
vendors reject (an assistant turn of tool calls only sent with `content: []`, a content block with two kinds)."""

from __future__ import annotations

import json
import re

import pytest

from conformance.schemas import SCHEMA_DIR, schema_errors
from conformance.wires import REFERENCE_PROVIDERS, get_wire

CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
CHAT = {"model": "m", "stream": True, "messages": [
    {"role": "user", "content": "Weather?"}, {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_1", "content": "3 C"}]}
ANTHROPIC = {"model": "m", "max_tokens": 8, "messages": [
    {"role": "user", "content": "Weather?"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "3 C"}]}]}
BEDROCK = {"messages": [
    {"role": "user", "content": [{"text": "Weather?"}]},
    {"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {}}}]},
    {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "3 C"}]}}]}]}
OLLAMA = {"model": "m", "messages": [
    {"role": "user", "content": "Weather?"},
    {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {}}}]},
    {"role": "tool", "content": "3 C", "tool_name": "get_weather"}]}
GEMINI = {"contents": [
    {"role": "user", "parts": [{"text": "Weather?"}]},
    {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]},
    {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"output": "3 C"}}}]}]}
RESPONSES = {"model": "m", "stream": True, "input": [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
    {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "call_1", "output": "3 C"}]}
# Bodies made of turns (an assistant turn holds its tool calls); Responses calls are items of their own,
# and a raw prompt has no turns to leave empty.
TURN_VALID = {"openai-chat.request.json": CHAT, "mistral.request.json": CHAT, "anthropic.request.json": ANTHROPIC,
              "bedrock-converse.request.json": BEDROCK, "ollama.request.json": OLLAMA, "gemini.request.json": GEMINI,
              "sagemaker.request.json": CHAT}
# SGLang's /generate takes the rendered prompt: the round trip is inside its text.
SGLANG = {"text": "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", "
                  "\"arguments\": {}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n3 C\n</tool_response>"
                  "<|im_end|>\n<|im_start|>assistant\n", "sampling_params": {"max_new_tokens": 8}, "stream": True}
VALID = {**TURN_VALID, "openai-responses.request.json": RESPONSES, "sglang-generate.request.json": SGLANG}
# Where a body keeps its turns and a turn its content, when not in `messages` and `content`.
TURNS = {"gemini.request.json": ("contents", "parts")}


def _with_assistant_content(body: dict, content: object, name: str = "") -> dict:
    turns, field = TURNS.get(name, ("messages", "content"))
    messages = [dict(message) for message in body[turns]]
    messages[1][field] = content
    return {**body, turns: messages}


# Wires whose request bodies are not validated yet, with the reason.
WITHOUT_SCHEMA = {"llama-api": "the Llama API's own published chat schema is not kept here yet"}


# The wires of the reference providers: other tests of this session may register wires of their own.
REFERENCE_WIRES = sorted({entry.wire for entry in REFERENCE_PROVIDERS.values()})


def test_every_wire_names_a_schema_file() -> None:
    missing = sorted(name for name in REFERENCE_WIRES if get_wire(name).request_schema is None)
    assert missing == sorted(WITHOUT_SCHEMA), missing
    names = {get_wire(name).request_schema for name in REFERENCE_WIRES} - {None}
    assert names == set(VALID) == {path.name for path in SCHEMA_DIR.glob("*.json")}


@pytest.mark.parametrize("name", sorted(VALID))
def test_schema_names_its_source_and_date(name: str) -> None:
    comment = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))["$comment"]
    assert re.search(r"https://\S+", comment) and re.search(r"\d{4}-\d{2}-\d{2}", comment), comment


@pytest.mark.parametrize("name", sorted(VALID))
def test_schema_accepts_a_tool_round_trip(name: str) -> None:
    assert schema_errors(name, VALID[name]) == []


@pytest.mark.parametrize("name", sorted(TURN_VALID))
def test_schema_rejects_empty_content_on_a_tool_call_turn(name: str) -> None:
    problems = schema_errors(name, _with_assistant_content(VALID[name], [], name))
    turns = TURNS.get(name, ("messages",))[0]
    assert problems and all(problem.startswith(f"at /{turns}/1") for problem in problems), problems


def test_bedrock_content_block_is_one_kind() -> None:
    both = _with_assistant_content(BEDROCK, [{"text": "Checking.", "toolUse": BEDROCK["messages"][1]["content"][0]["toolUse"]}])
    assert schema_errors("bedrock-converse.request.json", both)
