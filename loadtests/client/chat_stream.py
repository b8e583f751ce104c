"""Turns one OpenAI chat-completions SSE stream into exact timings and token counts.

The rules the notes ask for, in one place:
- TTFT is the arrival of the first chunk carrying output (text, a tool-call delta, or token ids);
  the role-only first chunk and usage-only chunks are not tokens.
- ITL is measured between output-bearing chunks only (TTFT never leaks in), both per chunk and per
  token: a chunk that carries k tokens (token_ids, or a continuous-usage delta) gives k intervals of
  gap/k, because parsers and speculative decoding merge tokens into one message.
- Output tokens come from the server (usage, continuous usage, token_ids), never from re-tokenizing.
- TPOT = (E2E - TTFT) / (output_tokens - 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from loadtests.client.failures import RequestFailure


@dataclass
class ToolCallParts:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class StreamResult:
    t_send: float
    chunk_ts: list[float] = field(default_factory=list)  # arrival of each output-bearing chunk
    chunk_tokens: list[int | None] = field(default_factory=list)  # tokens per chunk when the server says
    t_end: float = 0.0
    text: str = ""
    tool_calls: list[ToolCallParts] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    token_source: str = "chunks"  # "token_ids", "continuous_usage", "usage" or "chunks" (1 token per chunk assumed)
    events: int = 0  # SSE events received, all kinds
    truth: dict[str, Any] | None = None  # the simulator's `sim-truth` comment
    done: bool = False

    @property
    def output_tokens(self) -> int:
        if self.completion_tokens is not None:
            return self.completion_tokens
        known = [n for n in self.chunk_tokens if n is not None]
        return sum(known) if len(known) == len(self.chunk_tokens) else len(self.chunk_ts)

    @property
    def counted_tokens(self) -> int | None:
        """The output tokens the chunks themselves carried (token ids, continuous usage), apart from the final
        usage; None when some chunk said nothing."""
        if self.token_source not in ("token_ids", "continuous_usage") or None in self.chunk_tokens:
            return None
        return sum(self.chunk_tokens)  # type: ignore[arg-type]


class StreamAccumulator:
    """What the reader of every API shares: feed it SSE events in order; `result` holds what was learned."""

    def __init__(self, t_send: float) -> None:
        self.result = StreamResult(t_send=t_send)
        self._calls: list[ToolCallParts] = []  # every call, in the order it began
        self._text: list[str] = []

    def on_comment(self, ts: float, text: str) -> None:
        self.result.events += 1
        if text.startswith("sim-truth "):
            self.result.truth = orjson.loads(text[10:])

    def on_data(self, ts: float, text: str) -> None:
        raise NotImplementedError

    def finish(self) -> StreamResult:
        res = self.result
        res.text = "".join(self._text)
        res.tool_calls = self._calls
        return res


# Not the conformance reference decoder: this runs once per event, and its cost is the load generator's capacity.
class ChatStreamAccumulator(StreamAccumulator):
    """The OpenAI chat-completions stream: chunks of choices, ending with `data: [DONE]`."""

    def __init__(self, t_send: float) -> None:
        super().__init__(t_send)
        self._last_usage_tokens = 0
        self._tools: dict[int, ToolCallParts] = {}  # the call each index is building now

    def on_data(self, ts: float, text: str) -> None:
        res = self.result
        res.events += 1
        if text == "[DONE]":
            res.done = True
            res.t_end = ts
            return
        try:
            chunk = orjson.loads(text)  # a quarter of json.loads' cost; this runs once per event
        except ValueError:
            raise RequestFailure("malformed_json", f"SSE data is not JSON: {text[:120]!r}") from None
        if not isinstance(chunk, dict):
            raise RequestFailure("malformed_json", f"SSE data is not a JSON object: {text[:120]!r}")
        if "error" in chunk:
            raise RequestFailure("stream_error", f"the server reported an error mid-stream: {json.dumps(chunk['error'])[:300]}")
        try:  # free unless raised (Python 3.11): a chunk of the wrong shape fails the request by name
            res.t_end = ts
            usage = chunk.get("usage")
            usage_tokens = None
            if usage is not None:
                if usage.get("prompt_tokens") is not None:
                    res.prompt_tokens = int(usage["prompt_tokens"])
                if usage.get("completion_tokens") is not None:
                    usage_tokens = int(usage["completion_tokens"])
                    res.completion_tokens = usage_tokens
            choices = chunk.get("choices") or []
            if not choices:
                return
            choice = choices[0]
            delta = choice.get("delta") or {}
            if choice.get("finish_reason"):
                res.finish_reason = choice["finish_reason"]
            content = delta.get("content") or delta.get("reasoning_content") or delta.get("reasoning")
            tool_deltas = delta.get("tool_calls")
            token_ids = choice.get("token_ids")
            if not content and not tool_deltas and not token_ids:
                if usage_tokens is not None:
                    self._last_usage_tokens = usage_tokens
                return  # role-only, finish-only or usage-only chunk: no output token
            if content:
                self._text.append(content)
            if tool_deltas:
                for td in tool_deltas:
                    idx = td.get("index", 0)
                    part = self._tools.get(idx)
                    new_id = td.get("id")
                    if part is None or (new_id and part.id and new_id != part.id):  # a new id at a known index: a new call
                        part = self._tools[idx] = ToolCallParts()
                        self._calls.append(part)
                    if new_id:
                        part.id = new_id
                    fn = td.get("function") or {}
                    if fn.get("name"):
                        part.name = fn["name"]
                    if fn.get("arguments"):
                        part.arguments += fn["arguments"]
            n: int | None = None
            if token_ids:
                n = len(token_ids)
                res.token_source = "token_ids"
            elif usage_tokens is not None:
                n = usage_tokens - self._last_usage_tokens
                if res.token_source != "token_ids":
                    res.token_source = "continuous_usage"
            if usage_tokens is not None:
                self._last_usage_tokens = usage_tokens
            res.chunk_ts.append(ts)
            res.chunk_tokens.append(n)
        except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
            raise RequestFailure("malformed_json", f"a chunk does not have the shape of a chat completion chunk ({exc!r}): "
                                                   f"{text[:120]!r}") from None

    def finish(self) -> StreamResult:
        res = super().finish()
        if res.token_source == "chunks" and res.completion_tokens is not None:
            res.token_source = "usage"
        return res


@dataclass
class Latencies:
    ttft_ms: float
    e2e_ms: float
    tpot_ms: float | None
    itl_chunk_ms: list[float]
    itl_token_ms: list[tuple[float, int]]  # (interval per token, how many tokens share it)
    output_tokens: int


def latencies_of(res: StreamResult) -> Latencies:
    """The latency figures of one successful stream (raises RequestFailure when it produced no output)."""
    if not res.chunk_ts:
        raise RequestFailure("invalid_output", f"the stream ended without any output token (finish_reason={res.finish_reason!r}, "
                                               f"usage completion_tokens={res.completion_tokens!r})")
    t0 = res.t_send
    ttft = (res.chunk_ts[0] - t0) * 1e3
    end = max(res.t_end, res.chunk_ts[-1])
    e2e = (end - t0) * 1e3
    out = res.output_tokens
    tpot = (e2e - ttft) / (out - 1) if out > 1 else None
    chunk_itl: list[float] = []
    token_itl: list[tuple[float, int]] = []
    known = all(n is not None for n in res.chunk_tokens[1:])
    if not known and len(res.chunk_ts) > 1:
        # no per-chunk counts: spread the server's total evenly over the chunks after the first
        first = res.chunk_tokens[0] if res.chunk_tokens[0] is not None else 1
        per_chunk = max(1.0, (out - first) / (len(res.chunk_ts) - 1))
    for i in range(1, len(res.chunk_ts)):
        gap = (res.chunk_ts[i] - res.chunk_ts[i - 1]) * 1e3
        chunk_itl.append(gap)
        n = res.chunk_tokens[i] if known else None
        if n is None:
            k = max(1, round(per_chunk))
            token_itl.append((gap / per_chunk, k))
        elif n > 0:
            token_itl.append((gap / n, n))
        # n == 0: a chunk with text but no new token (detokenizer flush): its gap belongs to the next token
    return Latencies(ttft, e2e, tpot, chunk_itl, token_itl, out)
