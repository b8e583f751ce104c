"""The cases the checks run: Strands-level inputs, wire-independent, with per-server live recipes.

A case is what the provider is asked (messages, tools, tool choice, system prompt, request
parameters). The same case runs in replay (against the cassettes `<case>.<variant>.json` of the
selected wire) and live. A 135M model only does some things when nudged, so a case carries, per live
server kind, the overrides that make it happen there (a two-shot history of tool calls on
llama.cpp, `tool_choice` any on vLLM) and, when nothing can, the reason it cannot run live there.
A recorded cassette `<case>.<server>.json` was recorded with that server's recipe, and its replay
uses the same recipe, so the request the provider sends in replay equals the recorded one.

This module holds the cases every wire shares (`CORE_CASES`); a wire module adds the cases only it
has. `CASES`, all of them, is built by the wire registry (`conformance.wires`) when first read, so
importing this module never imports the wire modules and they can import it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CASES",
    "CORE_CASES",
    "Case",
    "SERVER_KINDS",
    "TIME_TOOL",
    "WEATHER_TOOL",
    "get_case",
    "text_request_case",
    "tool_request_case",
]

SERVER_KINDS = ("vllm", "llamacpp")

WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "inputSchema": {
        "json": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        }
    },
}
TIME_TOOL: dict[str, Any] = {
    "name": "get_time",
    "description": "Get the current UTC time. Takes no arguments.",
    "inputSchema": {"json": {"type": "object", "properties": {}}},
}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"text": text}]}


def tool_use(tool_use_id: str, name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"toolUse": {"toolUseId": tool_use_id, "name": name, "input": tool_input}}]}


def tool_result(tool_use_id: str, text: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [{"toolResult": {"toolUseId": tool_use_id, "status": "success", "content": [{"text": text}]}}],
    }


# Two earlier tool calls in the history: what makes llama.cpp's Qwen template elicit real tool_calls.
TWO_SHOT_TOOL_HISTORY = [
    user("What is the weather in Paris?"),
    tool_use("call_paris01", "get_weather", {"city": "Paris"}),
    tool_result("call_paris01", "18 C, sunny"),
    assistant("It is 18 C and sunny in Paris."),
    user("What is the weather in Rome?"),
    tool_use("call_rome0001", "get_weather", {"city": "Rome"}),
    tool_result("call_rome0001", "22 C, clear"),
    assistant("It is 22 C and clear in Rome."),
]
ROUND_TRIP_HISTORY = [
    user("What is the weather in Oslo?"),
    tool_use("call_oslo0001", "get_weather", {"city": "Oslo"}),
    tool_result("call_oslo0001", "3 C, light snow"),
]
# Request content: every block a Strands user can send beyond text and tools, in a history answered by text.
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
RADAR = {"image": {"format": "png", "source": {"bytes": PNG_BYTES}}}
REPORT_JSON = {"city": "Oslo", "celsius": 3, "sky": "light snow"}


def _asked_after(*blocks: dict[str, Any], role: str = "user") -> tuple[dict[str, Any], ...]:
    """A history holding `blocks` in one `role` turn, then the question the text answer replies to."""
    if role == "user":
        return ({"role": "user", "content": [{"text": "Look at this."}, *blocks]},)
    return (user("Think first, then greet."), {"role": "assistant", "content": [*blocks, {"text": "Hello."}]},
            user("Say hello to the conformance suite in one short sentence."))


def _result_history(*content: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return (*ROUND_TRIP_HISTORY[:2], {"role": "user", "content": [
        {"toolResult": {"toolUseId": "call_oslo0001", "status": "success", "content": list(content)}}]})


_REASONING = "The user wants a greeting."
CONTENT_MESSAGES: dict[str, tuple[dict[str, Any], ...]] = {
    "image": _asked_after(RADAR),
    "document": _asked_after({"document": {"format": "pdf", "name": "report", "source": {"bytes": PDF_BYTES}}}),
    "reasoning": _asked_after({"reasoningContent": {"reasoningText": {"text": _REASONING, "signature": "c2lnbmVk"}}},
                              role="assistant"),
    "reasoning_unsigned": _asked_after({"reasoningContent": {"reasoningText": {"text": _REASONING}}}, role="assistant"),
    "cache_point": _asked_after({"cachePoint": {"type": "default"}}),
    "tool_result_image": _result_history({"text": "radar image"}, RADAR),
    "citations": _asked_after({"citationsContent": {
        "citations": [{"title": "report", "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 5}},
                       "sourceContent": [{"text": "Hello"}]}],
        "content": [{"text": "Hello, as the report says."}]}}, role="assistant"),
}
SAME_TOOL_TWICE_HISTORY = (
    user("What is the weather in Oslo and in Rome?"),
    {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "call_oslo0001", "name": "get_weather", "input": {"city": "Oslo"}}},
        {"toolUse": {"toolUseId": "call_rome0001", "name": "get_weather", "input": {"city": "Rome"}}}]},
    {"role": "user", "content": [
        {"toolResult": {"toolUseId": "call_oslo0001", "status": "success", "content": [{"text": "3 C, light snow"}]}},
        {"toolResult": {"toolUseId": "call_rome0001", "status": "success", "content": [{"text": "22 C, clear"}]}}]},
)
# Far over both servers' context (llama.cpp -c 4096, vLLM --max-model-len 2048).
OVERFLOW_PROMPT = "Repeat after me: " + "lorem ipsum dolor sit amet " * 1800


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    messages: tuple[dict[str, Any], ...]
    tool_specs: tuple[dict[str, Any], ...] | None = None
    system_prompt: str | None = None
    system_prompt_content: tuple[dict[str, Any], ...] | None = None
    tool_choice: dict[str, Any] | None = None
    # Request parameters; every case is bounded, since a 135M model under guided decoding can ramble.
    params: Mapping[str, Any] = field(default_factory=lambda: {"max_tokens": 96, "temperature": 0.0})
    # Cassette case to replay when it is not `name` (request-shape cases reuse a text answer).
    cassette: str | None = None
    # server kind -> field overrides for live runs there; a server absent here cannot run the case.
    live: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    not_live_reason: str = "a wire quirk no local server produces: replayed from a written cassette only"
    # Live: the case needs the model to call a tool; when a 135M model answers text instead, the check
    # is marked xfail with that reason (never silently passed or skipped).
    expects_tool_call: bool = False

    @property
    def cassette_case(self) -> str:
        return self.cassette or self.name

    def for_server(self, server: str | None) -> Case:
        """The case as sent to (or recorded from) `server`; None or a written variant: as declared."""
        overrides = self.live.get(server or "", {})
        return dataclasses.replace(self, **overrides) if overrides else self

    def stream_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "messages": [dict(message) for message in self.messages],
            "tool_specs": [dict(spec) for spec in self.tool_specs] if self.tool_specs is not None else None,
            "system_prompt": self.system_prompt,
        }
        if self.tool_choice is not None:
            kwargs["tool_choice"] = self.tool_choice
        if self.system_prompt_content is not None:
            kwargs["system_prompt_content"] = [dict(block) for block in self.system_prompt_content]
        return kwargs


ANY_SERVER: dict[str, dict[str, Any]] = {"vllm": {}, "llamacpp": {}}
# vLLM: under "required" without a per-tool "strict" (which Strands tool specs cannot carry) the 135M model
# rambles inside the arguments until max_tokens; a regex forcing one hermes <tool_call> block under "auto"
# drives vLLM's real tool parser instead.
VLLM_FORCED_TOOL_CALL = (
    '<tool_call>\n\\{"name": "get_weather", "arguments": \\{"city": "[A-Z][a-z]{2,12}"\\}\\}\n</tool_call>'
)
TOOL_CALL_LIVE: dict[str, dict[str, Any]] = {
    "vllm": {"tool_choice": None,
             "params": {"max_tokens": 96, "temperature": 0.0, "structured_outputs": {"regex": VLLM_FORCED_TOOL_CALL}}},
    "llamacpp": {
        "messages": (*TWO_SHOT_TOOL_HISTORY, user("What is the weather in Tokyo?")),
        "tool_choice": {"any": {}},
    },
}

# Request-shape cases only judge the request: the answer may be cut short.
SHAPE_ONLY_LIVE: dict[str, dict[str, Any]] = {
    "vllm": {"params": {"max_tokens": 16, "temperature": 0.0}},
    "llamacpp": {"params": {"max_tokens": 16, "temperature": 0.0}},
}

_CONTENT_NOT_LIVE = "a request-content case: judged on the request, replayed only (the local 135M model reads no images)"
_TEXT = (user("Say hello to the conformance suite in one short sentence."),)
_WEATHER_QUESTION = (user("What is the weather in Tokyo?"),)


def _text_case(name: str, title: str, **extra: Any) -> Case:
    return Case(name, title, _TEXT, params={"max_tokens": 24, "temperature": 0.0}, live=ANY_SERVER, **extra)


def _tool_case(name: str, title: str, **extra: Any) -> Case:
    return Case(name, title, _WEATHER_QUESTION, tool_specs=(WEATHER_TOOL,), **extra)


_CASE_LIST = [
    # Plain text and the stop table.
    _text_case("text_basic", "a short streamed text answer"),
    Case("text_multibyte_split", "text with chunk boundaries inside multi-byte characters", _TEXT),
    Case("usage_missing", "a server that ignores stream_options and sends no usage chunk", _TEXT),
    Case("usage_cached", "a prompt partly read from and partly written to the server's cache", _TEXT),
    Case("finish_stop", "finish_reason stop", _TEXT, params={"max_tokens": 48, "temperature": 0.0}, live=ANY_SERVER),
    Case("finish_length", "finish_reason length (max_tokens reached)", _TEXT,
         params={"max_tokens": 3, "temperature": 0.0}, live=ANY_SERVER),
    Case("finish_content_filter", "finish_reason content_filter", _TEXT),
    Case("finish_null", "no finish_reason at all, then [DONE]", _TEXT),
    Case("finish_unknown", "a finish_reason outside the published set", _TEXT),
    _tool_case("finish_tool_calls", "finish_reason tool_calls", live=TOOL_CALL_LIVE, expects_tool_call=True),
    _tool_case("finish_function_call", "legacy finish_reason function_call with a tool call"),
    _tool_case("finish_stop_with_tool_calls", "tool calls present but finish_reason stop"),
    _tool_case("finish_length_in_tool_call", "a tool call cut off by finish_reason length"),
    # Tool calls.
    _tool_case("tool_single", "one streamed tool call", live=TOOL_CALL_LIVE, expects_tool_call=True),
    _tool_case("tool_parallel", "two tool calls at indexes 0 and 1, one after the other"),
    _tool_case("tool_parallel_interleaved", "two tool calls whose argument deltas interleave"),
    _tool_case("tool_parallel_same_index", "two tool calls both at index 0, told apart by their ids"),
    _tool_case("tool_late_id", "a tool call whose id and name arrive after its first arguments"),
    _tool_case("tool_split_arguments", "arguments split into one- and two-character pieces, escapes included"),
    _tool_case("tool_split_multibyte", "arguments split inside a multi-byte character at the byte level"),
    Case("tool_zero_args", "a zero-argument tool called with empty arguments",
         (user("What time is it?"),), tool_specs=(TIME_TOOL,)),
    Case("tool_result_round_trip", "a tool result sent back, answered with text",
         ROUND_TRIP_HISTORY, tool_specs=(WEATHER_TOOL,), params={"max_tokens": 32, "temperature": 0.0},
         live=ANY_SERVER),
    # Reasoning.
    Case("reasoning_content", "reasoning streamed in delta.reasoning_content (llama.cpp, older vLLM)", _TEXT),
    Case("reasoning_field", "reasoning streamed in delta.reasoning (vLLM >= 0.10)", _TEXT),
    # Errors.
    Case("error_429", "HTTP 429 rate limit", _TEXT),
    Case("error_503", "HTTP 503 service unavailable", _TEXT),
    Case("overflow_before_stream", "context overflow: HTTP 400 before the stream starts",
         (user(OVERFLOW_PROMPT),), params={"max_tokens": 8}, live=ANY_SERVER),
    Case("overflow_openai_code", "context overflow in OpenAI's wording (code context_length_exceeded)", _TEXT),
    Case("overflow_mid_stream", "context overflow reported inside the SSE stream after some text", _TEXT),
    Case("truncated_stream", "the stream ends with no finish_reason and no [DONE]", _TEXT),
    Case("malformed_line", "an SSE data line that is not JSON", _TEXT),
    Case("connection_closed", "the server drops the connection mid-stream", _TEXT),
    # Request shape: what the provider sends (the answer is any text).
    _tool_case("shape_tools", "tool specs sent as function tools, tool_choice auto",
               tool_choice={"auto": {}}, cassette="text_basic", live=ANY_SERVER,
               params={"max_tokens": 24, "temperature": 0.0}),
    _tool_case("shape_tool_choice_any", "tool_choice any sent as required",
               tool_choice={"any": {}}, cassette="tool_single", live=SHAPE_ONLY_LIVE),
    _tool_case("shape_tool_choice_named", "tool_choice naming one tool",
               tool_choice={"tool": {"name": "get_weather"}}, cassette="tool_single", live=SHAPE_ONLY_LIVE),
    Case("shape_system_prompt", "a plain system prompt", _TEXT, system_prompt="You are terse.",
         cassette="text_basic", live=ANY_SERVER, params={"max_tokens": 24, "temperature": 0.0}),
    Case("shape_system_prompt_content", "system_prompt_content blocks", _TEXT,
         system_prompt_content=({"text": "You are terse."}, {"text": "Answer in English."}),
         cassette="text_basic", live=ANY_SERVER, params={"max_tokens": 24, "temperature": 0.0}),
    Case("shape_tool_results", "tool results sent back with the ids of their calls", ROUND_TRIP_HISTORY,
         tool_specs=(WEATHER_TOOL,), cassette="tool_result_round_trip", live=ANY_SERVER,
         params={"max_tokens": 32, "temperature": 0.0}),
    # Request content: each block in a history the replayed text (or post-tool-result) answer follows.
    *(Case(f"content_{kind}", f"a {kind.replace('_', ' ')} block in the history", messages,
           tool_specs=(WEATHER_TOOL,) if kind.startswith("tool_result") else None,
           # one written text answer per wire (no usage: these judge the request) keeps the matrix small
           cassette="tool_result_round_trip" if kind.startswith("tool_result") else "usage_missing",
           not_live_reason=_CONTENT_NOT_LIVE) for kind, messages in CONTENT_MESSAGES.items()),
    Case("content_tool_result_json", "a tool result holding JSON", _result_history({"json": REPORT_JSON}),
         tool_specs=(WEATHER_TOOL,), cassette="tool_result_round_trip", not_live_reason=_CONTENT_NOT_LIVE),
    Case("content_same_tool_twice", "one assistant turn calling the same tool twice, both results sent back",
         SAME_TOOL_TWICE_HISTORY, tool_specs=(WEATHER_TOOL,), cassette="tool_result_round_trip",
         not_live_reason=_CONTENT_NOT_LIVE),
    # Structured output and end to end (driven by the checks, not by stream kwargs alone).
    Case("structured_output", "the provider's structured_output", (user("Weather in Tokyo as JSON: city and celsius."),),
         params={"max_tokens": 64, "temperature": 0.0}, live=ANY_SERVER),
    Case("agent_structured_output", "strands.Agent(structured_output_model=...)",
         (user("Reply with one word: Tokyo."),), params={"max_tokens": 48, "temperature": 0.0}, live=ANY_SERVER),
    Case("agent_tool_loop", "a real strands.Agent with a real @tool over two turns", _WEATHER_QUESTION,
         tool_specs=(WEATHER_TOOL,), params={"max_tokens": 64, "temperature": 0.0},
         live={"llamacpp": {"messages": (*TWO_SHOT_TOOL_HISTORY, user("What is the weather in Tokyo?"))}},
         not_live_reason="the 135M model never calls a tool on its own under tool_choice auto on vLLM, "
         "and an Agent sends no tool_choice", expects_tool_call=True),
]
CORE_CASES: dict[str, Case] = {case.name: case for case in _CASE_LIST}
assert len(CORE_CASES) == len(_CASE_LIST), "duplicate case names"


# Wire-only cases ask what the plain text or tool case asks; the quirk is in the cassette's answer.
def text_request_case(name: str, title: str, cassette: str | None = None) -> Case:
    return Case(name, title, _TEXT, params={"max_tokens": 24, "temperature": 0.0}, cassette=cassette)


def tool_request_case(name: str, title: str, cassette: str | None = None) -> Case:
    return _tool_case(name, title, cassette=cassette)


def _all_cases() -> dict[str, Case]:
    from conformance.wires import ALL_CASES

    return ALL_CASES


def __getattr__(name: str) -> dict[str, Case]:
    if name == "CASES":  # every case, the wire modules' own included
        return _all_cases()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_case(name: str) -> Case:
    cases = _all_cases()
    try:
        return cases[name]
    except KeyError:
        raise KeyError(f"unknown case {name!r}; known: {', '.join(sorted(cases))}") from None
