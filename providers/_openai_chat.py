"""The OpenAI chat-completions wire: one streaming core for every server that speaks it.

Neuron (vLLM on AWS chips), vLLM, llama.cpp, OpenAI itself, Mistral and Writer differ in
configuration, a few request fields and error wording; the request shape
(``providers._chat_format``), the SSE stream and its mapping into Strands events are the same.
``OpenAIChatModel`` is that wire over the wire-neutral ``providers._wire_model.WireModel`` (HTTP
plumbing, error boundary); a provider subclass sets its configuration keys, its URL and headers,
and overrides one of the small hooks:

- ``_request_params()``     fields the provider adds to (or overrides in) the request body
- ``_api_key()``            the bearer token, when it does not come from ``config["api_key"]``
- ``_shape_tools()``        servers that need the tools or the tool choice narrowed or dropped
- ``_format_tool_choice()`` for servers that reject some tool_choice forms
- ``_special_error()``      a server-specific error worth its own exception
- ``_structured_output_params()`` how the server is asked for JSON matching a schema
- ``_overflow_markers``, ``_include_usage`` (class attributes)

A provider whose configuration keys include ``return_token_ids`` (vLLM, Neuron) gets vLLM's token ids:
asked for in the request, gathered into ``messageStop.additionalModelResponseFields``.

Speed matters (RL rollouts and load tests run thousands of streams): the stream loop splits raw
bytes on newlines itself, ``json.loads`` each data payload and reads the chunk with dict lookups;
the httpx client is created once per model and event loop and reused.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import AsyncGenerator, Callable
from typing import Any, ClassVar, Final

from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice

from ._assembler import progress_clock
from ._chat_format import chat_request, format_tool_choice
from ._error_boundary import reported_error
from ._model_base import ConfigT, Turn
from ._wire_model import WireModel
from .errors import (
    InvalidUTF8Error, MalformedStreamError, OversizeEventError, StalledStreamError, TruncatedStreamError,
)

__all__ = ["CHAT_FINISH_WORDS", "OpenAIChatModel"]

# finish_reason -> Strands stop reason. OpenAI's words, plus Mistral's model_length (the context
# window cut the answer) and eos, which some OpenAI-compatible servers send for a natural end.
CHAT_FINISH_WORDS: Final[dict[str, str]] = {
    "stop": "end_turn",
    "eos": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "model_length": "max_tokens",
    "content_filter": "content_filtered",
}

# The json module's own C scanner, called directly: json.loads adds an encoding sniff, two regex
# matches and three Python frames per chunk, a fifth of the whole per-chunk budget.
_scan_json = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]


def _json_problem(payload: bytes) -> str:
    """json's own description of why ``payload`` does not parse."""
    try:
        json.loads(payload)
    except ValueError as exc:
        return str(exc)
    return "a JSON value followed by other data"


