"""The OpenAI chat-completions wire format, once, for every server that speaks it.

Neuron (vLLM on AWS chips), vLLM, llama.cpp and OpenAI itself differ in configuration, a few
request fields and error wording; the request shape, the SSE stream and its mapping into
Strands events are the same. ``OpenAIChatModel`` holds all of that (the configuration API,
``stream`` and structured output come from ``providers._model_base``); a provider subclass sets
its configuration keys, its URL and headers, and overrides one of the small hooks:

- ``_request_params()``     fields the provider adds to (or overrides in) the request body
- ``_api_key()``            the bearer token, when it does not come from ``config["api_key"]``
- ``_shape_tools()``        servers that need the tools or the tool choice narrowed or dropped
- ``_format_tool_choice()`` for servers that reject some tool_choice forms
- ``_special_error()``      a server-specific error worth its own exception
- ``_structured_output_params()`` how the server is asked for JSON matching a schema
- ``_overflow_markers``, ``_collect_token_ids``, ``_retry_dropped_connection``, ``_include_usage``
  (class attributes)

Errors are translated in one place, ``_mapped_error`` (see ``providers.errors`` for the tree):
the same function handles an HTTP error before the stream and an error object inside it.

Speed matters (RL rollouts and load tests run thousands of streams): the stream loop splits raw
bytes on newlines itself, ``json.loads`` each data payload and reads the chunk with dict lookups;
the httpx client is created once per model and event loop and reused.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import json.scanner
import logging
import ssl
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any, ClassVar

import httpx
from strands.types.content import ContentBlock, Messages, SystemContentBlock
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice, ToolSpec

from ._assembler import StreamAssembler
from ._model_base import ConfigT, ProviderModel, Turn
from .errors import (
    CONTEXT_OVERFLOW_MARKERS,
    MalformedStreamError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    StreamServerError,
    StructuredOutputError,
    TruncatedStreamError,
)

__all__ = [
    "OpenAIChatModel",
    "StructuredOutputError",
    "chat_request",
    "format_messages",
    "format_tool_choice",
    "format_tools",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
_THROTTLE_STATUSES = frozenset({429, 503})
_IMAGE_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


# -- request formatting (Strands types -> OpenAI chat JSON) --------------------------------------


def _unsupported(kind: str, where: str) -> TypeError:
    return TypeError(
        f"content block {kind!r} in {where} is not supported by the OpenAI chat-completions providers; "
        "send text, images, toolUse or toolResult blocks"
    )


def _format_image(block: dict[str, Any]) -> dict[str, Any]:
    image_format = block["format"]
    mime = _IMAGE_MIME.get(image_format)
    if mime is None:
        raise TypeError(f"image format {image_format!r} is not supported; use one of {sorted(_IMAGE_MIME)}")
    data = base64.b64encode(block["source"]["bytes"]).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}


def _format_user_content(blocks: list[ContentBlock]) -> str | list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if "text" in block:
            parts.append({"type": "text", "text": block["text"]})
        elif "image" in block:
            parts.append(_format_image(block["image"]))  # type: ignore[arg-type]
        elif "cachePoint" in block:
            continue  # a caching hint: the chat-completions format has no place for it
        else:
            raise _unsupported(next(iter(block)), "a user message")
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def _format_tool_result(result: dict[str, Any]) -> dict[str, Any]:
    texts: list[str] = []
    for item in result["content"]:
        if "text" in item:
            texts.append(item["text"])
        elif "json" in item:
            texts.append(json.dumps(item["json"], ensure_ascii=False))
        else:
            raise _unsupported(next(iter(item)), f"the result of tool call {result['toolUseId']!r}")
    return {"role": "tool", "tool_call_id": result["toolUseId"], "content": "\n".join(texts)}


def format_messages(
    messages: Messages,
    system_prompt: str | None = None,
    system_prompt_content: list[SystemContentBlock] | None = None,
) -> list[dict[str, Any]]:
    """Strands messages and system prompt -> the chat-completions ``messages`` array.

    The system prompt becomes one system message (chat templates such as Qwen's read only the
    first); tool results become ``tool`` messages placed before the rest of their user message.
    """
    formatted: list[dict[str, Any]] = []
    if system_prompt_content:
        system_texts = [block["text"] for block in system_prompt_content if "text" in block]
        if system_texts:
            formatted.append({"role": "system", "content": "\n".join(system_texts)})
    elif system_prompt:
        formatted.append({"role": "system", "content": system_prompt})

    for message in messages:
        role = message["role"]
        content = message["content"]
        if role == "assistant":
            texts: list[str] = []
            tool_calls: list[dict[str, Any]] = []
            for block in content:
                if "text" in block:
                    texts.append(block["text"])
                elif "toolUse" in block:
                    tool_use = block["toolUse"]
                    tool_calls.append(
                        {
                            "id": tool_use["toolUseId"],
                            "type": "function",
                            "function": {
                                "name": tool_use["name"],
                                "arguments": json.dumps(tool_use["input"], ensure_ascii=False),
                            },
                        }
                    )
                elif "reasoningContent" in block or "cachePoint" in block:
                    continue  # chat completions take no reasoning back; servers re-think each turn
                else:
                    raise _unsupported(next(iter(block)), "an assistant message")
            assistant: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
            if tool_calls:
                assistant["tool_calls"] = tool_calls
            elif not texts:
                continue
            formatted.append(assistant)
        elif role == "user":
            other: list[ContentBlock] = []
            for block in content:
                if "toolResult" in block:
                    formatted.append(_format_tool_result(block["toolResult"]))  # type: ignore[arg-type]
                else:
                    other.append(block)
            if other:
                formatted.append({"role": "user", "content": _format_user_content(other)})
        else:
            raise ValueError(f"message role {role!r} is not supported; expected 'user' or 'assistant'")
    return formatted


def format_tools(tool_specs: list[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": spec["name"],
                "description": spec["description"],
                "parameters": spec["inputSchema"]["json"],
            },
        }
        for spec in tool_specs
    ]


def format_tool_choice(tool_choice: ToolChoice) -> str | dict[str, Any]:
    if "auto" in tool_choice:
        return "auto"
    if "any" in tool_choice:
        return "required"
    if "tool" in tool_choice:
        return {"type": "function", "function": {"name": tool_choice["tool"]["name"]}}
    raise ValueError(
        f"tool_choice {tool_choice!r} is not one of {{'auto': {{}}}}, {{'any': {{}}}}, {{'tool': {{'name': ...}}}}"
    )


def chat_request(
    model_id: str,
    turn: Turn,
    *,
    format_choice: Callable[[ToolChoice], str | dict[str, Any] | None] = format_tool_choice,
    include_usage: bool = True,
) -> dict[str, Any]:
    """The streamed chat-completions body for one turn, before the provider's own fields.

    ``format_choice`` may return None to leave ``tool_choice`` out; ``include_usage`` False leaves
    out ``stream_options`` for servers that reject it.
    """
    request: dict[str, Any] = {
        "model": model_id,
        "messages": format_messages(turn.messages, turn.system_prompt, turn.system_prompt_content),
        "stream": True,
    }
    if include_usage:
        request["stream_options"] = {"include_usage": True}
    if turn.tool_specs:
        request["tools"] = format_tools(turn.tool_specs)
        if turn.tool_choice:
            choice = format_choice(turn.tool_choice)
            if choice is not None:
                request["tool_choice"] = choice
    return request


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


def _error_text(error: Any) -> str:
    """The message of an OpenAI-style error object (or the raw value when it has none)."""
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str):
            return message
    return json.dumps(error) if not isinstance(error, str) else error


# -- the model --------------------------------------------------------------------------------------


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    # Building one loads the CA bundle (about 40 ms); every client (one per model and event loop) shares it.
    return httpx.create_ssl_context()


class OpenAIChatModel(ProviderModel[ConfigT]):
    """A Strands model over any server speaking the OpenAI chat-completions stream."""

    #: Extra lower-case overflow wordings for this server family (HTTP 400 or in-stream errors).
    _overflow_markers: ClassVar[tuple[str, ...]] = CONTEXT_OVERFLOW_MARKERS
    #: vLLM ``return_token_ids``: gather ``prompt_token_ids`` and ``token_ids`` into messageStop.
    _collect_token_ids: bool = False
    #: llama.cpp drops reused keep-alive connections: resend once on a fresh one.
    _retry_dropped_connection: ClassVar[bool] = False
    #: Ask for usage in the last chunk (``stream_options``); False for servers that reject the field.
    _include_usage: ClassVar[bool] = True

    def __init__(self, config: dict[str, Any]) -> None:
        self._init_config(config)
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def _config_changed(self) -> None:
        """A new base URL, key or timeout: build the client again on next use."""
        self._client = None
        self._client_loop = None

    # -- subclass hooks -------------------------------------------------------------------------

    def _chat_url(self) -> str:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        api_key = self._api_key()
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _api_key(self) -> str | None:
        """The bearer token the default ``_headers`` send (none: no Authorization header)."""
        return self.config.get("api_key")

    def _timeout(self) -> httpx.Timeout:
        return DEFAULT_TIMEOUT

    def _request_params(self) -> dict[str, Any]:
        """Body fields from configuration (sampling, server-specific); they override the defaults."""
        return dict(self.config.get("params") or {})

    def _config_values(self, keys: tuple[str, ...]) -> dict[str, Any]:
        """The configuration values of ``keys`` that are set (None means unset), for ``_request_params``."""
        config = self.config
        return {key: config[key] for key in keys if config.get(key) is not None}

    def _shape_tools(self, turn: Turn) -> Turn:
        """The turn with the tools and tool choice this server is sent (default: as given)."""
        return turn

    def _format_tool_choice(self, tool_choice: ToolChoice) -> str | dict[str, Any] | None:
        return format_tool_choice(tool_choice)

    def _special_error(self, status: int | None, message: str, raw: str, url: str) -> Exception | None:
        """A server-specific exception for this error, or None for the common mapping."""
        return None

    # -- request ----------------------------------------------------------------------------------

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        request = chat_request(
            self.config["model_id"], self._shape_tools(turn),
            format_choice=self._format_tool_choice, include_usage=self._include_usage,
        )
        request.update(self._request_params())
        if request.get("stream") is not True:
            raise ValueError("these providers only stream: remove 'stream' from params")
        if request.get("n", 1) != 1:
            raise ValueError(f"params n={request['n']!r}: a Strands model returns one answer; remove 'n'")
        return request

    def _http_client(self) -> httpx.AsyncClient:
        # One client per model, reused; a new one only when the event loop changed (a pooled
        # connection cannot move between loops, and Agent() calls may run each on its own loop).
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = httpx.AsyncClient(timeout=self._timeout(), verify=_shared_ssl_context())
            self._client_loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the pooled connections (optional; the client is otherwise garbage-collected)."""
        if self._client is not None:
            await self._client.aclose()
        self._config_changed()

    async def _open_stream(self, request: dict[str, Any]) -> httpx.Response:
        url = self._chat_url()
        body = json.dumps(request, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream", **self._headers()}
        client = self._http_client()
        for attempt in (1, 2):
            try:
                if attempt == 1:
                    response = await client.send(
                        client.build_request("POST", url, content=body, headers=headers), stream=True
                    )
                else:
                    response = await self._send_on_fresh_connection(url, body, headers)
            except httpx.RemoteProtocolError as exc:
                if attempt == 1 and self._retry_dropped_connection:
                    logger.debug("server dropped a reused connection before answering (%s); retrying once", exc)
                    continue
                reason = f"the server closed the connection before answering ({exc})"
                raise ProviderConnectionError(url, reason) from exc
            except httpx.TimeoutException as exc:
                reason = f"timed out before the server answered ({type(exc).__name__})"
                raise ProviderConnectionError(url, reason) from exc
            except httpx.TransportError as exc:
                raise ProviderConnectionError(url, f"{type(exc).__name__}: {exc}") from exc
            is_json = response.headers.get("content-type", "").startswith("application/json")
            if is_json and response.status_code == 200:
                try:
                    raw = (await response.aread()).decode("utf-8", "replace")
                finally:
                    await response.aclose()
                raise MalformedStreamError(
                    f"{url} answered with a JSON document, not an event stream (does the server honour "
                    f"'stream': true?): {raw[:300]!r}"
                )
            if response.status_code != 200:
                try:
                    raw = (await response.aread()).decode("utf-8", "replace")
                finally:
                    await response.aclose()
                raise self._http_error(response.status_code, raw, url)
            return response
        raise AssertionError("unreachable")

    async def _send_on_fresh_connection(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        fresh = httpx.AsyncClient(timeout=self._timeout(), verify=_shared_ssl_context())
        try:
            response = await fresh.send(fresh.build_request("POST", url, content=body, headers=headers), stream=True)
        except BaseException:
            await fresh.aclose()
            raise
        close_response = response.aclose

        async def close_both() -> None:  # the one-off client goes when its response does
            try:
                await close_response()
            finally:
                await fresh.aclose()

        response.aclose = close_both  # type: ignore[method-assign]
        return response

    # -- errors: the one translation boundary --------------------------------------------------

    def _http_error(self, status: int, raw: str, url: str) -> Exception:
        message = raw
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and "error" in payload:
            message = _error_text(payload["error"])
        elif isinstance(payload, dict) and isinstance(payload.get("message"), str):
            message = payload["message"]
        return self._mapped_error(status, message, raw, url, ProviderHTTPError(status, raw, url))

    def _stream_error(self, error: Any, url: str) -> Exception:
        raw = json.dumps(error, ensure_ascii=False)
        status = error.get("code") if isinstance(error, dict) else None
        original = StreamServerError(f"the server reported an error inside the stream from {url}: {raw[:2000]}")
        return self._mapped_error(status if isinstance(status, int) else None, _error_text(error), raw, url, original)

    def _mapped_error(self, status: int | None, message: str, raw: str, url: str, original: ProviderError) -> Exception:
        """Map to the Strands exception the event loop acts on, with ``original`` as ``__cause__``."""
        special = self._special_error(status, message, raw, url)
        lowered = raw.lower()
        if special is None:
            if status in _THROTTLE_STATUSES or "rate_limit" in lowered or "rate limit" in lowered:
                special = ModelThrottledException(f"the server is throttling requests ({status}): {message}")
            elif (status is None or status in (400, 413)) and any(m in lowered for m in self._overflow_markers):
                special = ContextWindowOverflowException(f"the prompt does not fit the model's context: {message}")
        if special is None:
            return original
        special.__cause__ = original
        return special

    # -- streaming ---------------------------------------------------------------------------------

    async def _stream_request(self, build_request: Callable[[], dict[str, Any]]) -> AsyncGenerator[StreamEvent, None]:
        request = build_request()
        asm = StreamAssembler(started_at=time.perf_counter())
        url = self._chat_url()
        response = await self._open_stream(request)
        collect = self._collect_token_ids
        prompt_token_ids: list[int] | None = None
        token_ids: list[int] = []
        scan = _scan_json
        text = asm.text
        done = False
        data: bytes | None = None
        rest = b""
        try:
            for event in asm.start():
                yield event
            try:
                # aiter_raw skips two layers of httpx iteration when there is no content-encoding.
                blocks = response.aiter_bytes() if "content-encoding" in response.headers else response.aiter_raw()
                async for block in blocks:
                    lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
                    rest = lines.pop()
                    for line in lines:
                        if line[:5] == b"data:":
                            payload = line[6:] if line[5:6] == b" " else line[5:]
                            if data is None:
                                data = payload
                            else:  # a multi-line event: rare, so the CR handling lives here
                                data = (data[:-1] if data[-1:] == b"\r" else data) + b"\n" + payload
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
                            decoded = payload.decode()
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
                            raise self._stream_error(chunk["error"], url)
                        elif chunk.get("object") == "error":  # vLLM's bare error object
                            raise self._stream_error(chunk, url)
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
                            )
                    if done:
                        break
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.TimeoutException) as exc:
                raise TruncatedStreamError(
                    f"the connection to {url} broke mid-stream ({type(exc).__name__}: {exc}); "
                    "the server may have crashed or restarted"
                ) from exc
            if not done:
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
