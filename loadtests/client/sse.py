"""Splits the bytes of a response body into SSE events as they complete."""

from __future__ import annotations


class SSEParser:
    """Splits a byte stream into SSE events: ("data", text) and ("comment", text), as they complete."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, piece: bytes) -> list[tuple[str, str]]:
        buf = self._buf + piece
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        out: list[tuple[str, str]] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
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
        self._buf = buf[start:]
        return out

    @property
    def pending(self) -> bytes:
        return self._buf
