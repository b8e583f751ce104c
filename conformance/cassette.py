"""Cassettes: recorded (or written) HTTP traffic, as reviewable text with exact chunk boundaries.

One cassette is one case against one server (or one written wire quirk): a JSON file holding a
format marker and version, the wire family, the case name, a `source` (recorded from which server,
version, model and date; or written from which published reference), and the interactions in order.
Each interaction keeps the request (method, path, allow-listed headers, parsed JSON body) and the
response (status, allow-listed headers, the body as the exact chunks the client read, each with its
arrival time in ms after the request was sent, and how the body ended: `complete`, or `closed` when
the server dropped the connection mid-body).

A chunk is `{"text": "..."}` when it is valid UTF-8 on its own, else `{"hex": ...}` or
`{"base64": ...}` (a chunk boundary inside a multi-byte character, AWS event-stream frames); the
arrival times sit apart in `chunk_ms`, one line, so that a re-recording whose timing jitters but
whose bytes are the same diffs as one line. The serializer writes sorted keys and one chunk per
line, so a changed answer reads as a small `git diff`. Secrets never reach disk: headers are kept by allow list, and `dumps` refuses
any header or body text that looks like a credential.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "CASSETTE_FORMAT",
    "CASSETTE_VERSION",
    "Cassette",
    "CassetteError",
    "Chunk",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "SECRET_HEADER_NAMES",
    "find_secrets",
    "load_cassette",
    "dumps_cassette",
    "write_cassette_atomically",
]

CASSETTE_FORMAT = "provider-conformance-cassette"
CASSETTE_VERSION = 1
# What changed at each version bump, shown to whoever loads an older file.
_MIGRATIONS: dict[int, str] = {}

# Headers kept on disk; everything else is dropped when recording (an allow list cannot leak).
KEPT_REQUEST_HEADERS = frozenset({"content-type", "accept"})
KEPT_RESPONSE_HEADERS = frozenset({"content-type", "retry-after", "x-should-retry"})
SECRET_HEADER_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "x-amz-security-token",
        "x-amz-credential",
        "openai-organization",
        "openai-project",
    }
)
_SECRET_PATTERNS = (
    re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{8,}"),
    re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bhf_[A-Za-z0-9]{20,}"),
)

EndKind = Literal["complete", "closed"]
_CHUNK_KEYS = ("text", "hex", "base64")


class CassetteError(ValueError):
    """A cassette file that cannot be used as it is; the message says which file and what to do."""


@dataclass(frozen=True)
class Chunk:
    """Bytes as one read from the response stream returned them, `ms` after the request was sent."""

    ms: int
    data: bytes

    def to_json(self) -> dict[str, Any]:
        try:
            return {"text": self.data.decode("utf-8")}
        except UnicodeDecodeError:
            return {"hex": self.data.hex()}

    @classmethod
    def from_json(cls, raw: Any, ms: Any, where: str) -> Chunk:
        encodings = [key for key in ("text", "hex", "base64") if isinstance(raw, dict) and key in raw]
        if len(encodings) != 1 or len(raw) != 1:
            raise CassetteError(f"{where}: a chunk needs exactly one of 'text', 'hex', 'base64'; got {raw!r}")
        if not isinstance(ms, int) or ms < 0:
            raise CassetteError(f"{where}: chunk_ms entries must be non-negative integers; got {ms!r}")
        value = raw[encodings[0]]
        try:
            if encodings[0] == "text":
                return cls(ms, value.encode("utf-8"))
            if encodings[0] == "hex":
                return cls(ms, bytes.fromhex(value))
            return cls(ms, base64.b64decode(value, validate=True))
        except (ValueError, AttributeError) as exc:
            raise CassetteError(f"{where}: chunk {raw!r} does not decode as {encodings[0]} ({exc})") from exc


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # parsed JSON when the body was JSON, else the text

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "headers": self.headers, "body": self.body}


@dataclass
class RecordedResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    end: EndKind = "complete"

    @property
    def body(self) -> bytes:
        return b"".join(chunk.data for chunk in self.chunks)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "headers": self.headers,
            "chunks": [chunk.to_json() for chunk in self.chunks],
            "chunk_ms": [chunk.ms for chunk in self.chunks],
            "end": self.end,
        }


@dataclass
class Interaction:
    request: RecordedRequest
    response: RecordedResponse


@dataclass
class Cassette:
    """A case's traffic; `source` says whether it was recorded or written, and from what."""

    wire: str
    case: str
    source: dict[str, Any]
    interactions: list[Interaction]
    path: Path | None = None

    @property
    def kind(self) -> str:
        return str(self.source.get("kind"))

    @property
    def name(self) -> str:
        return self.path.stem if self.path else self.case

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CASSETTE_FORMAT,
            "version": CASSETTE_VERSION,
            "wire": self.wire,
            "case": self.case,
            "source": self.source,
            "interactions": [
                {"request": item.request.to_json(), "response": item.response.to_json()}
                for item in self.interactions
            ],
        }


def filter_headers(headers: Any, kept: frozenset[str]) -> dict[str, str]:
    """Keep only allow-listed headers, lower-cased (used when recording)."""
    return {name.lower(): value for name, value in dict(headers).items() if name.lower() in kept}


