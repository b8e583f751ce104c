"""Reference Strands provider for SGLang's native `/generate` endpoint, streamed.

Why it exists: `/generate` is SGLang's raw-completion endpoint, the one RL training loops drive
(strands-sglang sends it token ids and keeps the trajectory). There is no chat on this wire: the
provider renders the conversation itself, as ChatML with Hermes-style tools (the format Qwen models
and strands-sglang's default tool parser use), and reads the tool calls back out of the generated
text. The answer goes through the shared `StreamAssembler` like every other wire's.

Wire (https://docs.sglang.io/docs/basic_usage/native_api and `GenerateReqInput` in
python/sglang/srt/managers/io_struct.py): request `{"text": prompt, "sampling_params": {...},
"stream": true}`; each server-sent event `data: {"text", "output_ids", "meta_info"}` where `text` and
`output_ids` hold everything generated so far (SGLang's default; `--incremental-streaming-output`
is not assumed), `meta_info.finish_reason` is null until the last event, then `{"type": "stop" |
"length" | "abort", ...}`, and the last event's meta_info has `prompt_tokens`, `completion_tokens`
and `cached_tokens`; `data: [DONE]` ends the stream. An error is `{"error": {"message"}}`, as the HTTP
body or as an event: a request SGLang rejects after the stream opened (a prompt longer than the
context) arrives that way with status 200.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import httpx
import pydantic
from strands.types.content import Messages, SystemContentBlock
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec
from typing_extensions import Unpack

from ._assembler import StreamAssembler
from ._chat_format import _format_tool_result, format_tools
from ._model_base import Turn, checked_client_args
from ._sse import iter_sse_events
from ._wire_model import WireModel
from .errors import MalformedStreamError, StreamServerError, TruncatedStreamError, overflow_markers

__all__ = ["SGLangModel", "TOOL_CALL_CLOSE", "TOOL_CALL_OPEN", "render_chatml"]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://localhost:30000"
TOOL_CALL_OPEN, TOOL_CALL_CLOSE = "<tool_call>", "</tool_call>"
# meta_info.finish_reason.type -> Strands stop reason; `abort` is an error, raised before it is looked up.
FINISH_WORDS = {"stop": "end_turn", "length": "max_tokens"}
_TOOLS_PREAMBLE = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
)
_TOOLS_POSTAMBLE = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
    "</tool_call>"
)


class SGLangConfig(TypedDict, total=False):
    """Model id, the named sampling settings, and any other `sampling_params` SGLang takes."""

    model_id: str
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    stop_sequences: list[str] | None
    sampling_params: dict[str, Any] | None


def _message(role: str, content: str) -> str:
    return f"<|im_start|>{role}\n{content}<|im_end|>\n"


def _system_text(system_prompt: str | None, system_prompt_content: list[SystemContentBlock] | None) -> str:
    if system_prompt_content:
        return "\n".join(block["text"] for block in system_prompt_content if "text" in block)
    return system_prompt or ""


def render_chatml(messages: Messages, system: str, tool_specs: list[ToolSpec] | None) -> str:
    """The prompt: ChatML turns, tools in the system turn, calls and results as Hermes tags, then the
    assistant's turn opened for the answer. Tool results go back in order (Hermes results carry no id)."""
    if tool_specs:
        tools = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in format_tools(tool_specs))
        system = f"{system}\n\n" if system else ""
        system += _TOOLS_PREAMBLE + tools + _TOOLS_POSTAMBLE
    prompt = _message("system", system) if system else ""
    for message in messages:
        texts, calls, results = [], [], []
        for block in message["content"]:
            if "text" in block:
                texts.append(block["text"])
            elif "toolUse" in block:
                tool_use = block["toolUse"]
                call = json.dumps({"name": tool_use["name"], "arguments": tool_use["input"]}, ensure_ascii=False)
                calls.append(f"{TOOL_CALL_OPEN}\n{call}\n{TOOL_CALL_CLOSE}")
            elif "toolResult" in block:
                text = _format_tool_result(block["toolResult"])["content"]  # what a chat tool message carries
                results.append(f"<tool_response>\n{text}\n</tool_response>")
            elif "reasoningContent" in block or "cachePoint" in block:
                continue  # a raw prompt has no place for either: the model thinks afresh, SGLang caches prefixes
            else:
                raise TypeError(f"SGLangModel: content block {sorted(block)} cannot be rendered into a text prompt")
        prompt += _message(message["role"], "\n".join([*texts, *calls, *results]))
    return prompt + "<|im_start|>assistant\n"


