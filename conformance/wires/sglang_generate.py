"""SGLang's native `/generate` (the endpoint RL training drives), streamed as server-sent events.

A raw-completion wire: the request carries the rendered prompt (`text`, or `input_ids`) and
`sampling_params`; each event carries everything generated so far (`text`, `output_ids`) and
`meta_info`, whose `finish_reason` is `{"type": "stop" | "length" | "abort"}` on the last event, with
the token counts. Tool calls are Hermes `<tool_call>` JSON inside the text, with no ids (results go
back in order). An error is `{"error": {"message"}}`, as the body or as an event of a 200 stream.

The prompt is read as ChatML with Hermes tools (the format of the reference provider and of
strands-sglang's default parser). Prompts sent as token ids are read through the suite's byte
vocabulary (id = byte value), the tokenizer the suite's SGLang factories use, so they read the same.
"""

from __future__ import annotations

import json
import re
from typing import Any

from strands.models import Model

from conformance.cases import text_request_case
from conformance.wires._lines import DONE, sse_payloads
from conformance.wires._reference import CLIENT_ARGS_TIMEOUT, ProviderEntry, named_params
from conformance.wires._types import (
    ExpectedToolCall, RequestMeaning, SentToolCall, SentToolResult, WireDecodeError, WireExpectation, WireFamily,
    json_object,
)
from conformance.wires.openai_chat import NO_CITATIONS, OPENAI_ONLY

__all__ = ["CHATML_MARKERS", "decode_sglang_generate", "prompt_text", "read_sglang_generate_request"]

# The suite's byte vocabulary: ids 0-255 are bytes, then these markers (conformance.upstream_sglang's tokenizer).
CHATML_MARKERS = ("<|im_start|>", "<|im_end|>")
_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
_TURN = re.compile(r"<\|im_start\|>(\w+)\n(.*?)(?:<\|im_end\|>|\Z)", re.DOTALL)
_RESPONSE = re.compile(r"<tool_response>\n?(.*?)\n?</tool_response>", re.DOTALL)
_TOOLS = re.compile(r"<tools>\n(.*?)\n</tools>", re.DOTALL)


def _split_generated(text: str, cut_by_length: bool) -> tuple[str, list[ExpectedToolCall]]:
    """The answer's text (each stretch's trailing whitespace dropped) and its closed Hermes calls. A call
    still open is text only when the token limit cut it (it never became a call); before the end it is
    not content yet."""
    pieces, calls, position = [], [], 0
    for match in _CALL.finditer(text):
        pieces.append(text[position:match.start()].rstrip())
        try:
            call = json.loads(match.group(1))
        except ValueError as exc:
            raise WireDecodeError(f"a <tool_call> does not hold JSON: {match.group(1)[:120]!r}") from exc
        arguments = call.get("arguments", {})
        calls.append(ExpectedToolCall(None, call.get("name"),
                                      arguments if isinstance(arguments, str)
                                      else json.dumps(arguments, ensure_ascii=False)))
        position = match.end()
    rest = text[position:]
    if not cut_by_length and "<tool_call>" in rest:
        rest = rest[:rest.index("<tool_call>")]
    pieces.append(rest.rstrip())
    return "".join(pieces), calls


def decode_sglang_generate(body: bytes) -> WireExpectation:
    """`/generate` events: the last text holds the whole answer; the last meta_info its finish and counts."""
    expectation = WireExpectation()
    text, meta = "", None
    for number, payload in sse_payloads(body):
        if payload is DONE:
            expectation.saw_done = True
            continue
        if "error" in payload:
            raise WireDecodeError(f"SSE line {number} carries an error: {json.dumps(payload)[:200]}")
        text, meta = payload.get("text") or "", payload.get("meta_info") or {}
    reason = (meta or {}).get("finish_reason")
    kind = reason.get("type") if isinstance(reason, dict) else reason
    if kind == "abort":
        raise WireDecodeError(f"the last event's finish_reason is abort (the server gave the request up): {reason}")
    expectation.text, expectation.tool_calls = _split_generated(text, cut_by_length=kind == "length")
    if reason is not None:
        expectation.finish_reason = kind
        prompt, completion = meta.get("prompt_tokens", 0), meta.get("completion_tokens", 0)
        expectation.usage = {"inputTokens": prompt, "outputTokens": completion, "totalTokens": prompt + completion}
        if meta.get("cached_tokens"):
            expectation.usage["cacheReadInputTokens"] = meta["cached_tokens"]
    return expectation


def prompt_text(body: dict[str, Any]) -> str:
    """The prompt a /generate body sends: `text`, or `input_ids` read through the byte vocabulary."""
    if isinstance(body.get("text"), str):
        return body["text"]
    ids = body.get("input_ids")
    if isinstance(ids, list) and all(isinstance(i, int) and 0 <= i < 256 + len(CHATML_MARKERS) for i in ids):
        pieces, run = [], bytearray()
        for token in ids:
            if token < 256:
                run.append(token)
            else:
                pieces.extend((run.decode("utf-8", errors="replace"), CHATML_MARKERS[token - 256]))
                run = bytearray()
        return "".join(pieces) + run.decode("utf-8", errors="replace")
    raise ValueError("a sglang-generate body carries its prompt as `text` or as `input_ids` of the suite's byte "
                     f"vocabulary (bytes 0-255, then {', '.join(CHATML_MARKERS)}); got keys {sorted(body)}")


