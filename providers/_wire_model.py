"""The wire-neutral base of every provider that talks HTTP through httpx.

Why it exists: the OpenAI chat-completions core, Anthropic, Bedrock, Ollama and the Llama API send
a JSON request and read a streamed answer the same way; only the request and the decoding of the
stream differ. ``WireModel`` holds the shared part once, on top of ``ProviderModel`` (configuration
API, ``stream``, structured output):

- the HTTP plumbing: one pooled client per model and event loop, headers, opening a streamed
  response (status checked, error body read), closing it;
- the bounds on a server that stops progressing: the provider's timeout option (``_timeout_setting``,
  as its upstream SDK names it, in ``_timeout_unit`` seconds) for connect and read, the read capped
  by the progress deadline, which ``_blocks`` also enforces against keep-alives that carry no
  content (``providers.errors`` documents both);
- the error boundary (``providers._error_boundary``) around each whole exchange, and the mapping
  of a server's error (HTTP status or error object) to throttling / context overflow;
- the frame of one turn: build the request on the first iteration, start the assembler before the
  request goes out (latency counts the wait), open the response, decode it, always close it.

A wire sets ``_finish_words`` (its finish words -> Strands stop reasons) and
``_overflow_markers``, and writes ``_chat_url``, ``_format_turn`` and ``_decode`` (its wire in,
Strands events out through the assembler); it overrides ``_exchange`` only when one turn takes
several requests, and ``_special_error`` for a server error worth its own exception.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any, ClassVar

import httpx
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException
from strands.types.streaming import StreamEvent

from ._assembler import StreamAssembler, progress_clock
from ._error_boundary import ErrorBoundary
from ._model_base import ConfigT, ProviderModel
from .errors import (
    CONTEXT_OVERFLOW_MARKERS, MalformedStreamError, ProviderError, ProviderHTTPError, StalledStreamError,
)

__all__ = ["DEFAULT_TIMEOUT", "WireModel", "as_timeout"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
# llama.cpp (cpp-httplib), uvicorn (vLLM) and Node close a keep-alive connection 5 s after they wrote
# the last response; httpx's default expiry is also 5 s but counts from when the client finished
# reading, a little later, so a connection reused near 5 s idle could be one the server had just
# closed ("Server disconnected without sending a response"). Expire well before any common server.
KEEPALIVE_EXPIRY_S = 2.0
_LIMITS = httpx.Limits(max_keepalive_connections=20, max_connections=100, keepalive_expiry=KEEPALIVE_EXPIRY_S)
_THROTTLE_STATUSES = frozenset({429, 503})


def as_timeout(value: Any, unit: float = 1.0) -> httpx.Timeout:
    """A provider's timeout option as httpx applies it: unset -> ``DEFAULT_TIMEOUT``; a number (in
    ``unit`` seconds) for every phase; ``(connect, read)`` as upstream llama.cpp takes it; an ``httpx.Timeout``."""
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, tuple):
        connect, read = value
        return httpx.Timeout(float(read) * unit, connect=float(connect) * unit)
    return httpx.Timeout(float(value) * unit)


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    # Building one loads the CA bundle (about 40 ms); every client (one per model and event loop) shares it.
    return httpx.create_ssl_context()


class WireModel(ProviderModel[ConfigT]):
    """A Strands model that sends one JSON request over httpx and decodes the streamed answer."""

    #: The wire's finish words -> Strands stop reasons (Strands' own names pass through the assembler).
    _finish_words: ClassVar[Mapping[str, str]] = {}
    #: Lower-case overflow wordings of this server family (HTTP 400/413 or in-stream errors).
    _overflow_markers: ClassVar[tuple[str, ...]] = CONTEXT_OVERFLOW_MARKERS
    #: The Accept header of the streamed answer.
    _accept: ClassVar[str] = "text/event-stream"
    #: Seconds per unit of the provider's timeout option (Mistral's ``timeout_ms``: 0.001).
    _timeout_unit: ClassVar[float] = 1.0

    def __init__(self, config: dict[str, Any]) -> None:
        self._init_config(config)
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        # Whether the pooled client has answered a request: only then can a send go out on a reused
        # connection, which a server may close at the instant we reuse it.
        self._client_has_answered = False

    def _config_changed(self) -> None:
        """A new base URL, key or timeout: build the client again on next use."""
        self._client = None
        self._client_loop = None
        self._client_has_answered = False

    # -- hooks ----------------------------------------------------------------------------------

    def _chat_url(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define _chat_url: where the request goes")

    def _headers(self) -> dict[str, str]:
        api_key = self._api_key()
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _api_key(self) -> str | None:
        """The bearer token the default ``_headers`` send (none: no Authorization header)."""
        return self.config.get("api_key")

    def _request_headers(self, url: str, body: bytes) -> dict[str, str]:
        """Every header of one request (Bedrock signs the body here)."""
        return {"Content-Type": "application/json", "Accept": self._accept, **self._headers()}

    def _timeout_setting(self) -> Any:
        """The provider's timeout option, as its upstream SDK names it (None: unset)."""
        return None

    def _timeout(self) -> httpx.Timeout:
        return as_timeout(self._timeout_setting(), self._timeout_unit)

    def _default_progress_timeout(self) -> float:
        return self._timeout().read or super()._default_progress_timeout()

    def _client_timeout(self) -> httpx.Timeout:
        """The timeout option, its read timeout no longer than the progress deadline: a server that
        sends nothing at all is then stopped by httpx, one that sends only pings by ``_blocks``."""
        timeout = self._timeout()
        progress = self._progress_timeout()
        if timeout.read is not None and timeout.read <= progress:
            return timeout
        return httpx.Timeout(connect=timeout.connect, read=progress, write=timeout.write, pool=timeout.pool)

    def _error_body(self, response: httpx.Response, body: str) -> str:
        """The text an HTTP error is judged and reported by (Bedrock adds its error-type header)."""
        return body

    def _special_error(self, status: int | None, message: str, raw: str, url: str) -> Exception | None:
        """A server-specific exception for this error, or None for the common mapping."""
        return None

    def _decode(self, response: httpx.Response, asm: StreamAssembler, url: str) -> AsyncIterator[StreamEvent]:
        """The response's wire events fed into ``asm``; yields the Strands events, ``asm.finish()``'s last."""
        raise NotImplementedError(f"{type(self).__name__} must define _decode: its wire format into the assembler")

    # -- one turn -------------------------------------------------------------------------------

    def _boundary(self, url: str) -> ErrorBoundary:
        return ErrorBoundary(url, self._mapped_error)

    def _assembler(self) -> StreamAssembler:
        return StreamAssembler(started_at=time.perf_counter(), finish_words=self._finish_words)

    async def _stream_request(self, build_request: Callable[[], dict[str, Any]]) -> AsyncGenerator[StreamEvent, None]:
        request = build_request()
        asm = self._assembler()
        url = self._chat_url()
        with self._boundary(url) as boundary:
            async for event in self._exchange(request, asm, url, boundary):
                yield event

    async def _blocks(self, response: httpx.Response, asm: StreamAssembler, url: str) -> AsyncIterator[bytes]:
        """The body's blocks; the stream ends once no content reached ``asm`` for the progress deadline."""
        deadline = self._progress_timeout()
        clock = progress_clock
        async for block in response.aiter_bytes():
            if clock() - asm.progress_at > deadline:
                raise StalledStreamError(url, deadline, f"no new content for {deadline:g} s (progress_timeout)")
            yield block

    async def _exchange(
        self, request: dict[str, Any], asm: StreamAssembler, url: str, boundary: ErrorBoundary
    ) -> AsyncGenerator[StreamEvent, None]:
        """Send ``request`` and decode its one response, closed whatever happens."""
        response = await boundary.open(self._open_stream(request))
        try:
            async for event in self._decode(response, asm, url):
                yield event
        finally:
            await response.aclose()

    # -- HTTP -----------------------------------------------------------------------------------

    def _http_client(self) -> httpx.AsyncClient:
        # One client per model, reused; a new one only when the event loop changed (a pooled
        # connection cannot move between loops, and Agent() calls may run each on its own loop).
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = self._new_client()
            self._client_loop = loop
            self._client_has_answered = False
        return self._client

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self._client_timeout(), verify=_shared_ssl_context(), limits=_LIMITS)

    async def aclose(self) -> None:
        """Close the pooled connections (optional; the client is otherwise garbage-collected)."""
        if self._client is not None:
            await self._client.aclose()
        self._config_changed()

    async def _open_stream(self, request: dict[str, Any]) -> httpx.Response:
        """The streamed 200 response to ``request``; an error status raises ``ProviderHTTPError``.

        Runs inside the caller's ``ErrorBoundary``, which maps what this raises.
        """
        url = self._chat_url()
        body = json.dumps(request, ensure_ascii=False).encode()
        headers = self._request_headers(url, body)
        client = self._http_client()
        may_reuse = self._client_has_answered
        try:
            response = await client.send(client.build_request("POST", url, content=body, headers=headers), stream=True)
        except httpx.RemoteProtocolError as exc:
            # Closed before any byte of the answer on a connection that may have been pooled: the
            # server never read the request (an idle close racing our send), so it is safe to send
            # once more on a new connection. A first request, or a second drop, is the server's fault.
            if not may_reuse:
                raise
            logger.debug("server closed a reused connection before answering (%s); sending once more", exc)
            response = await self._send_on_fresh_connection(url, body, headers)
        self._client_has_answered = True
        is_json = response.headers.get("content-type", "").startswith("application/json")
        if response.status_code == 200 and not is_json:
            return response
        try:
            raw = (await response.aread()).decode("utf-8", "replace")
        finally:
            await response.aclose()
        if response.status_code == 200:
            raise MalformedStreamError(
                f"{url} answered with a JSON document, not an event stream (does the server honour "
                f"'stream': true?): {raw[:300]!r}"
            )
        raise ProviderHTTPError(response.status_code, self._error_body(response, raw), url)

    async def _send_on_fresh_connection(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        fresh = self._new_client()
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

    # -- a server's error -----------------------------------------------------------------------

    def _mapped_error(self, status: int | None, message: str, raw: str, url: str, original: ProviderError) -> Exception:
        """The Strands exception the event loop acts on, with ``original`` as ``__cause__``; else ``original``."""
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
