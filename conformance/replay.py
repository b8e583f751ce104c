"""Replay a cassette in-process through respx: no sockets, the exact recorded chunk boundaries.

Matching is by case and order, not by body: the check names its cassette, and the n-th request the
provider sends is answered by the n-th interaction if method and path agree. The suite asserts what
the request *means* separately (request-shape checks read `Replay.sent`), so a provider may shape its
body its own way and still replay. A request that fits nothing is answered with an error and kept in
`mismatches` with the nearest recorded request and what differs; interactions never played are
reported by `unplayed()`. A response recorded as `closed` ends by raising the same protocol error a
dropped connection raises in httpcore. A non-streaming request (`"stream"` absent or false) answered by
a recorded OpenAI chat stream gets the `chat.completion` object the openai-chat wire module assembles
from that stream (the same reading of its deltas the checks compare with), so providers whose
structured output does not stream (the openai SDK's `parse`) can be judged too.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
import respx

from conformance.cassette import Cassette, Interaction, RecordedRequest
from conformance.wires.openai_chat import chat_completion_from_stream

__all__ = ["Replay", "ReplayMismatch", "SentRequest", "describe_difference", "parse_body"]


class ReplayMismatch(AssertionError):
    """The provider sent a request the cassette does not hold at this point."""


@dataclass
class SentRequest:
    """A request as the provider sent it (replay or live), body parsed when JSON."""

    method: str
    url: str
    path: str
    headers: dict[str, str]
    body: Any

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": self.body}


def parse_body(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")


def sent_request(request: httpx.Request) -> SentRequest:
    return SentRequest(
        method=request.method,
        url=str(request.url),
        path=request.url.path,
        headers={name.lower(): value for name, value in request.headers.items()},
        body=parse_body(request.content),
    )


def describe_difference(sent: SentRequest, recorded: RecordedRequest) -> list[str]:
    """Human-readable differences, method and path first (those decide the match), then the body."""
    differences = []
    if sent.method != recorded.method:
        differences.append(f"method: sent {sent.method}, recorded {recorded.method}")
    if sent.path != recorded.path:
        differences.append(f"path: sent {sent.path}, recorded {recorded.path}")
    if isinstance(sent.body, dict) and isinstance(recorded.body, dict):
        for key in sorted(set(sent.body) | set(recorded.body)):
            if key not in recorded.body:
                differences.append(f"body.{key}: sent only")
            elif key not in sent.body:
                differences.append(f"body.{key}: recorded only")
            elif sent.body[key] != recorded.body[key]:
                differences.append(f"body.{key}: sent {_short(sent.body[key])}, recorded {_short(recorded.body[key])}")
    elif sent.body != recorded.body:
        differences.append(f"body: sent {_short(sent.body)}, recorded {_short(recorded.body)}")
    return differences


def _short(value: Any, limit: int = 100) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _wants_whole_answer(sent: SentRequest, interaction: Interaction) -> bool:
    recorded, response = interaction.request.body, interaction.response
    return (isinstance(sent.body, dict) and sent.body.get("stream") is not True
            and isinstance(recorded, dict) and recorded.get("stream") is True
            and response.status == 200 and response.end == "complete"
            and response.headers.get("content-type", "").startswith("text/event-stream"))


class _ReplayStream(httpx.AsyncByteStream, httpx.SyncByteStream):
    """Yields the recorded chunks; a `closed` ending raises what a dropped connection raises."""

    def __init__(self, interaction: Interaction) -> None:
        self._response = interaction.response
        self.closed = False

    def _ending(self) -> None:
        if self._response.end == "closed":
            raise httpcore.RemoteProtocolError(
                "peer closed connection without sending complete message body (replayed from cassette)"
            )

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._response.chunks:
            yield chunk.data
        self._ending()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._response.chunks:
            yield chunk.data
        self._ending()

    async def aclose(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


class Replay:
    """Context manager answering every httpx request of the process from one cassette."""

    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette
        self.sent: list[SentRequest] = []
        self.mismatches: list[str] = []
        self._next = 0
        self._router = respx.MockRouter(assert_all_called=False, assert_all_mocked=True)
        self._router.route().mock(side_effect=self._respond)

    def __enter__(self) -> Replay:
        self._router.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._router.__exit__(*exc_info)

    @property
    def played(self) -> int:
        return self._next

    def unplayed(self) -> list[Interaction]:
        return self.cassette.interactions[self._next :]

    def _respond(self, request: httpx.Request) -> httpx.Response:
        sent = sent_request(request)
        self.sent.append(sent)
        interactions = self.cassette.interactions
        if self._next < len(interactions):
            expected = interactions[self._next]
            if sent.method == expected.request.method and sent.path == expected.request.path:
                self._next += 1
                if _wants_whole_answer(sent, expected):
                    completion = chat_completion_from_stream(expected.response.body)
                    if completion is not None:
                        return httpx.Response(200, json=completion)
                return httpx.Response(
                    expected.response.status,
                    headers=expected.response.headers,
                    stream=_ReplayStream(expected),
                )
        message = self._mismatch_message(sent)
        self.mismatches.append(message)
        raise ReplayMismatch(message)

    def _mismatch_message(self, sent: SentRequest) -> str:
        interactions = self.cassette.interactions
        head = f"replay of cassette {self.cassette.name!r} ({self.cassette.path}): request #{len(self.sent) - 1} " \
               f"{sent.method} {sent.path} matches nothing"
        if self._next >= len(interactions):
            nearest_index = len(interactions) - 1
            reason = f"all {len(interactions)} recorded interactions were already played"
        else:
            nearest_index = self._next
            reason = "the next recorded interaction differs"
        nearest = interactions[nearest_index].request
        differences = describe_difference(sent, nearest) or ["(identical request: the cassette is exhausted)"]
        return (
            f"{head}: {reason}. Nearest recorded request: interaction #{nearest_index} "
            f"{nearest.method} {nearest.path}; differences: " + "; ".join(differences)
        )