def read_sglang_generate_request(body: Any) -> RequestMeaning:
    """Read a /generate body: its ChatML prompt (tools in the system turn, Hermes calls and results) and params."""
    body = json_object(body, "sglang-generate")
    meaning = RequestMeaning()
    turns = _TURN.findall(prompt_text(body))
    if turns and turns[-1] == ("assistant", ""):
        turns = turns[:-1]  # the turn opened for the answer
    system = [content for role, content in turns if role == "system"]
    meaning.system_messages = len(system)
    meaning.system_first = not system or turns[0][0] == "system"
    for content in system:
        tools = _TOOLS.search(content)
        for line in tools.group(1).splitlines() if tools else ():
            function = json.loads(line).get("function") or {}
            meaning.tools.append({"type": "function", "name": function.get("name"),
                                  "description": function.get("description"),
                                  "parameters": function.get("parameters")})
        text = content.split("# Tools\n", 1)[0].rstrip() if tools else content
        if text:
            meaning.system_text = text if meaning.system_text is None else f"{meaning.system_text}\n{text}"
    for role, content in turns:
        if role == "system":
            continue
        results = _RESPONSE.findall(content)
        meaning.roles.append("tool" if results and not _RESPONSE.sub("", content).strip() else role)
        for call in _CALL.findall(content):
            parsed = json.loads(call)
            # Hermes calls carry no id (the wire's carries_call_ids is False).
            meaning.tool_calls.append(SentToolCall(None, parsed.get("name"), parsed.get("arguments")))  # type: ignore
        for result in results:
            meaning.tool_results.append(SentToolResult(None, result))  # type: ignore[arg-type]
    meaning.streaming = body.get("stream") is True
    meaning.usage_requested = True  # meta_info always carries the counts
    sampling = body.get("sampling_params") or {}
    meaning.params = {name: sampling[key] for key, name in (("temperature", "temperature"), ("top_p", "top_p"),
                                                            ("max_new_tokens", "max_tokens")) if key in sampling}
    return meaning


EXTRA_CASES = (
    text_request_case("finish_abort", "meta_info finish_reason abort: the server gave the request up"),
    text_request_case("overflow_in_stream", "a prompt longer than the context, rejected inside a 200 stream"),
)

_NO_TOOL_CHOICE = "/generate takes a raw prompt: there is no tool_choice to send (the provider warns)"
_WHOLE_CALLS = "Hermes tool calls are read whole, from the text between their tags"
WIRE = WireFamily(
    name="sglang-generate", api_prefix="", decode=decode_sglang_generate, read_request=read_sglang_generate_request,
    carries_call_ids=False, description="SGLang native /generate (raw prompt in, cumulative text events out)",
    stop_reasons={"finish_stop": "end_turn", "finish_length": "max_tokens", "finish_length_in_tool_call": "max_tokens"},
    finish_words={"stop": "end_turn", "length": "max_tokens"},
    unsupported={
        **OPENAI_ONLY, **NO_CITATIONS,
        "finish_content_filter": "SGLang has no content filter finish_reason",
        "finish_null": "SGLang's last event always carries finish_reason (stop, length or abort)",
        "finish_unknown": "finish_reason.type is one of stop, length, abort (abort is finish_abort)",
        "finish_tool_calls": "SGLang's finish_reason is stop when the text holds tool calls (tool_single)",
        "finish_stop_with_tool_calls": "SGLang's finish_reason is stop when the text holds tool calls (tool_single)",
        "tool_split_arguments": _WHOLE_CALLS,
        "reasoning_content": "no reasoning decoding on this wire (a <think> section would be text)",
        "shape_tool_results": "Hermes <tool_response> blocks carry no call ids: results pair with calls by order",
        "shape_tool_choice_any": _NO_TOOL_CHOICE,
        "shape_tool_choice_named": _NO_TOOL_CHOICE,
        "error_429": "SGLang does not rate-limit (error_503 is its overload answer)",
        "usage_missing": "meta_info always carries prompt_tokens and completion_tokens (the cassette is the plain "
                         "answer the content cases replay)",
        "overflow_mid_stream": "SGLang checks the prompt before generating: overflow_in_stream is its in-stream form",
    },
    errors={"finish_abort": "failed", "overflow_in_stream": "context_overflow"},
    content={
        "image": ("refuse", "a text prompt has no place for images (SGLang's image_data is not rendered)"),
        "document": ("refuse", "a text prompt has no documents"),
        "reasoning": ("omit", "the model thinks afresh each turn: the prompt need not hold past reasoning"),
        "reasoning_unsigned": ("omit", "the model thinks afresh each turn: the prompt need not hold past reasoning"),
        "cache_point": ("omit", "a raw prompt has no cache marks: SGLang's radix cache shares prefixes itself"),
        "tool_result_image": ("refuse", "a Hermes <tool_response> holds text only"),
    },
    request_schema="sglang-generate.request.json",
)


def sglang_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", client_args: dict[str, Any] | None = None,
                   **config: Any) -> Model:
    from providers.sglang import SGLangModel

    return SGLangModel(base_url, client_args=client_args, model_id=model_id, **config)


PROVIDERS = (ProviderEntry("sglang", sglang_factory, (), named_params("temperature", "top_p"),
                           wire="sglang-generate", timeouts=CLIENT_ARGS_TIMEOUT),)
