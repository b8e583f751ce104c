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

import asyncio
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
import respx

from conformance.cassette import Cassette, Interaction, RecordedRequest
from conformance.wires.openai_chat import chat_completion_from_stream

__all__ = [
    "BodyFeed", "DeliveryPlan", "Replay", "ReplayMismatch", "SentRequest", "describe_difference", "message_ends",
    "parse_body", "split_at",
]


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


class BodyFeed:
    """One response body as the replay hands it to the client: in pieces, each held until released.

    The streaming checks steer delivery through it: a re-split body (other chunk boundaries than the
    recorded ones), or a paced one (one wire message at a time, released by the check, so it can see
    what the provider yields before the next bytes exist). `reader_waiting` says the client has read
    every released piece and asks for more; `closed` that it closed the response before its end.
    Thread-safe, because the loopback server feeds from its own threads.
    """

    def __init__(self, pieces: Sequence[bytes], paced: bool = False, notify: Callable[[], None] | None = None) -> None:
        self.pieces = list(pieces)
        self.released = 0 if paced else len(self.pieces)
        self.delivered = 0
        self.reader_waiting = False
        self.finished = False
        self.closed = False
        self.blocked_reader = False
        # Called (from any thread) when the reader starts waiting, finishes or closes: the check wakes on it.
        self._notify = notify or (lambda: None)
        self._condition = threading.Condition()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def release(self, count: int = 1) -> None:
        with self._condition:
            self.released = min(len(self.pieces), self.released + count)
            self.reader_waiting = False  # until the reader has taken what was released and asks again
            self._condition.notify_all()
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            loop.call_soon_threadsafe(_wake, waiter)

    def release_all(self) -> None:
        self.release(len(self.pieces))

    def _take(self, index: int) -> bool:
        with self._condition:
            if index < self.released:
                self.delivered = index + 1
                self.reader_waiting = False
                return True
            self.reader_waiting = True
        self._notify()
        return False

    async def next_piece(self, index: int) -> bytes:
        while not self._take(index):
            loop = asyncio.get_running_loop()
            waiter = loop.create_future()
            with self._condition:
                if index < self.released:
                    continue
                self._waiters.append((loop, waiter))
            await waiter
        return self.pieces[index]

    def next_piece_blocking(self, index: int, abandoned: Callable[[], bool] = lambda: False,
                            hold_limit: float | None = None) -> bytes | None:
        """The piece once released; None when `abandoned()` says the client went away meanwhile.

        In-process, a synchronous reader inside an async provider (a sync HTTP client in `async def
        stream`) blocks the event loop the check runs on, so the check can never release the next piece:
        after `hold_limit` seconds the rest of the body is let go (`blocked_reader` says so), and the check
        judges what the provider did with it, instead of both waiting forever.
        """
        waited_since = time.monotonic()
        while not self._take(index):
            if abandoned():
                self.mark_closed()
                return None
            if hold_limit is not None and time.monotonic() - waited_since > hold_limit:
                self.blocked_reader = True
                self.release_all()
                continue
            with self._condition:
                self._condition.wait(_ABANDON_POLL_SECONDS)
        return self.pieces[index]

    def mark_finished(self) -> None:
        self.finished, self.reader_waiting = True, False
        self._notify()

    def mark_closed(self) -> None:
        if not self.finished:
            self.closed = True
            self._notify()

    @property
    def open(self) -> bool:
        """Neither read to its end nor closed by the client: a response the provider leaked."""
        return not (self.finished or self.closed)


