"""Why a load-test request failed: one `RequestFailure` with a `kind` for the tallies and a message for people.

Every failure the client sees (connection, HTTP status, framing, stream content) becomes one of these,
so the report counts failures by kind and never mixes them into the latency statistics.
"""

from __future__ import annotations

import math
from email.utils import parsedate_to_datetime
from time import time

# The one place that knows how servers word a context overflow (a light import: no strands, no httpx).
from providers.errors import is_context_overflow

ERROR_KINDS = ("connect_refused", "connect_timeout", "connect_error", "rate_limited", "unavailable",
               "context_overflow", "http_4xx", "http_5xx", "not_sse", "stall", "deadline", "dropped", "protocol",
               "decode", "malformed_json", "oversize", "stream_error", "invalid_output", "nonconformant", "client_error",
               "unfinished")

# Kinds that say the target itself is wrong (nothing listens, wrong host, not an OpenAI streaming server):
# only these may end a run early, and only when every one of its first requests failed with one of them.
TARGET_WRONG_KINDS = frozenset({"connect_refused", "connect_timeout", "connect_error", "not_sse"})


MAX_BACKOFF_S = 10.0  # a Retry-After longer than this would idle a user for most of a short run
DEFAULT_BACKOFF_S = 1.0  # a 429 or 503 without Retry-After: a pause still, or the user hammers an overloaded server


class RequestFailure(Exception):
    """A failed request: `kind` (one of ERROR_KINDS) for the tallies, the message for people.

    `backoff_s`: how long the user must wait before its next request (429 and 503, from Retry-After).
    """

    def __init__(self, kind: str, message: str, status: int | None = None, backoff_s: float = 0.0) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.status = status
        self.backoff_s = backoff_s


def backoff_s(retry_after: str | None) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), within [0, MAX_BACKOFF_S]."""
    if not retry_after:
        return DEFAULT_BACKOFF_S
    try:
        wait = float(retry_after)
    except ValueError:
        try:
            wait = parsedate_to_datetime(retry_after).timestamp() - time()
        except (TypeError, ValueError):
            return DEFAULT_BACKOFF_S
    return min(max(wait, 0.0), MAX_BACKOFF_S) if math.isfinite(wait) else DEFAULT_BACKOFF_S


def as_failure(exc: BaseException) -> RequestFailure:
    """Any exception raised while a request was sent or read, as the failure it stands for.

    The client raises `RequestFailure` for everything it recognises; anything else reaching the
    request path is still one failed request, never a dropped one, so it gets a kind here.
    """
    if isinstance(exc, RequestFailure):
        return exc
    if isinstance(exc, UnicodeDecodeError):
        return RequestFailure("decode", f"the stream is not valid UTF-8: {exc}")
    if isinstance(exc, OSError):
        return RequestFailure("dropped", f"connection lost mid-response: {exc!r}")
    return RequestFailure("client_error", f"the load-test client failed on this response: {exc!r}; "
                                          "the answer is probably malformed, see records.jsonl")


def classify_http_error(status: int, body: bytes, retry_after: str | None = None) -> RequestFailure:
    text = body[:300].decode("utf-8", "replace").strip()
    if status == 429:
        return RequestFailure("rate_limited", f"HTTP 429 from the server: {text}", status, backoff_s(retry_after))
    if status == 503:
        return RequestFailure("unavailable", f"HTTP 503 from the server: {text}", status, backoff_s(retry_after))
    if status == 400:
        if is_context_overflow(text):
            return RequestFailure("context_overflow", f"prompt plus max_tokens exceed the model context: {text}", status)
    kind = "http_4xx" if 400 <= status < 500 else "http_5xx"
    return RequestFailure(kind, f"HTTP {status}: {text}", status)
