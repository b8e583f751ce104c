"""What the wire bytes say, decoded independently of any provider: the checks' expected values.

The suite does not hard-code what a cassette contains. A wire family registers a reference decoder
that reads the exact response bytes (from the cassette in replay, from the capture live) into a
`WireExpectation`: the text, the reasoning, the tool calls and the finish reason the server sent.
A check then compares the provider's assembled stream with it, so the same assertion holds for a
written quirk, a recording, and a live run. The decoders are deliberately plain and strict: a byte
they cannot read is an error in the cassette, not something to skip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ExpectedToolCall", "WireExpectation", "WireDecodeError", "decode_openai_chat"]


class WireDecodeError(ValueError):
    """The reference decoder could not read the bytes (a broken cassette or a non-conforming server)."""


@dataclass
class ExpectedToolCall:
    call_id: str | None
    name: str | None
    arguments: str = ""

    @property
    def input(self) -> Any:
        return json.loads(self.arguments) if self.arguments.strip() else {}


@dataclass
class WireExpectation:
    text: str = ""
    reasoning: str = ""
    tool_calls: list[ExpectedToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, int] | None = None  # Strands names: inputTokens, outputTokens, totalTokens
    # other readings of the same counts that Strands' own providers use (Anthropic's input_tokens
    # without the cached share, which strands' AnthropicModel reports as inputTokens)
    usage_also: list[dict[str, int]] = field(default_factory=list)
    saw_done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def decode_openai_chat(body: bytes) -> WireExpectation:
    """Read an OpenAI chat-completions SSE body (one choice) into what a provider must reproduce."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireDecodeError(f"SSE body is not UTF-8 at byte {exc.start}") from exc
    expectation = WireExpectation()
    by_index: dict[int, ExpectedToolCall] = {}
    for number, line in enumerate(text.splitlines()):
        if not line.startswith("data:"):
            if line.strip() and not line.startswith((":", "event:", "id:", "retry:")):
                raise WireDecodeError(f"SSE line {number} is not a field: {line[:120]!r}")
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            expectation.saw_done = True
            continue
        try:
            payload = json.loads(data)
        except ValueError as exc:
            raise WireDecodeError(f"SSE line {number} is not JSON: {data[:120]!r}") from exc
        if "error" in payload:
            raise WireDecodeError(f"SSE line {number} carries an error: {data[:200]}")
        if payload.get("usage"):
            usage = payload["usage"]
            expectation.usage = {
                "inputTokens": usage["prompt_tokens"],
                "outputTokens": usage["completion_tokens"],
                "totalTokens": usage["total_tokens"],
            }
        for choice in payload.get("choices") or []:
            delta = choice.get("delta") or {}
            expectation.text += delta.get("content") or ""
            expectation.reasoning += delta.get("reasoning_content") or delta.get("reasoning") or ""
            for item in delta.get("tool_calls") or []:
                index = item.get("index", 0)
                function = item.get("function") or {}
                current = by_index.get(index)
                new_id = item.get("id")
                # A new id at a known index is a new call (servers that put every call at index 0).
                if current is None or (new_id and current.call_id and new_id != current.call_id):
                    current = ExpectedToolCall(None, None)
                    by_index[index] = current
                    expectation.tool_calls.append(current)
                current.call_id = new_id or current.call_id
                current.name = function.get("name") or current.name
                current.arguments += function.get("arguments") or ""
            if choice.get("finish_reason") is not None:
                expectation.finish_reason = choice["finish_reason"]
    return expectation