# How often a loopback handler held at a piece looks whether its client has gone.
_ABANDON_POLL_SECONDS = 0.005
# How long an in-process synchronous reader is held at a piece before the rest of its body is let go.
_SYNC_HOLD_LIMIT_SECONDS = 3.0


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class DeliveryPlan:
    """How the next responses of a replay are delivered: recorded chunks, re-split at `cuts`, or paced.

    `cuts` holds one list of byte offsets per interaction (by index in the cassette); `paced` holds
    each response back one wire message at a time (see `message_ends`). `notify` is called, from any
    thread, whenever a feed's reader waits for a piece, finishes or closes.
    """

    def __init__(self, cuts: Sequence[Sequence[int]] | None = None, paced: bool = False,
                 notify: Callable[[], None] | None = None) -> None:
        self.cuts = cuts
        self.paced = paced
        self.notify = notify

    def feed(self, index: int, interaction: Interaction) -> BodyFeed:
        response = interaction.response
        if self.paced:
            pieces = split_at(response.body, message_ends(response.body, response.headers.get("content-type", "")))
        elif self.cuts is not None and index < len(self.cuts):
            pieces = split_at(response.body, self.cuts[index])
        else:
            pieces = [chunk.data for chunk in response.chunks]
        return BodyFeed(pieces, paced=self.paced, notify=self.notify)


def split_at(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    """`body` cut at the given offsets (out-of-range and repeated offsets ignored); never an empty piece."""
    offsets = [0, *sorted({cut for cut in cuts if 0 < cut < len(body)}), len(body)]
    return [body[start:end] for start, end in zip(offsets, offsets[1:]) if end > start]


_SSE_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE_END = re.compile(rb"\n")


def message_ends(body: bytes, content_type: str) -> list[int]:
    """Offsets where each wire message ends: AWS event-stream frames, SSE events, else lines (NDJSON, JSON)."""
    if content_type.startswith("application/vnd.amazon.eventstream"):
        ends, offset = [], 0
        while offset + 4 <= len(body):
            offset += max(int.from_bytes(body[offset : offset + 4], "big"), 4)  # the prelude's total length
            ends.append(min(offset, len(body)))
        return ends
    # SSE ends an event at a blank line, in any of its three line endings (Gemini's API sends CRLF).
    separator = _SSE_EVENT_END if content_type.startswith("text/event-stream") else _LINE_END
    return [match.end() for match in separator.finditer(body)]


class _ReplayStream(httpx.AsyncByteStream, httpx.SyncByteStream):
    """Yields the feed's pieces; a `closed` ending raises what a dropped connection raises."""

    def __init__(self, interaction: Interaction, feed: BodyFeed) -> None:
        self._response = interaction.response
        self.feed = feed

    def _ending(self) -> None:
        self.feed.mark_finished()
        if self._response.end == "closed":
            raise httpcore.RemoteProtocolError(
                "peer closed connection without sending complete message body (replayed from cassette)"
            )

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index in range(len(self.feed.pieces)):
            yield await self.feed.next_piece(index)
        self._ending()

    def __iter__(self) -> Iterator[bytes]:
        for index in range(len(self.feed.pieces)):
            piece = self.feed.next_piece_blocking(index, hold_limit=_SYNC_HOLD_LIMIT_SECONDS)
            if piece is not None:
                yield piece
        self._ending()

    @property
    def closed(self) -> bool:
        return self.feed.closed or self.feed.finished

    async def aclose(self) -> None:
        self.feed.mark_closed()

    def close(self) -> None:
        self.feed.mark_closed()


class Replay:
    """Context manager answering every httpx request of the process from one cassette."""

    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette
        self.sent: list[SentRequest] = []
        self.mismatches: list[str] = []
        self._next = 0
        # The streaming checks' delivery of the responses and the feeds it made, in request order.
        self.plan = DeliveryPlan()
        self.feeds: list[BodyFeed] = []
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

    def rewind(self, plan: DeliveryPlan | None = None, cassette: Cassette | None = None) -> None:
        """Play the cassette (or `cassette`) again from its first interaction, delivered by `plan` (recorded chunks by default)."""
        self.cassette = cassette or self.cassette
        self._next = 0
        self.sent.clear()
        self.feeds.clear()
        self.plan = plan or DeliveryPlan()

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
                feed = self.plan.feed(self._next - 1, expected)
                self.feeds.append(feed)
                return httpx.Response(
                    expected.response.status,
                    headers=expected.response.headers,
                    stream=_ReplayStream(expected, feed),
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
