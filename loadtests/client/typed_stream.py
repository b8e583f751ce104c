"""Exact timings and token counts of the streams whose events name their own type: the Responses API and
Anthropic Messages.

The rules are chat_stream.py's (TTFT at the first event carrying output, ITL between output events only,
output tokens from the server's usage, never re-tokenized); what differs is which events carry output and
where the usage and the finish live. An event that only frames the answer (`response.created`,
`response.in_progress`, an empty message item or text block, `ping`) is no token. An event that starts a
function call or tool_use block carries its name, which the model generated, so it counts as output, as
the chat stream's first tool-call delta (with the name) does. Finish words are read into the chat words
(`stop`, `length`, `tool_calls`, `content_filter`), so records and figures compare across APIs (a word
chat has none for, such as `pause_turn`, stays as the server said it); an error event or a failed
response fails the request as `stream_error`.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from loadtests.client.chat_stream import StreamAccumulator, StreamResult, ToolCallParts
from loadtests.client.failures import RequestFailure


class TypedStreamAccumulator(StreamAccumulator):
    """Reads events that name their type; subclasses read one API's events."""

    api = ""  # named in the messages of the failures

    def on_data(self, ts: float, text: str) -> None:
        res = self.result
        res.events += 1
        try:
            event = orjson.loads(text)
        except ValueError:
            raise RequestFailure("malformed_json", f"SSE data is not JSON: {text[:120]!r}") from None
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise RequestFailure("malformed_json", f"SSE data is not a typed {self.api} event: {text[:120]!r}")
        res.t_end = ts
        try:
            self.on_event(ts, event["type"], event)
        except RequestFailure:
            raise
        except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
            raise RequestFailure("malformed_json", f"an event does not have the shape of a {self.api} event ({exc!r}): "
                                                   f"{text[:120]!r}") from None

    def on_event(self, ts: float, kind: str, event: dict[str, Any]) -> None:
        raise NotImplementedError

    def output(self, ts: float) -> None:
        """An event carrying output arrived at `ts` (its token count comes from the final usage)."""
        self.result.chunk_ts.append(ts)
        self.result.chunk_tokens.append(None)

    def text(self, ts: float, piece: str) -> None:
        if piece:
            self._text.append(piece)
            self.output(ts)

    def new_call(self, ts: float, call_id: str, name: str, arguments: str = "") -> ToolCallParts:
        call = ToolCallParts(call_id, name, arguments)
        self._calls.append(call)
        self.output(ts)
        return call

    def error(self, detail: Any) -> RequestFailure:
        return RequestFailure("stream_error", f"the server reported an error mid-stream: {json.dumps(detail)[:300]}")

    def finish(self) -> StreamResult:
        res = super().finish()
        if res.completion_tokens is not None:
            res.token_source = "usage"
        return res


class ResponsesStreamAccumulator(TypedStreamAccumulator):
    """The OpenAI Responses API stream (POST /v1/responses): ends at response.completed or response.incomplete."""

    api = "Responses API"
    INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}

    def __init__(self, t_send: float) -> None:
        super().__init__(t_send)
        self._by_item: dict[str, ToolCallParts] = {}
        self._refused = False

    def on_event(self, ts: float, kind: str, event: dict[str, Any]) -> None:
        if kind in ("response.output_text.delta", "response.refusal.delta", "response.reasoning_text.delta",
                    "response.reasoning_summary_text.delta"):
            if kind.startswith("response.reasoning"):
                if event["delta"]:
                    self.output(ts)
            else:
                self._refused = self._refused or kind == "response.refusal.delta"
                self.text(ts, event["delta"])
        elif kind == "response.function_call_arguments.delta":
            self._by_item[event["item_id"]].arguments += event["delta"]
            self.output(ts)
        elif kind == "response.output_item.added" and event["item"].get("type") == "function_call":
            item = event["item"]
            self._by_item[item["id"]] = self.new_call(ts, item.get("call_id") or "", item.get("name") or "",
                                                      item.get("arguments") or "")
        elif kind == "response.function_call_arguments.done":
            call = self._by_item[event["item_id"]]
            call.arguments = call.arguments or event["arguments"]
        elif kind in ("response.completed", "response.incomplete"):
            self._end(event["response"])
        elif kind == "response.failed":
            raise self.error(event["response"].get("error") or event["response"])
        elif kind == "error":
            raise self.error(event)

    def _end(self, response: dict[str, Any]) -> None:
        res = self.result
        res.done = True
        reason = (response.get("incomplete_details") or {}).get("reason")
        if reason:  # vLLM says incomplete inside response.completed
            res.finish_reason = self.INCOMPLETE.get(reason, reason)
        elif response.get("status") not in (None, "completed"):
            res.finish_reason = response["status"]
        else:  # the item that ended the turn says what the one word `completed` cannot
            res.finish_reason = "content_filter" if self._refused else "tool_calls" if self._calls else "stop"
        usage = response.get("usage")
        if usage:
            if usage.get("input_tokens") is not None:
                res.prompt_tokens = int(usage["input_tokens"])
            if usage.get("output_tokens") is not None:
                res.completion_tokens = int(usage["output_tokens"])


class MessagesStreamAccumulator(TypedStreamAccumulator):
    """The Anthropic Messages stream (POST /v1/messages): ends at message_stop."""

    api = "Anthropic Messages"
    STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                    "model_context_window_exceeded": "length", "refusal": "content_filter"}

    def __init__(self, t_send: float) -> None:
        super().__init__(t_send)
        self._by_index: dict[int, ToolCallParts] = {}

    def on_event(self, ts: float, kind: str, event: dict[str, Any]) -> None:
        if kind == "content_block_delta":
            delta = event["delta"]
            if delta["type"] == "text_delta":
                self.text(ts, delta["text"])
            elif delta["type"] == "input_json_delta":
                self._by_index[event["index"]].arguments += delta["partial_json"]
                self.output(ts)
            elif delta["type"] == "thinking_delta" and delta["thinking"]:
                self.output(ts)
        elif kind == "content_block_start":
            block = event["content_block"]
            if block["type"] == "tool_use":
                self._by_index[event["index"]] = self.new_call(ts, block.get("id") or "", block.get("name") or "")
            elif block["type"] == "text":
                self.text(ts, block.get("text") or "")
        elif kind == "message_start":
            self._usage(event["message"].get("usage"))
        elif kind == "message_delta":
            reason = event["delta"].get("stop_reason")
            if reason is not None:
                self.result.finish_reason = self.STOP_REASONS.get(reason, reason)
            self._usage(event.get("usage"))
        elif kind == "message_stop":
            self.result.done = True
        elif kind == "error":
            raise self.error(event.get("error") or event)

    def _usage(self, usage: dict[str, Any] | None) -> None:
        if not usage:
            return
        res = self.result
        if usage.get("input_tokens") is not None:  # the whole prompt: the cached share is counted apart
            res.prompt_tokens = sum(int(usage.get(key) or 0) for key in (
                "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"))
        if usage.get("output_tokens"):  # message_start's 0 is a placeholder, not a count
            res.completion_tokens = int(usage["output_tokens"])
