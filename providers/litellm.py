"""Reference Strands provider over the real `litellm` library (`litellm.acompletion`, streamed).

Why it exists: LiteLLM is how many users reach vLLM, llama.cpp and hosted APIs from Strands, and its
failure classes are its own (tool calls reported as `stop`, context overflow left unmapped, usage
missing). This provider keeps LiteLLM in the path (routing, provider prefixes, its error classes)
and puts its OpenAI-format chunks through the shared `StreamAssembler`, so the stop, tool-call and
usage rules are the same as every other provider's.

LiteLLM is an optional extra (`pip install 'provider-conformance[litellm]'`). Before importing it
this module turns off two of its import-time behaviours that break offline, replayable runs: the
download of the remote model cost map (`LITELLM_LOCAL_MODEL_COST_MAP`), and the aiohttp transport
(`DISABLE_AIOHTTP_TRANSPORT`), so requests go through httpx, where the suite's respx replay and
capture see them.

LiteLLM decodes the body itself (bytes that are not UTF-8 become U+FFFD, a line is buffered whole
however long), so the rules every wire keeps (``providers.errors``) are applied beneath it: each
call gets LiteLLM's HTTP handler over a transport whose response bodies are checked as they arrive
(``InvalidUTF8Error``, ``OversizeEventError`` past ``max_event_bytes``), and the time bounds are
kept here rather than trusted to LiteLLM: the handler carries the read timeout, and each chunk
with content must come within the progress deadline, whether or not LiteLLM hands over the
keep-alives in between.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import logging
import os
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypedDict

import httpx

from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException
from strands.types.streaming import StreamEvent
from typing_extensions import Unpack

from ._assembler import StreamAssembler, progress_clock
from ._model_base import ProviderModel, Turn
from ._chat_format import chat_request
from ._openai_chat import CHAT_FINISH_WORDS
from .errors import (
    InvalidUTF8Error,
    MalformedStreamError,
    OversizeEventError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    StalledStreamError,
    StreamServerError,
    TruncatedStreamError,
    is_context_overflow,
)

__all__ = ["LiteLLMModel"]

logger = logging.getLogger(__name__)


class LiteLLMConfig(TypedDict, total=False):
    """The configuration keys of upstream `strands.models.litellm.LiteLLMModel.LiteLLMConfig`."""

    context_window_limit: int | None
    model_id: str
    params: dict[str, Any] | None
    stream: bool
    cache_config: Any


def _import_litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")
    try:
        import litellm
    except ImportError as exc:
        raise ImportError(
            "LiteLLMModel needs the litellm package: pip install 'provider-conformance[litellm]'"
        ) from exc
    litellm.disable_aiohttp_transport = True
    litellm.suppress_debug_info = True
    try:  # imported by LiteLLM on the first call with tools (seconds): at construction, not inside a deadline
        import litellm.responses.mcp.chat_completions_handler  # noqa: F401
    except ImportError:
        pass
    return litellm


class _CheckedBody(httpx.AsyncByteStream):
    """A response body passed on as it arrives, raising once it is not UTF-8 or a line passes ``limit``."""

    def __init__(self, inner: httpx.AsyncByteStream, url: str, limit: int) -> None:
        self._inner = inner
        self._url = url
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        offset = 0  # body offset of `block`
        unended = 0  # bytes of the line not yet ended
        async for block in self._inner:
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                # The decoder may hold the start of a character from the previous block: offsets are approximate there.
                raise InvalidUTF8Error(self._url, max(offset + exc.start, 0), exc.object[exc.start:exc.end]) from exc
            start = 0
            while (end := block.find(b"\n", start)) >= 0:  # every line the block ends, then its unended tail
                if unended + end - start > self._limit:
                    raise OversizeEventError(self._url, self._limit, "a line")
                unended, start = 0, end + 1
            unended += len(block) - start
            if unended > self._limit:
                raise OversizeEventError(self._url, self._limit, "a line")
            offset += len(block)
            yield block

    async def aclose(self) -> None:
        await self._inner.aclose()


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds: once per process, not once per call's handler.
    return httpx.create_ssl_context()


class _CheckedTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, its response bodies read through ``_CheckedBody``."""

    def __init__(self, limit: int) -> None:
        self._inner = httpx.AsyncHTTPTransport(verify=_shared_ssl_context())
        self._limit = limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        response.stream = _CheckedBody(stream, str(request.url), self._limit)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class LiteLLMModel(ProviderModel[LiteLLMConfig]):
    """A Strands model over `litellm.acompletion`.

    Args:
        client_args: passed to every `litellm.acompletion` call (`api_base`, `api_key`, `timeout`, ...).
        **model_config: the keys of `LiteLLMConfig`; `model_id` is a LiteLLM model name such as
            `hosted_vllm/smollm2` or `openai/smollm2` (with `api_base` in `client_args`).
    """

    CONFIG_KEYS = frozenset(LiteLLMConfig.__annotations__)
    MODEL_ID_EXAMPLE = "a LiteLLM model name such as 'hosted_vllm/smollm2'"
    _max_tokens_fix = "raise max_tokens in params"

    def __init__(self, client_args: dict[str, Any] | None = None, **model_config: Unpack[LiteLLMConfig]) -> None:
        self._litellm = _import_litellm()
        self._init_config(dict(model_config))
        if model_config.get("stream") is False:
            raise ValueError("LiteLLMModel (reference) only streams: remove stream=False")
        self.client_args = dict(client_args or {})

    # -- request ---------------------------------------------------------------------------------

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        """The keyword arguments of `litellm.acompletion` (OpenAI chat format)."""
        request = chat_request(self.config["model_id"], turn)
        request.update(self.config.get("params") or {})
        return request

    # -- stream ----------------------------------------------------------------------------------

    def _default_progress_timeout(self) -> float:
        timeout = self.client_args.get("timeout")  # litellm's, in seconds
        return float(timeout) if isinstance(timeout, (int, float)) else super()._default_progress_timeout()

    async def _stream_request(self, build_request: Callable[[], dict[str, Any]]) -> AsyncGenerator[StreamEvent, None]:
        request = build_request()
        asm = StreamAssembler(started_at=time.perf_counter(), finish_words=CHAT_FINISH_WORDS)
        where = f"litellm model {self.config['model_id']!r}" + (
            f" at {self.client_args['api_base']}" if self.client_args.get("api_base") else ""
        )
        deadline = self._progress_timeout()
        with _LiteLLMBoundary(self, where) as boundary:
            # The answer's start is bounded by the handler's read timeout: LiteLLM's own work before sending
            # (hundreds of milliseconds on a busy machine) must not count against it.
            response = await self._litellm.acompletion(**self.client_args, **request, client=self._http_handler())
            boundary.answered = True
            try:
                for event in asm.start():
                    yield event
                chunks = aiter(response)
                while True:
                    # Keep-alives and chunks without content are not progress; LiteLLM may never hand them over.
                    left = deadline - (progress_clock() - asm.progress_at)
                    try:
                        chunk = await asyncio.wait_for(anext(chunks), max(left, 0.0))
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        raise StalledStreamError(
                            where, deadline, f"no new content for {deadline:g} s (progress_timeout)") from None
                    for event in self._feed(asm, chunk, where):
                        yield event
                # LiteLLM adds a finish_reason "stop" of its own when the server sent none (a stream cut short, or
                # one whose lines it could not parse and dropped); its wrapper keeps what the server really said.
                server_finish = getattr(response, "received_finish_reason", None) or getattr(
                    response, "intermittent_finish_reason", None
                )
                if asm.finish_reason is None or (hasattr(response, "received_finish_reason") and server_finish is None):
                    raise TruncatedStreamError(
                        f"the stream from {where} ended with no finish reason from the server (LiteLLM reported "
                        f"{asm.finish_reason!r}): the server stopped mid-answer, or sent lines LiteLLM dropped"
                    )
                for event in asm.finish():
                    yield event
            finally:
                close = getattr(response, "aclose", None)
                if close is not None:
                    try:
                        await close()
                    except Exception:  # noqa: BLE001 - closing a finished stream must not mask the real outcome
                        pass

    def _http_handler(self) -> Any:
        """LiteLLM's async HTTP handler over a transport that keeps the UTF-8 and event-size rules."""
        from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

        return AsyncHTTPHandler(timeout=self.client_args.get("timeout"), ssl_verify=_shared_ssl_context(),
                                transport=_CheckedTransport(self._max_event_bytes()))

    # Our own reader of LiteLLM chunk objects (attributes, not JSON): conformance decodes the wire bytes instead.
    @staticmethod
    def _feed(asm: StreamAssembler, chunk: Any, where: str) -> list[StreamEvent]:
        """One LiteLLM `ModelResponseStream` (OpenAI chunk shape) into the assembler."""
        events: list[StreamEvent] = []
        for choice in getattr(chunk, "choices", None) or ():
            delta = getattr(choice, "delta", None)
            if delta is not None:
                reasoning = getattr(delta, "reasoning_content", None) or getattr(delta, "reasoning", None)
                if reasoning:
                    events.extend(asm.reasoning_text(reasoning))
                content = getattr(delta, "content", None)
                if content:
                    events.extend(asm.text(content))
                for position, call in enumerate(getattr(delta, "tool_calls", None) or ()):
                    function = getattr(call, "function", None)
                    index = getattr(call, "index", None)
                    events.extend(
                        asm.tool_call(
                            position if index is None else index,
                            id=getattr(call, "id", None),
                            name=getattr(function, "name", None) if function is not None else None,
                            arguments=getattr(function, "arguments", None) if function is not None else None,
                        )
                    )
            finish = getattr(choice, "finish_reason", None)
            if finish:
                asm.set_finish_reason(finish)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            prompt, completion = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
            if prompt is not None or completion is not None:
                details = getattr(usage, "prompt_tokens_details", None)
                # LiteLLM keeps the cache-write count apart from OpenAI's details (Anthropic's, Bedrock's, the proxy's).
                asm.set_usage(prompt, completion, getattr(usage, "total_tokens", None),
                              getattr(details, "cached_tokens", None) if details is not None else None,
                              getattr(usage, "cache_creation_input_tokens", None))
        return events

    def _mapped(self, exc: BaseException, where: str, *, mid_stream: bool = False) -> Exception:
        """LiteLLM's exception classes to the Strands ones the loop acts on (the original is __cause__)."""
        litellm = self._litellm
        text = str(exc)
        lowered = text.lower()
        status = getattr(exc, "status_code", None)
        if mid_stream and ("peer closed" in lowered or "incomplete" in lowered or "disconnected" in lowered):
            # LiteLLM wraps a dropped connection as MidStreamFallbackError, a ServiceUnavailableError (500).
            return TruncatedStreamError(f"the connection to {where} broke mid-stream: {text}")
        if mid_stream and isinstance(exc, litellm.Timeout):
            return StalledStreamError(where, None, f"nothing arrived within the read timeout ({text})")
        if isinstance(exc, (litellm.RateLimitError, litellm.ServiceUnavailableError)) or status in (429, 503):
            return ModelThrottledException(f"{where} is throttling requests ({status}): {text}")
        if isinstance(exc, litellm.ContextWindowExceededError) or is_context_overflow(text, "litellm"):
            return ContextWindowOverflowException(f"the prompt does not fit the model's context ({where}): {text}")
        if isinstance(exc, (litellm.Timeout, litellm.APIConnectionError)) and not mid_stream:
            if "connect" in lowered or "connection" in lowered:
                return ProviderConnectionError(str(self.client_args.get("api_base") or where), text)
        if mid_stream:
            if isinstance(exc, ValueError) and ("json" in lowered or "decode" in lowered or "expecting" in lowered):
                return MalformedStreamError(f"a chunk in the stream from {where} could not be decoded: {text}")
            return StreamServerError(f"the stream from {where} failed: {type(exc).__name__}: {text}")
        if isinstance(status, int):
            return ProviderHTTPError(status, text, where)
        return StreamServerError(f"{where} failed before streaming: {type(exc).__name__}: {text}")


class _LiteLLMBoundary:
    """LiteLLM's error boundary: around the call and the iteration, its exceptions mapped by ``_mapped``.

    Ours and the two Strands exceptions pass through; anything else raised before the stream
    began (``answered`` False) or while it ran is mapped once, by that phase.
    """

    __slots__ = ("_model", "_where", "answered")

    def __init__(self, model: LiteLLMModel, where: str) -> None:
        self._model = model
        self._where = where
        self.answered = False

    def __enter__(self) -> _LiteLLMBoundary:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, traceback: Any) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        if isinstance(exc, (ContextWindowOverflowException, ModelThrottledException, ProviderError)):
            return False
        # LiteLLM wraps what the checked body raised in its own classes: the rule it broke is the error.
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, (InvalidUTF8Error, OversizeEventError)):
                raise cause from exc
            cause = cause.__cause__ or cause.__context__
        raise self._model._mapped(exc, self._where, mid_stream=self.answered) from exc
