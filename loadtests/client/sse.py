"""Splits the bytes of a response body into SSE events as they complete, in time linear in the input.

An event may arrive over many reads: its pieces wait in a list and are joined once, when the event
ends, so one long line costs its length, not its length squared (re-joining the whole buffer on every
read held a worker for 25 s on a 50 MB line, and every other stream of that worker with it). An event
longer than `max_event_bytes` fails its request as `oversize` as soon as that many bytes are waiting.
"""

from __future__ import annotations

from loadtests.client.failures import RequestFailure

DEFAULT_MAX_EVENT_BYTES = 4 << 20


class SSEParser:
    """Splits a byte stream into SSE events: ("data", text) and ("comment", text), as they complete."""

    __slots__ = ("_parts", "_waiting", "_cr", "max_event_bytes")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._parts: list[bytes] = []  # the unfinished event, as it arrived
        self._waiting = 0  # bytes in _parts
        self._cr = False  # the last piece ended in "\r", whose "\n" may open the next one
        self.max_event_bytes = max_event_bytes

    def feed(self, piece: bytes) -> list[tuple[str, str]]:
        if self._cr:
            piece = b"\r" + piece
            self._cr = False
        if b"\r" in piece:
            if piece.endswith(b"\r"):
                piece = piece[:-1]
                self._cr = True
            piece = piece.replace(b"\r\n", b"\n")
        parts = self._parts
        if not parts:
            buf = piece
        elif b"\n\n" in piece or (piece.startswith(b"\n") and parts[-1].endswith(b"\n")):
            parts.append(piece)
            buf = b"".join(parts)
            parts.clear()
            self._waiting = 0
        else:  # the event goes on: nothing to parse yet
            parts.append(piece)
            self._waiting += len(piece)
            if self._waiting > self.max_event_bytes:
                raise self._oversize(self._waiting)
            return []
        limit = self.max_event_bytes
        out: list[tuple[str, str]] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            if end - start > limit:
                raise self._oversize(end - start)
            block = buf[start:end]
            start = end + 2
            if block.startswith(b"data:") and b"\n" not in block:  # the common case, one data line
                out.append(("data", block[5:].lstrip(b" ").decode()))
                continue
            data_lines = []
            for line in block.split(b"\n"):
                if line.startswith(b"data:"):
                    data_lines.append(line[5:].lstrip(b" ").decode())
                elif line.startswith(b":"):
                    out.append(("comment", line[1:].lstrip(b" ").decode()))
                # `event:`, `id:` and `retry:` fields carry nothing an OpenAI stream needs
            if data_lines:
                out.append(("data", "\n".join(data_lines)))
        if start < len(buf):
            rest = buf[start:]
            if len(rest) > limit:
                raise self._oversize(len(rest))
            parts.append(rest)
            self._waiting = len(rest)
        return out

    def _oversize(self, size: int) -> RequestFailure:
        return RequestFailure("oversize", f"an SSE event of more than {size:,} bytes, over --max-event-bytes "
                                          f"{self.max_event_bytes:,}; raise it if the server really sends such events")
