"""The one place where an httpx wire's foreign failures become ``providers.errors`` or Strands exceptions.

Why it exists: a timeout, a dropped connection, an HTTP error status or an error object inside the
stream used to be mapped in several ``except`` blocks (the send, the stream loop, each decoder),
each with its own wording and gaps. An ``ErrorBoundary`` wraps one whole exchange, sending and
iterating, and maps what leaves it by the phase it happened in:

- httpx transport errors before the server answered -> ``ProviderConnectionError``; after (the
  stream had begun) -> ``TruncatedStreamError`` (``StalledStreamError`` for a read timeout).
- ``ProviderHTTPError`` (a non-2xx answer) and ``StreamServerError`` carrying the server's error
  (``reported``) -> the provider's ``map_reported``: throttling and context overflow become the
  two Strands exceptions, anything else stays as it is.

Errors the decoders raise about the stream itself (malformed, truncated) pass through unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import httpx

from .errors import ProviderConnectionError, ProviderError, ProviderHTTPError, StalledStreamError
from .errors import StreamServerError, TruncatedStreamError

__all__ = ["ErrorBoundary", "ReportedMapper", "error_text", "http_error_message", "reported_error"]

#: ``(status or None, message, raw text, url, original error) -> the exception to raise``.
ReportedMapper = Callable[[int | None, str, str, str, ProviderError], Exception]


def error_text(error: Any) -> str:
    """The message of an OpenAI-style error object (or the raw value when it has none)."""
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str):
            return message
    return json.dumps(error) if not isinstance(error, str) else error


def http_error_message(body: str) -> str:
    """The human message inside an HTTP error body (``error.message``, ``message``), else the body."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if isinstance(payload, dict) and "error" in payload:
        return error_text(payload["error"])
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return payload["message"]
    return body


def reported_error(error: Any, url: str) -> StreamServerError:
    """An OpenAI-style error object found inside the stream, for the boundary to map."""
    raw = json.dumps(error, ensure_ascii=False)
    status = error.get("code") if isinstance(error, dict) else None
    return StreamServerError(
        f"the server reported an error inside the stream from {url}: {raw[:2000]}",
        reported=(status if isinstance(status, int) else None, error_text(error), raw),
    )


class ErrorBoundary:
    """Context manager around one exchange (every request of it and every chunk of its answers)."""

    __slots__ = ("url", "answered", "_map_reported")

    def __init__(self, url: str, map_reported: ReportedMapper) -> None:
        self.url = url
        self.answered = False  # False while a request is on its way: failures then are connection failures
        self._map_reported = map_reported

    async def open(self, opening: Awaitable[httpx.Response]) -> httpx.Response:
        """Await the response of one request; from then on a broken connection truncates the stream."""
        self.answered = False
        response = await opening
        self.answered = True
        return response

    def __enter__(self) -> ErrorBoundary:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        if exc is None:
            return False
        if isinstance(exc, httpx.TransportError):
            raise self._transport_error(exc) from exc
        if type(exc) is ProviderHTTPError:
            mapped = self._map_reported(exc.status, http_error_message(exc.body), exc.body, self.url, exc)
        elif isinstance(exc, StreamServerError) and exc.reported is not None:
            status, message, raw = exc.reported
            mapped = self._map_reported(status, message, raw, self.url, exc)
        else:
            return False
        if mapped is exc:
            return False
        raise mapped from exc

    def _transport_error(self, exc: httpx.TransportError) -> ProviderError:
        url = self.url
        if self.answered and isinstance(exc, httpx.TimeoutException):
            why = f"the connection broke mid-stream ({type(exc).__name__}: nothing arrived within the read timeout)"
            return StalledStreamError(url, None, why)
        if self.answered:
            return TruncatedStreamError(
                f"the connection to {url} broke mid-stream ({type(exc).__name__}: {exc}); the answer is incomplete "
                "(the server may have crashed or restarted)"
            )
        if isinstance(exc, httpx.RemoteProtocolError):
            return ProviderConnectionError(url, f"the server closed the connection before answering ({exc})")
        if isinstance(exc, httpx.TimeoutException):
            return ProviderConnectionError(url, f"timed out before the server answered ({type(exc).__name__})")
        return ProviderConnectionError(url, f"{type(exc).__name__}: {exc}")
