"""Server-sent events and NDJSON framing for the wire families whose events are named JSON objects
(Anthropic, Llama API) or one JSON object a line (Ollama).

Why it exists apart from the OpenAI chat core: that core inlines its SSE split for speed and reads
only `data:` lines; Anthropic's events also carry an `event:` name that must agree with the data.
An undecodable line raises (`providers.errors`), never a silent skip; a broken connection is the
provider's error boundary's to map. These are the providers' own parsers, apart from conformance's
reference decoders, so the hot path carries no checking-only work.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from .errors import MalformedStreamError, TruncatedStreamError

__all__ = ["iter_ndjson", "iter_sse_events"]

# Our own parser, not conformance's reference decoder: the hot path, events as the bytes arrive.
async def iter_sse_events(response: httpx.Response, url: str) -> AsyncIterator[tuple[str | None, Any]]:
    """`(event name or None, parsed JSON data)` per event; a `[DONE]` payload is returned as the string."""
    event_name: str | None = None
    data_lines: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data_lines:
                yield event_name, _parse(url, event_name, "\n".join(data_lines))
            event_name, data_lines = None, []
            continue
        if line[0] == ":":
            continue  # comment / keep-alive
        field, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if field == "data":
            data_lines.append(value)
        elif field == "event":
            event_name = value
        elif field not in ("id", "retry"):
            raise MalformedStreamError(f"line in the stream from {url} is not server-sent events: {line[:300]!r}")
    if data_lines:
        raise TruncatedStreamError(
            f"the stream from {url} ended inside an event (no blank line after it): {data_lines[-1][:300]!r}"
        )


def _parse(url: str, event_name: str | None, data: str) -> Any:
    if data == "[DONE]":
        return data
    try:
        return json.loads(data)
    except ValueError as exc:
        raise MalformedStreamError(
            f"event {event_name or 'message'!r} in the stream from {url} carries data that is not JSON ({exc}): "
            f"{data[:300]!r}"
        ) from exc


# Our own parser, not conformance's reference decoder: the hot path, events as the bytes arrive.
async def iter_ndjson(response: httpx.Response, url: str) -> AsyncIterator[dict[str, Any]]:
    """One JSON object per non-empty line."""
    async for line in response.aiter_lines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise MalformedStreamError(f"line in the stream from {url} is not JSON ({exc}): {line[:300]!r}") from exc
        if not isinstance(value, dict):
            raise MalformedStreamError(f"line in the stream from {url} is not a JSON object: {line[:300]!r}")
        yield value
