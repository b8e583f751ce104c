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
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from .errors import InvalidUTF8Error, MalformedStreamError, OversizeEventError, TruncatedStreamError

__all__ = ["decode_utf8", "event_type", "iter_lines", "iter_ndjson", "iter_sse_events"]


def decode_utf8(data: bytes, url: str, offset: int) -> str:
    """``data`` as text; bytes that are not UTF-8 raise, naming their offset (``data`` starts at ``offset``)."""
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise InvalidUTF8Error(url, offset + exc.start, data[exc.start:exc.end]) from exc


async def iter_lines(blocks: AsyncIterable[bytes], url: str, limit: int) -> AsyncIterator[tuple[int, bytes]]:
    """``(offset in the body, line)`` per line, without its ``\n`` or ``\r\n``; a last unended line too.

    Linear: an unended line is kept as a list of pieces, joined once when it ends, and a line
    over ``limit`` bytes raises at once, so memory stays within about ``limit``.
    """
    pieces: list[bytes] = []
    pending = 0  # bytes of the unended line
    offset = 0  # body offset of the unended line's start
    async for block in blocks:
        if b"\n" not in block:
            pending += len(block)
            if pending > limit:
                raise OversizeEventError(url, limit, "a line")
            pieces.append(block)
            continue
        if pieces:
            pieces.append(block)
            block = b"".join(pieces)
            pieces = []
        lines = block.split(b"\n")
        rest = lines.pop()
        for line in lines:
            if len(line) > limit:
                raise OversizeEventError(url, limit, "a line")
            yield offset, line[:-1] if line[-1:] == b"\r" else line
            offset += len(line) + 1
        pending = len(rest)
        if pending > limit:
            raise OversizeEventError(url, limit, "a line")
        if rest:
            pieces.append(rest)
    if pieces:
        line = b"".join(pieces)
        yield offset, line[:-1] if line[-1:] == b"\r" else line


# Our own parser, not conformance's reference decoder: the hot path, events as the bytes arrive.
async def iter_sse_events(blocks: AsyncIterable[bytes], url: str, limit: int) -> AsyncIterator[tuple[str | None, Any]]:
    """`(event name or None, parsed JSON data)` per event; a `[DONE]` payload is returned as the string.

    An event's data over ``limit`` bytes raises ``OversizeEventError``.
    """
    event_name: str | None = None
    data_lines: list[str] = []
    size = 0
    async for offset, raw in iter_lines(blocks, url, limit):
        if not raw:
            if data_lines:
                yield event_name, _parse(url, event_name, "\n".join(data_lines))
            event_name, data_lines, size = None, [], 0
            continue
        line = decode_utf8(raw, url, offset)
        if line[0] == ":":
            continue  # comment / keep-alive
        field, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if field == "data":
            size += len(raw)
            if size > limit:
                raise OversizeEventError(url, limit, "an event")
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
async def iter_ndjson(blocks: AsyncIterable[bytes], url: str, limit: int) -> AsyncIterator[dict[str, Any]]:
    """One JSON object per non-empty line; a line over ``limit`` bytes raises ``OversizeEventError``."""
    async for offset, raw in iter_lines(blocks, url, limit):
        if not raw.strip():
            continue
        line = decode_utf8(raw, url, offset)
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise MalformedStreamError(f"line in the stream from {url} is not JSON ({exc}): {line[:300]!r}") from exc
        if not isinstance(value, dict):
            raise MalformedStreamError(f"line in the stream from {url} is not a JSON object: {line[:300]!r}")
        yield value


def event_type(wire: str, number: int, event_name: str | None, data: Any, url: str) -> str:
    """The `type` of a typed SSE event (Anthropic, OpenAI Responses), which must agree with its `event:` name."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise MalformedStreamError(
            f"{wire} event #{number} ({event_name!r}) from {url} has no JSON object with a 'type': {str(data)[:200]!r}"
        )
    kind = data["type"]
    if event_name is not None and event_name != kind:
        raise MalformedStreamError(f"{wire} event #{number} from {url} is named {event_name!r} but its data says {kind!r}")
    return kind