def find_secrets(text: str) -> list[str]:
    """Credential-looking substrings of `text` (used before writing and by the recordings scan)."""
    found = [match.group(0) for pattern in _SECRET_PATTERNS for match in pattern.finditer(text)]
    lowered = text.lower()
    found += [f'header "{name}"' for name in SECRET_HEADER_NAMES if f'"{name}":' in lowered]
    return found


def dumps_cassette(cassette: Cassette) -> str:
    """Stable text: sorted keys, two-space indent, one chunk per line; refuses anything secret-looking."""
    text = _dump(cassette.to_json(), 0) + "\n"
    secrets = find_secrets(text)
    if secrets:
        shown = ", ".join(secret if secret.startswith("header") else secret[:6] + "..." for secret in secrets)
        raise CassetteError(
            f"cassette {cassette.case!r} would write credential-looking text to disk ({shown}); "
            "remove it from the request (headers are allow-listed, so look at the body) and record again"
        )
    return text


def _dump(value: Any, depth: int) -> str:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(key)}: {_dump(value[key], depth + 1)}" for key in sorted(value)]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value:
        if all(isinstance(item, int) for item in value):
            return json.dumps(value)  # chunk_ms: one line
        if all(isinstance(item, dict) and len(item) == 1 and next(iter(item)) in _CHUNK_KEYS for item in value):
            # Chunks: one compact line each, so a re-recording diffs chunk by chunk.
            lines = [inner + json.dumps(item, sort_keys=True, ensure_ascii=False) for item in value]
        else:
            lines = [inner + _dump(item, depth + 1) for item in value]
        return "[\n" + ",\n".join(lines) + "\n" + pad + "]"
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def write_cassette_atomically(cassette: Cassette, path: Path) -> None:
    """Write next to the target and rename: a reader sees the old file or the new one, never half."""
    text = dumps_cassette(cassette)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    cassette.path = path


def load_cassette(path: Path) -> Cassette:
    """Parse and check one cassette file; every problem names the file and the fix."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CassetteError(f"cassette {path} does not exist; write it or record it with --conformance-live --conformance-record") from None
    except ValueError as exc:
        raise CassetteError(f"cassette {path} is not valid JSON ({exc}); fix it or record it again") from exc
    if not isinstance(raw, dict) or raw.get("format") != CASSETTE_FORMAT:
        raise CassetteError(
            f"{path} is not a provider-conformance cassette (format {raw.get('format') if isinstance(raw, dict) else raw!r}"
            f", expected {CASSETTE_FORMAT!r})"
        )
    version = raw.get("version")
    if version != CASSETTE_VERSION:
        if isinstance(version, int) and version < CASSETTE_VERSION:
            hint = _MIGRATIONS.get(version, "record it again with --conformance-live --conformance-record")
            raise CassetteError(
                f"cassette {path} has format version {version}; this suite reads version {CASSETTE_VERSION}. "
                f"Migrate it: {hint}"
            )
        raise CassetteError(
            f"cassette {path} has format version {version!r}, newer than or unknown to this suite "
            f"(reads {CASSETTE_VERSION}); update provider-conformance"
        )
    for key in ("wire", "case", "source", "interactions"):
        if key not in raw:
            raise CassetteError(f"cassette {path} lacks the {key!r} field")
    source = raw["source"]
    required = {"recorded": ("server", "server_version", "model", "recorded_at"), "written": ("reference", "note")}
    kind = source.get("kind") if isinstance(source, dict) else None
    if kind not in required:
        raise CassetteError(f"cassette {path}: source.kind must be 'recorded' or 'written', got {kind!r}")
    missing = [key for key in required[kind] if not source.get(key)]
    if missing:
        raise CassetteError(f"cassette {path}: a {kind} source needs {', '.join(missing)}")
    text = path.read_text(encoding="utf-8")
    if find_secrets(text):
        raise CassetteError(f"cassette {path} holds credential-looking text; delete it from the file and rotate the key")
    interactions = []
    for number, item in enumerate(raw["interactions"]):
        where = f"{path} interaction {number}"
        try:
            request, response = item["request"], item["response"]
            if len(response["chunk_ms"]) != len(response["chunks"]):
                raise CassetteError(
                    f"{where}: {len(response['chunks'])} chunks but {len(response['chunk_ms'])} chunk_ms entries"
                )
            interactions.append(
                Interaction(
                    RecordedRequest(request["method"], request["path"], request.get("headers", {}), request.get("body")),
                    RecordedResponse(
                        response["status"],
                        response.get("headers", {}),
                        [Chunk.from_json(chunk, ms, where) for chunk, ms in zip(response["chunks"], response["chunk_ms"])],
                        response.get("end", "complete"),
                    ),
                )
            )
        except (KeyError, TypeError) as exc:
            raise CassetteError(f"{where}: missing or malformed field ({exc!r})") from exc
        if interactions[-1].response.end not in ("complete", "closed"):
            raise CassetteError(f"{where}: response.end must be 'complete' or 'closed'")
    if not interactions:
        raise CassetteError(f"cassette {path} has no interactions")
    return Cassette(raw["wire"], raw["case"], source, interactions, path)
