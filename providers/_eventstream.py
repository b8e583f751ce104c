"""AWS event-stream framing (`application/vnd.amazon.eventstream`), as Bedrock's ConverseStream uses it.

Why it exists: our Bedrock provider reads the stream through httpx (so cassettes replay in-process),
not through boto3, so it needs the framing on its own: decoding reuses `botocore.eventstream`
(checksums included); encoding, which botocore lacks, is here for written cassettes and for the
loopback server that replays cassettes to a real boto3 client.

Frame: total length (u32), headers length (u32), prelude CRC32, headers, payload, message CRC32.
A header is name length (u8), name, type (7 = string), value length (u16), value.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

try:
    from botocore.eventstream import EventStreamBuffer, InvalidPayloadLength, ParserError
except ImportError as exc:  # botocore comes with strands-agents; say which extra restores it
    raise ImportError(
        "the Bedrock provider needs botocore for the AWS event-stream framing: "
        "pip install 'provider-conformance[bedrock]'"
    ) from exc

from ._sse import decode_utf8
from .errors import DEFAULT_MAX_EVENT_BYTES, MalformedStreamError, OversizeEventError

__all__ = ["EventStreamDecoder", "Frame", "encode_event", "encode_exception", "encode_frame"]

_STRING_HEADER = 7
_PRELUDE_BYTES = 12  # total length, headers length, prelude CRC


@dataclass(frozen=True)
class Frame:
    """One decoded message: `kind` is the `:message-type` (event, exception, error)."""

    kind: str
    name: str  # :event-type, :exception-type or :error-code
    payload: Any  # parsed JSON (or the raw text when not JSON)


def encode_frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    encoded_headers = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded_headers += struct.pack(">B", len(raw_name)) + raw_name
        encoded_headers += struct.pack(">BH", _STRING_HEADER, len(raw_value)) + raw_value
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + encoded_headers + payload
    return message + struct.pack(">I", zlib.crc32(message) & 0xFFFFFFFF)


def encode_event(event_type: str, payload: Mapping[str, Any]) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_frame(headers, json.dumps(payload, separators=(",", ":")).encode())


def encode_exception(exception_type: str, message: str) -> bytes:
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return encode_frame(headers, json.dumps({"message": message}).encode())


class EventStreamDecoder:
    """Feed raw bytes in any split; get whole frames back. A frame over ``limit`` bytes raises at once."""

    def __init__(self, source: str, limit: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buffer = EventStreamBuffer()
        self._source = source
        self._limit = limit
        self._frame_at = 0  # body offset of the next frame
        self.pending = 0  # bytes fed but not yet part of a whole frame

    def feed(self, data: bytes) -> Iterator[Frame]:
        self.pending += len(data)
        self._buffer.add_data(data)
        try:
            for message in self._buffer:
                length = message.prelude.total_length
                payload_at = self._frame_at + _PRELUDE_BYTES + message.prelude.headers_length
                self.pending -= length
                self._frame_at += length
                yield self._frame(message.headers, message.payload, payload_at)
        except InvalidPayloadLength as exc:  # a prelude stating a frame longer than any event-stream allows
            raise OversizeEventError(self._source, self._limit, "an event-stream frame") from exc
        except ParserError as exc:
            raise MalformedStreamError(
                f"the event stream from {self._source} is not valid AWS event-stream framing: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if self.pending > self._limit:  # what is left is the start of one frame, already too long
            raise OversizeEventError(self._source, self._limit, "an event-stream frame")

    def _frame(self, headers: Mapping[str, Any], payload: bytes, payload_at: int) -> Frame:
        kind = headers.get(":message-type")
        name = headers.get(":event-type") or headers.get(":exception-type") or headers.get(":error-code")
        if kind not in ("event", "exception", "error") or not name:
            raise MalformedStreamError(
                f"an event-stream frame from {self._source} lacks :message-type or its type header: {dict(headers)}"
            )
        if kind == "error":
            return Frame(kind, str(name), {"message": headers.get(":error-message", "")})
        text = decode_utf8(payload, self._source, payload_at)
        try:
            parsed: Any = json.loads(text) if text else {}
        except ValueError as exc:
            raise MalformedStreamError(
                f"the {name!r} frame from {self._source} carries a payload that is not JSON ({exc}): {text[:300]!r}"
            ) from exc
        return Frame(str(kind), str(name), parsed)
