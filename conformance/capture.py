"""Capture live traffic at the httpx transport: what the provider sent, what the server answered.

In `--conformance-live` runs the capture gives the request-shape checks the requests the provider really sent,
and with `--conformance-record` it is the source of a new cassette: every response chunk exactly as httpx read
it, timed from the moment the request left. The capture is *complete* only when every response body
was read to its end (or the server closed it, which is recorded as such); an incomplete capture is
never written.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from conformance.cassette import (
    KEPT_REQUEST_HEADERS,
    Cassette,
    KEPT_RESPONSE_HEADERS,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    filter_headers,
)
from conformance.replay import SentRequest, sent_request

__all__ = ["Capture", "CapturedExchange", "IncompleteRecording"]


class IncompleteRecording(RuntimeError):
    """The capture cannot become a cassette (a response unread or missing); the old cassette stays."""


@dataclass
class CapturedExchange:
    sent: SentRequest
    started: float
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    end: str | None = None  # None while the body is unread; "complete" or "closed" once read
    error: str | None = None

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    def to_interaction(self) -> Interaction:
        request = RecordedRequest(
            self.sent.method, self.sent.path, filter_headers(self.sent.headers, KEPT_REQUEST_HEADERS), self.sent.body
        )
        response = RecordedResponse(self.status or 0, self.headers, list(self.chunks), self.end or "complete")
        return Interaction(request, response)


_CLOSED_ERRORS = (httpx.RemoteProtocolError, httpcore.RemoteProtocolError, httpx.ReadError, httpcore.ReadError)


class _CapturingStream(httpx.AsyncByteStream, httpx.SyncByteStream):
    """Records each chunk as the client reads it.

    A client may stop reading early (at SSE `[DONE]`, or on an error it raises): the rest of the body is
    still the server's answer, so it is drained into the capture before the connection is released,
    whether the client abandons the iteration (GeneratorExit) or closes the response first.
    """

    def __init__(self, inner: Any, exchange: CapturedExchange) -> None:
        self._inner = inner
        self._exchange = exchange
        # One iterator over the inner stream for reading and draining alike: a second iteration of an
        # httpcore body does not resume where the first stopped.
        self._iterator: Any = None

    def _async_iterator(self) -> Any:
        if self._iterator is None:
            self._iterator = self._inner.__aiter__()
        return self._iterator

    def _sync_iterator(self) -> Any:
        if self._iterator is None:
            self._iterator = iter(self._inner)
        return self._iterator

    def _keep(self, data: bytes) -> None:
        self._exchange.chunks.append(Chunk(self._exchange.elapsed_ms(), bytes(data)))

    def _failed(self, exc: BaseException) -> None:
        if self._exchange.end is not None:
            return  # already drained to its end; a late error of the abandoned iteration changes nothing
        if isinstance(exc, _CLOSED_ERRORS):
            self._exchange.end, self._exchange.error = "closed", repr(exc)
        else:
            self._exchange.error = f"body not read to its end: {exc!r}"

    async def _adrain(self, iterator: Any) -> None:
        if self._exchange.end is not None:
            return
        try:
            async for data in iterator:
                self._keep(data)
            self._exchange.end, self._exchange.error = "complete", None
        except Exception as exc:
            self._failed(exc)

    def _drain(self, iterator: Any) -> None:
        if self._exchange.end is not None:
            return
        try:
            for data in iterator:
                self._keep(data)
            self._exchange.end, self._exchange.error = "complete", None
        except Exception as exc:
            self._failed(exc)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        iterator = self._async_iterator()
        try:
            async for data in iterator:
                self._keep(data)
                yield data
        except GeneratorExit:
            await self._adrain(iterator)
            raise
        except BaseException as exc:
            self._failed(exc)
            raise
        self._exchange.end = "complete"

    def __iter__(self) -> Iterator[bytes]:
        iterator = self._sync_iterator()
        try:
            for data in iterator:
                self._keep(data)
                yield data
        except GeneratorExit:
            self._drain(iterator)
            raise
        except BaseException as exc:
            self._failed(exc)
            raise
        self._exchange.end = "complete"

    async def aclose(self) -> None:
        await self._adrain(self._async_iterator())
        await self._inner.aclose()

    def close(self) -> None:
        self._drain(self._sync_iterator())
        self._inner.close()


class Capture:
    """Context manager wrapping every httpx transport of the process while it is active."""

    def __init__(self) -> None:
        self.exchanges: list[CapturedExchange] = []
        self._saved: list[tuple[type, str, Any]] = []

    @property
    def sent(self) -> list[SentRequest]:
        return [exchange.sent for exchange in self.exchanges]

    def incomplete_reasons(self) -> list[str]:
        """Why this capture cannot become a cassette (empty when it can)."""
        if not self.exchanges:
            return ["no request was sent"]
        reasons = []
        for number, exchange in enumerate(self.exchanges):
            if exchange.status is None:
                reasons.append(f"request #{number} got no response ({exchange.error})")
            elif exchange.end is None:
                reasons.append(f"response #{number} was not read to its end ({exchange.error or 'abandoned'})")
        return reasons

    def interactions(self) -> list[Interaction]:
        return [exchange.to_interaction() for exchange in self.exchanges]

    def to_cassette(self, wire: str, case: str, source: dict[str, Any]) -> Cassette:
        """The cassette of this capture; raises `IncompleteRecording` unless every response was read to its end."""
        reasons = self.incomplete_reasons()
        if reasons:
            raise IncompleteRecording("; ".join(reasons))
        return Cassette(wire, case, source, self.interactions())

    def __enter__(self) -> Capture:
        capture = self
        async_original = httpx.AsyncHTTPTransport.handle_async_request
        sync_original = httpx.HTTPTransport.handle_request

        async def handle_async_request(transport: Any, request: httpx.Request) -> httpx.Response:
            exchange = capture._begin(request)
            try:
                response = await async_original(transport, request)
            except BaseException as exc:
                exchange.error = repr(exc)
                raise
            return capture._wrap(response, exchange)

        def handle_request(transport: Any, request: httpx.Request) -> httpx.Response:
            exchange = capture._begin(request)
            try:
                response = sync_original(transport, request)
            except BaseException as exc:
                exchange.error = repr(exc)
                raise
            return capture._wrap(response, exchange)

        self._saved = [
            (httpx.AsyncHTTPTransport, "handle_async_request", async_original),
            (httpx.HTTPTransport, "handle_request", sync_original),
        ]
        httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]
        httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for owner, name, original in self._saved:
            setattr(owner, name, original)
        self._saved = []

    def _begin(self, request: httpx.Request) -> CapturedExchange:
        exchange = CapturedExchange(sent_request(request), time.perf_counter())
        self.exchanges.append(exchange)
        return exchange

    def _wrap(self, response: httpx.Response, exchange: CapturedExchange) -> httpx.Response:
        exchange.status = response.status_code
        exchange.headers = filter_headers(response.headers, KEPT_RESPONSE_HEADERS)
        response.stream = _CapturingStream(response.stream, exchange)
        return response