class _GeneratedText:
    """Splits the generated text, as it grows, into text and Hermes `<tool_call>` JSON, into the assembler.

    Text is passed on as it comes except what could still turn out to be a tag, and the whitespace at
    the end of a stretch of text, which is dropped when a call (or the end) follows: the model's line
    breaks around its tags are not part of its answer.
    """

    def __init__(self, asm: StreamAssembler, url: str) -> None:
        self.asm, self.url = asm, url
        self.pending = ""  # received, not yet passed on
        self.in_call = False
        self.calls = 0

    def feed(self, delta: str) -> list[StreamEvent]:
        self.pending += delta
        events: list[StreamEvent] = []
        while True:
            if self.in_call:
                end = self.pending.find(TOOL_CALL_CLOSE)
                if end < 0:
                    return events
                events.extend(self._call(self.pending[:end]))
                self.pending, self.in_call = self.pending[end + len(TOOL_CALL_CLOSE):], False
                continue
            start = self.pending.find(TOOL_CALL_OPEN)
            if start >= 0:
                events.extend(self.asm.text(self.pending[:start].rstrip()))
                self.pending, self.in_call = self.pending[start + len(TOOL_CALL_OPEN):], True
                continue
            keep = len(self.pending) - len(self.pending.rstrip())  # trailing whitespace
            for size in range(len(TOOL_CALL_OPEN) - 1, 0, -1):  # the start of a tag not yet complete
                if self.pending.endswith(TOOL_CALL_OPEN[:size]):
                    keep = max(keep, size + len(self.pending[:-size]) - len(self.pending[:-size].rstrip()))
                    break
            cut = len(self.pending) - keep
            events.extend(self.asm.text(self.pending[:cut]))
            self.pending = self.pending[cut:]
            return events

    def end(self, cut_by_length: bool) -> list[StreamEvent]:
        """What is left: a call the token limit cut short stays text (it never became a call); a call left
        open by anything else is a broken answer."""
        if self.in_call and not cut_by_length:
            raise MalformedStreamError(f"the answer from {self.url} ended inside a <tool_call> that never closed: "
                                       f"{self.pending[:300]!r}")
        rest = (TOOL_CALL_OPEN + self.pending) if self.in_call else self.pending
        self.pending, self.in_call = "", False
        return list(self.asm.text(rest.rstrip()))

    def _call(self, body: str) -> list[StreamEvent]:
        try:
            call = json.loads(body)
        except ValueError as exc:
            raise MalformedStreamError(
                f"a <tool_call> from {self.url} does not hold JSON ({exc}): {body[:300]!r}") from exc
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise MalformedStreamError(f"a <tool_call> from {self.url} names no function: {body[:300]!r}")
        arguments = call.get("arguments", {})
        self.calls += 1
        # A call is read whole from between its tags: its block is over, so the next one is not held back.
        return [*self.asm.tool_call(
            ("sglang", self.calls), id=f"call_{uuid.uuid4().hex[:24]}", name=call["name"],
            arguments=arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)),
            *self.asm.end_block()]


