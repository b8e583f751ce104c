"""The one reader of streamed response lines the reference decoders share: SSE `data:` fields and NDJSON.

Plain and strict on purpose: a line that is neither an SSE field nor JSON is a broken cassette or a
non-conforming server, so it raises `WireDecodeError` naming the line, never gets skipped.
(The providers keep their own, faster parser on the hot path; this one only reads cassettes and captures.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from conformance.wires._types import WireDecodeError

__all__ = ["DONE", "ndjson_objects", "sse_payloads"]

# What `sse_payloads` yields for OpenAI's `data: [DONE]` terminator.
DONE = object()
_SSE_FIELDS = (":", "event:", "id:", "retry:")


def _text(body: bytes, kind: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireDecodeError(f"{kind} body is not UTF-8 at byte {exc.start}") from exc


def _json(data: str, where: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise WireDecodeError(f"{where} is not JSON: {data[:120]!r}") from exc


def sse_payloads(body: bytes) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each `data:` field of an SSE body, in order; `DONE` for `[DONE]`."""
    for number, line in enumerate(_text(body, "SSE").splitlines()):
        if not line.startswith("data:"):
            if line.strip() and not line.startswith(_SSE_FIELDS):
                raise WireDecodeError(f"SSE line {number} is not a field: {line[:120]!r}")
            continue
        data = line[len("data:") :].strip()
        yield number, DONE if data == "[DONE]" else _json(data, f"SSE line {number}")


def ndjson_objects(body: bytes) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each non-blank line of an NDJSON body."""
    for number, line in enumerate(_text(body, "NDJSON").splitlines()):
        if line.strip():
            yield number, _json(line, f"NDJSON line {number}")