class OpenAIChatModel(WireModel[ConfigT]):
    """A Strands model over any server speaking the OpenAI chat-completions stream."""

    _finish_words = CHAT_FINISH_WORDS
    #: Ask for usage in the last chunk (``stream_options``); False for servers that reject the field.
    _include_usage: ClassVar[bool] = True

    @property
    def _collect_token_ids(self) -> bool:
        """vLLM ``return_token_ids`` is on: ask for the ids and gather them into messageStop."""
        return bool(self.config.get("return_token_ids"))

    # -- subclass hooks -------------------------------------------------------------------------

    def _request_params(self) -> dict[str, Any]:
        """Body fields from configuration (sampling, server-specific); they override the defaults."""
        return dict(self.config.get("params") or {})

    def _shape_tools(self, turn: Turn) -> Turn:
        """The turn with the tools and tool choice this server is sent (default: as given)."""
        return turn

    def _format_tool_choice(self, tool_choice: ToolChoice) -> str | dict[str, Any] | None:
        return format_tool_choice(tool_choice)

    def _timeout_setting(self) -> Any:
        """``timeout`` in the configuration (llama.cpp's, vLLM's, Neuron's): seconds, ``(connect, read)``
        or an ``httpx.Timeout``; providers whose SDK takes it in ``client_args`` override this."""
        return self.config.get("timeout")

    # -- request ----------------------------------------------------------------------------------

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        request = chat_request(
            self.config["model_id"], self._shape_tools(turn),
            format_choice=self._format_tool_choice, include_usage=self._include_usage,
        )
        request.update(self._request_params())
        if self._collect_token_ids:
            request["return_token_ids"] = True
        if request.get("stream") is not True:
            raise ValueError("these providers only stream: remove 'stream' from params")
        if request.get("n", 1) != 1:
            raise ValueError(f"params n={request['n']!r}: a Strands model returns one answer; remove 'n'")
        return request

    async def _stream_request(self, build_request: Callable[[], dict[str, Any]]) -> AsyncGenerator[StreamEvent, None]:
        request = build_request()
        asm = self._assembler()
        url = self._chat_url()
        collect = self._collect_token_ids
        prompt_token_ids: list[int] | None = None
        token_ids: list[int] = []
        scan = _scan_json
        text = asm.text
        done = False
        data: bytes | None = None
        rest = b""
        limit = self._max_event_bytes()
        pieces: list[bytes] = []  # the unended line, as it arrived: joined once, when it ends
        pending = 0  # its length
        received = 0  # body bytes so far, for the offset of invalid UTF-8
        deadline = self._progress_timeout()
        clock = progress_clock
        with self._boundary(url) as boundary:
            response = await boundary.open(self._open_stream(request))
            try:
                for event in asm.start():
                    yield event
                # This loop is the chat wire's own parser, apart from conformance's reference decoder: it is the
                # hot path. aiter_raw skips two layers of httpx iteration when there is no content-encoding.
                blocks = response.aiter_bytes() if "content-encoding" in response.headers else response.aiter_raw()
                async for block in blocks:
                    if clock() - asm.progress_at > deadline:  # pings and empty chunks are not progress
                        raise StalledStreamError(url, deadline, f"no new content for {deadline:g} s (progress_timeout)")
                    # Linear in the body: a block without a line end is set aside, not joined and split
                    # again with each new block (a 50 MB line took 77 s that way).
                    if b"\n" not in block:
                        received += len(block)
                        pending += len(block)
                        if pending > limit:
                            raise OversizeEventError(url, limit, "a line")
                        pieces.append(block)
                        continue
                    start = received - pending  # body offset of the joined block
                    received += len(block)
                    if pieces:
                        pieces.append(block)
                        block = b"".join(pieces)
                    lines = block.split(b"\n")
                    rest = lines.pop()
                    pieces = [rest] if rest else []
                    pending = len(rest)
                    if len(block) > limit and max(pending, *map(len, lines)) > limit:
                        raise OversizeEventError(url, limit, "a line")
                    for line in lines:
                        if line[:5] == b"data:":
                            payload = line[6:] if line[5:6] == b" " else line[5:]
                            if data is None:
                                data = payload
                            else:  # a multi-line event: rare, so the CR handling and its bound live here
                                data = (data[:-1] if data[-1:] == b"\r" else data) + b"\n" + payload
                                if len(data) > limit:
                                    raise OversizeEventError(url, limit, "an event")
                            continue
                        if line and line != b"\r":
                            if line[:1] == b":" or line.startswith((b"event:", b"id:", b"retry:")):
                                continue  # SSE comment / fields the chat stream gives no meaning
                            raise MalformedStreamError(
                                f"line in the stream from {url} is not server-sent events: {line[:300]!r}"
                            )
                        if data is None:
                            continue
                        # Blank line: dispatch the event.
                        payload, data = data, None
                        if payload[-1:] == b"\r":
                            payload = payload[:-1]
                        if payload == b"[DONE]":
                            done = True
                            break
                        try:
                            try:
                                decoded = payload.decode()
                            except UnicodeDecodeError as exc:
                                bad = payload[exc.start:exc.end]
                                raise InvalidUTF8Error(url, start + max(block.find(bad), 0), bad) from exc
                            try:
                                chunk, end = scan(decoded, 0)
                            except StopIteration:
                                end = -1
                            if end != len(decoded):
                                chunk = json.loads(decoded)  # surrounding whitespace passes, anything else raises
                        except ValueError as exc:
                            raise MalformedStreamError(
                                f"data in the stream from {url} is not JSON ({_json_problem(payload)}): "
                                f"{payload[:300]!r}"
                            ) from exc
                        if type(chunk) is not dict:
                            raise MalformedStreamError(
                                f"data in the stream from {url} is not a JSON object: {payload[:300]!r}"
                            )
                        choices = chunk.get("choices")
                        if choices:
                            choice = choices[0]
                            delta = choice.get("delta")
                            if delta:
                                content = delta.get("content")
                                if content and len(delta) == 1:
                                    for event in text(content):
                                        yield event
                                else:
                                    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                                    if reasoning:
                                        for event in asm.reasoning_text(reasoning):
                                            yield event
                                    if content:
                                        for event in text(content):
                                            yield event
                                    tool_calls = delta.get("tool_calls")
                                    if tool_calls:
                                        for position, call in enumerate(tool_calls):
                                            function = call.get("function") or {}
                                            for event in asm.tool_call(
                                                call.get("index", position),
                                                id=call.get("id"),
                                                name=function.get("name"),
                                                arguments=function.get("arguments"),
                                            ):
                                                yield event
                            finish = choice.get("finish_reason")
                            if finish:
                                asm.finish_reason = finish
                            if collect:
                                ids = choice.get("token_ids") or chunk.get("token_ids")
                                if ids:
                                    token_ids.extend(ids)
                                if prompt_token_ids is None:
                                    prompt_token_ids = (
                                        chunk.get("prompt_token_ids") or choice.get("prompt_token_ids")
                                    )
                        elif "error" in chunk:
                            raise reported_error(chunk["error"], url)
                        elif chunk.get("object") == "error":  # vLLM's bare error object
                            raise reported_error(chunk, url)
                        elif choices is None and "usage" not in chunk:
                            raise MalformedStreamError(
                                f"chunk in the stream from {url} has neither choices, usage nor error: "
                                f"{payload[:300]!r}"
                            )
                        usage = chunk.get("usage")
                        if usage:
                            details = usage.get("prompt_tokens_details") or {}
                            asm.set_usage(
                                usage.get("prompt_tokens"),
                                usage.get("completion_tokens"),
                                usage.get("total_tokens"),
                                details.get("cached_tokens"),
                                # the LiteLLM proxy's cache-write count, beside OpenAI's fields
                                usage.get("cache_creation_input_tokens"),
                            )
                    if done:
                        break
                if not done:
                    rest = b"".join(pieces)
                    if rest.strip() and not rest.startswith((b"data:", b":", b"event:", b"id:", b"retry:")):
                        raise MalformedStreamError(
                            f"line in the stream from {url} is not server-sent events: {rest[:300]!r}"
                        )
                    tail = (data + b"\n" + rest) if data is not None else rest
                    if tail.strip():
                        raise TruncatedStreamError(
                            f"the stream from {url} ended inside an event (no blank line after it): {tail[:300]!r}"
                        )
                    if asm.finish_reason is None:
                        raise TruncatedStreamError(
                            f"the stream from {url} ended with no finish reason and no [DONE]: "
                            "the server stopped mid-answer"
                        )
                additional = None
                if collect:
                    additional = {"prompt_token_ids": prompt_token_ids or [], "token_ids": token_ids}
                for event in asm.finish(additional):
                    yield event
            finally:
                await response.aclose()