class SGLangModel(WireModel[SGLangConfig]):
    """A Strands model over SGLang's `/generate` SSE stream, talking httpx.

    Args:
        base_url: the SGLang server root, e.g. `http://localhost:30000`.
        client_args: `headers`, `timeout` and `api_key` (SGLang's `--api-key`, sent as a bearer token).
        **model_config: the keys of `SGLangConfig`.
    """

    CONFIG_KEYS = frozenset(SGLangConfig.__annotations__)
    MODEL_ID_EXAMPLE = "the served model's name (SGLang serves one model; the id is not sent)"
    _finish_words = FINISH_WORDS
    _overflow_markers = overflow_markers()
    _max_tokens_fix = "raise max_tokens"

    def __init__(self, base_url: str | None = None, *, client_args: dict[str, Any] | None = None,
                 **model_config: Unpack[SGLangConfig]) -> None:
        client_args = checked_client_args("SGLangModel", client_args, ("headers", "timeout", "api_key"), "client_args")
        super().__init__(dict(model_config))
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.client_args = client_args

    def _chat_url(self) -> str:
        return f"{self.base_url}/generate"

    def _api_key(self) -> str | None:
        return self.client_args.get("api_key")

    def _timeout_setting(self) -> Any:
        return self.client_args.get("timeout")

    def _headers(self) -> dict[str, str]:
        return dict(self.client_args.get("headers") or {})

    def _sampling_params(self) -> dict[str, Any]:
        config = self.config
        params = dict(config.get("sampling_params") or {})
        for key, name in (("max_tokens", "max_new_tokens"), ("temperature", "temperature"), ("top_p", "top_p"),
                          ("stop_sequences", "stop")):
            if config.get(key) is not None:
                params[name] = config[key]
        return params

    def _structured_output_params(self, output_model: type[pydantic.BaseModel]) -> dict[str, Any]:
        """SGLang's constrained decoding: `sampling_params.json_schema`, the schema as a JSON string."""
        return {"sampling_params": {**self._sampling_params(),
                                    "json_schema": json.dumps(output_model.model_json_schema())}}

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        """The JSON body of `POST /generate` (always streamed)."""
        if turn.tool_choice and "auto" not in turn.tool_choice:
            # A raw prompt has no tool_choice; the model decides. Said loudly, not dropped quietly.
            logger.warning("tool_choice=<%s> | SGLang's /generate cannot force a tool; sent as auto", turn.tool_choice)
        prompt = render_chatml(turn.messages, _system_text(turn.system_prompt, turn.system_prompt_content),
                               turn.tool_specs)
        return {"text": prompt, "sampling_params": self._sampling_params(), "stream": True}

    # Our own parser, not conformance's reference decoder: the hot path, events as the bytes arrive.
    async def _decode(self, response: httpx.Response, asm: StreamAssembler, url: str) -> AsyncIterator[StreamEvent]:
        generated = _GeneratedText(asm, url)
        final: dict[str, Any] | None = None
        done = False
        text = ""
        for event in asm.start():
            yield event
        async for _name, data in iter_sse_events(self._blocks(response, asm, url), url, self._max_event_bytes()):
            if done or final is not None and data != "[DONE]":
                raise MalformedStreamError(f"an event arrived from {url} after the last one: {str(data)[:300]}")
            if data == "[DONE]":
                done = True
                continue
            if not isinstance(data, dict):
                raise MalformedStreamError(f"an event from {url} is not a JSON object: {str(data)[:300]}")
            if "error" in data:
                raise _stream_error(data["error"], url)
            now, meta = data.get("text"), data.get("meta_info")
            if not isinstance(now, str) or not isinstance(meta, dict):
                raise MalformedStreamError(f"an event from {url} lacks its text or meta_info: {str(data)[:300]}")
            if not now.startswith(text):
                raise MalformedStreamError(
                    f"the text from {url} no longer extends what came before ({len(text)} characters): {now[:300]!r}")
            for event in generated.feed(now[len(text):]):
                yield event
            text = now
            if meta.get("finish_reason") is not None:
                final = meta
        if final is None:
            raise TruncatedStreamError(f"the stream from {url} ended before an event with a finish_reason; "
                                       "the server stopped mid-answer")
        reason = final["finish_reason"]
        kind = reason.get("type") if isinstance(reason, dict) else reason
        if kind == "abort":
            raise _stream_error({"message": str(reason.get("message") or reason)}, url)
        for event in generated.end(cut_by_length=kind == "length"):
            yield event
        asm.set_finish_reason(kind)
        asm.set_usage(final.get("prompt_tokens"), final.get("completion_tokens"),
                      cache_read_tokens=final.get("cached_tokens") or None)
        for event in asm.finish():
            yield event


def _stream_error(error: Any, url: str) -> StreamServerError:
    message = error.get("message") if isinstance(error, dict) else None
    text = message if isinstance(message, str) else json.dumps(error)
    return StreamServerError(f"the server reported an error inside the stream from {url}: {text[:2000]}",
                             reported=(None, text, json.dumps(error)))
