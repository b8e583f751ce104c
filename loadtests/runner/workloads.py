"""Workloads (short chat, long prompt, tool call, structured output, multi-turn) and their bundled prompts.

Prompts come from a synthetic dataset built here from a fixed vocabulary of common English words,
each one token in the BPE tokenizers of the usual open models (a leading space plus a short common
word), so the input length is controlled without downloading a dataset or a tokenizer. The server's
usage still gives the exact count.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from typing import Any

from loadtests.client.chat_stream import StreamResult
from loadtests.client.nonconformance import schema_problem
from loadtests.runner.api_bodies import shape_body

VOCAB = tuple("""the of and to in is that it was for on are as with his they at be this have from or one had by
word but not what all were we when your can said there use an each which she do how their if will up other
about out many then them these so some her would make like him into time has look two more write go see
number no way could people my than first water been call who oil its now find long down day did get come made
may part over new sound take only little work know place year live me back give most very after thing our
just name good sentence man think say great where help through much before line right too mean old any same
tell boy follow came want show also around form three small set put end does another well large must big even
such because turn here why ask went men read need land different home us move try kind hand picture again
change off play spell air away animal house point page letter mother answer found study still learn should""".split())

WORKLOAD_NAMES = ("chat", "long", "tool", "json", "multiturn")

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 1},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}

BOOK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "year": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title", "year", "tags"],
    "additionalProperties": False,
}


def make_text(n_tokens: int, rng: random.Random) -> str:
    """n_tokens words of the vocabulary (about one token each)."""
    return " ".join(rng.choice(VOCAB) for _ in range(max(1, n_tokens)))


@dataclass(frozen=True)
class WireOptions:
    """What the server kind supports in the request body."""

    continuous_usage: bool = True  # vLLM's per-chunk usage
    token_ids: bool = False  # vLLM's `return_token_ids`
    ignore_eos: bool = True  # exact output lengths for plain text workloads (vLLM and llama.cpp)


@dataclass(frozen=True)
class WorkloadConfig:
    model: str
    prompt_tokens: int = 64
    long_prompt_tokens: int = 1024
    output_tokens: int = 64
    long_output_tokens: int = 32
    temperature: float = 0.0
    wire: WireOptions = field(default_factory=WireOptions)
    api: str = "chat"  # the request shape sent (api_bodies.shape_body)


@dataclass(frozen=True)
class WorkloadRequest:
    workload: str
    body: dict[str, Any]
    expect: str  # "text", "tool" or "json"
    schema: dict[str, Any] | None = None
    prompt_words: int = 0


def _body(cfg: WorkloadConfig, messages: list[dict[str, Any]], max_tokens: int, text: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": cfg.model, "messages": messages, "stream": True, "max_tokens": max_tokens,
                            "temperature": cfg.temperature,
                            "stream_options": {"include_usage": True}}
    if cfg.wire.continuous_usage:
        body["stream_options"]["continuous_usage_stats"] = True
    if cfg.wire.token_ids:
        body["return_token_ids"] = True
    if text and cfg.wire.ignore_eos:
        body["ignore_eos"] = True
    return body


def _tool_example() -> list[dict[str, Any]]:
    """A one-shot example of a call and its result: small models need it to call tools at all."""
    return [
        {"role": "user", "content": "What is the weather in Oslo in celsius?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_example", "type": "function", "function": {
            "name": "get_weather", "arguments": json.dumps({"city": "Oslo", "unit": "celsius"})}}]},
        {"role": "tool", "tool_call_id": "call_example", "content": json.dumps({"temperature": 4, "sky": "rain"})},
        {"role": "assistant", "content": "It is 4 degrees celsius and raining in Oslo."},
    ]


def build_request(workload: str, cfg: WorkloadConfig, rng: random.Random, prompt_tokens: int | None = None,
                  output_tokens: int | None = None) -> WorkloadRequest:
    """One request of a workload in the shape of `cfg.api`; prompt_tokens/output_tokens override the configured
    lengths (Neuron buckets)."""
    req = _chat_request(workload, cfg, rng, prompt_tokens, output_tokens)
    if cfg.api == "chat":
        return req
    return replace(req, body=shape_body(cfg.api, req.body))


def _chat_request(workload: str, cfg: WorkloadConfig, rng: random.Random, prompt_tokens: int | None,
                  output_tokens: int | None) -> WorkloadRequest:
    if workload == "chat":
        n = prompt_tokens or cfg.prompt_tokens
        msgs = [{"role": "user", "content": "Continue this text: " + make_text(n, rng)}]
        return WorkloadRequest("chat", _body(cfg, msgs, output_tokens or cfg.output_tokens, True), "text", None, n)
    if workload == "long":
        n = prompt_tokens or cfg.long_prompt_tokens
        msgs = [{"role": "system", "content": "You summarise documents in one sentence."},
                {"role": "user", "content": "Summarise: " + make_text(n, rng)}]
        return WorkloadRequest("long", _body(cfg, msgs, output_tokens or cfg.long_output_tokens, True), "text", None, n)
    if workload == "tool":
        city = rng.choice(("Paris", "Lima", "Tokyo", "Cairo", "Quito", "Perth"))
        msgs = _tool_example() + [{"role": "user", "content": f"What is the weather in {city} in celsius?"}]
        # A call needs room (about 40 tokens here): vLLM holds back a required call until its JSON parses,
        # so one cut at max_tokens streams no output at all.
        body = _body(cfg, msgs, max(output_tokens or cfg.output_tokens, 64), False)
        body["tools"] = [WEATHER_TOOL]
        body["tool_choice"] = "required"
        return WorkloadRequest("tool", body, "tool", WEATHER_TOOL["function"]["parameters"], 40)
    if workload == "json":
        msgs = [{"role": "user", "content": "Describe a made-up book as JSON with title, year and tags. "
                 + make_text((prompt_tokens or cfg.prompt_tokens) // 2, rng)}]
        body = _body(cfg, msgs, max(output_tokens or cfg.output_tokens, 64), False)
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "book", "schema": BOOK_SCHEMA, "strict": True}}
        return WorkloadRequest("json", body, "json", BOOK_SCHEMA, cfg.prompt_tokens // 2)
    if workload == "multiturn":
        city = rng.choice(("Rome", "Oslo", "Delhi", "Accra"))
        msgs = [
            {"role": "user", "content": f"What is the weather in {city} in celsius?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
                "name": "get_weather", "arguments": json.dumps({"city": city, "unit": "celsius"})}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": json.dumps({"temperature": rng.randint(-5, 35), "sky": "clear"})},
        ]
        body = _body(cfg, msgs, output_tokens or cfg.output_tokens // 2 or 16, False)
        body["tools"] = [WEATHER_TOOL]
        return WorkloadRequest("multiturn", body, "text", None, 60)
    raise ValueError(f"unknown workload {workload!r}; valid: {', '.join(WORKLOAD_NAMES)}")


def parse_mix(text: str) -> dict[str, float]:
    """`chat=5,tool=1` -> {"chat": 5.0, "tool": 1.0}; a clear ValueError on a bad entry."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.partition("=")
        name = name.strip()
        if name not in WORKLOAD_NAMES:
            raise ValueError(f"unknown workload {name!r} in --workload-mix {text!r}; valid: {', '.join(WORKLOAD_NAMES)}")
        try:
            value = float(weight) if sep else 1.0
        except ValueError:
            raise ValueError(f"weight {weight!r} of {name!r} in --workload-mix is not a number") from None
        if value < 0:
            raise ValueError(f"weight of {name!r} in --workload-mix must be >= 0, got {value}")
        mix[name] = value
    if not mix or sum(mix.values()) <= 0:
        raise ValueError(f"--workload-mix {text!r} selects no workload; e.g. chat=4,tool=1,json=1")
    return {k: v for k, v in mix.items() if v > 0}


def validate_output(req: WorkloadRequest, res: StreamResult) -> tuple[bool | None, str | None]:
    """Check a tool call or structured output against its schema: (valid, why not); (None, None) for text."""
    if req.expect == "tool":
        if not res.tool_calls:
            return False, f"no tool call streamed (finish_reason={res.finish_reason!r}, text={res.text[:60]!r})"
        call = res.tool_calls[0]
        if call.name != "get_weather":
            return False, f"called {call.name!r}, expected 'get_weather'"
        try:
            args = json.loads(call.arguments)
        except ValueError:
            return False, f"arguments are not JSON: {call.arguments[:80]!r}"
        return _check(args, req.schema)
    if req.expect == "json":
        try:
            value = json.loads(res.text)
        except ValueError:
            return False, f"output is not JSON: {res.text[:80]!r}"
        return _check(value, req.schema)
    return None, None


def _check(value: Any, schema: dict[str, Any] | None) -> tuple[bool, str | None]:
    problem = schema_problem(value, schema)
    return problem is None, problem
