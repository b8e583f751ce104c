"""Replay cassettes over a loopback socket, for providers whose client respx cannot see (boto3).

Why it exists: `conformance.replay` replays in-process by patching httpx, but a provider such as the
upstream `strands.models.bedrock.BedrockModel` talks through botocore's urllib3. A `LoopbackServer`
listens on 127.0.0.1 only (a free port), one per session; each check serves its cassette through
`server.replay(cassette)`, which has the surface the harness reads from `Replay` (`cassette`, `sent`,
`mismatches`, `played`, `unplayed()`). The n-th request is answered by the n-th interaction when method
and path agree; each recorded chunk is one HTTP chunk, flushed (chunk boundaries survive), and a response
recorded as `closed` drops the connection without the last chunk.

    with LoopbackServer() as server, server.replay(load_cassette(path)) as replay:
        model = BedrockModel(endpoint_url=server.url, ...)
"""

from __future__ import annotations

import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from conformance.cassette import Cassette, Interaction
from conformance.replay import BodyFeed, DeliveryPlan, SentRequest, describe_difference, parse_body

__all__ = ["LoopbackReplay", "LoopbackServer"]

# Not a real HTTP status: a request no cassette holds must not look like any answer a provider maps.
NO_INTERACTION_STATUS = 599


class LoopbackReplay:
    """One cassette served by a `LoopbackServer` for the length of a `with` block."""

    def __init__(self, server: LoopbackServer, cassette: Cassette) -> None:
        self.server = server
        self.cassette = cassette
        self.sent: list[SentRequest] = []
        self.mismatches: list[str] = []
        self.played = 0
        self.plan = DeliveryPlan()
        self.feeds: list[BodyFeed] = []

    def unplayed(self) -> list[Interaction]:
        return self.cassette.interactions[self.played :]

    def rewind(self, plan: DeliveryPlan | None = None, cassette: Cassette | None = None) -> None:
        """Serve the cassette (or `cassette`) again from its first interaction, delivered by `plan` (as `Replay.rewind`)."""
        self.cassette = cassette or self.cassette
        self.played = 0
        self.sent.clear()
        self.feeds.clear()
        self.plan = plan or DeliveryPlan()

    def __enter__(self) -> LoopbackReplay:
        self.server._activate(self)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.server._deactivate(self)

    def _answer(self, sent: SentRequest) -> tuple[Interaction, BodyFeed] | None:
        self.sent.append(sent)
        interactions = self.cassette.interactions
        if self.played < len(interactions):
            expected = interactions[self.played]
            if expected.request.method == sent.method and expected.request.path == sent.path:
                self.played += 1
                feed = self.plan.feed(self.played - 1, expected)
                self.feeds.append(feed)
                return expected, feed
            nearest, reason = self.played, "the next recorded interaction differs"
        else:
            nearest, reason = len(interactions) - 1, f"all {len(interactions)} recorded interactions were already played"
        head = (f"loopback replay of cassette {self.cassette.name!r} ({self.cassette.path}): request "
                f"#{len(self.sent) - 1} {sent.method} {sent.path} matches nothing: {reason}")
        if nearest >= 0:
            recorded = interactions[nearest].request
            differences = describe_difference(sent, recorded) or ["(identical request: the cassette is exhausted)"]
            head += (f". Nearest recorded request: interaction #{nearest} {recorded.method} {recorded.path}; "
                     "differences: " + "; ".join(differences))
        self.mismatches.append(head)
        return None


class LoopbackServer:
    """An HTTP/1.1 server on 127.0.0.1 answering from whichever cassette is being replayed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: LoopbackReplay | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="conformance-loopback", daemon=True)
        self._started = False

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def replay(self, cassette: Cassette) -> LoopbackReplay:
        return LoopbackReplay(self, cassette)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        self._started = True
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def stop(self) -> None:
        if self._started:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._started = False
        self._server.server_close()

    def _activate(self, replay: LoopbackReplay) -> None:
        with self._lock:
            if self._active is not None:
                raise RuntimeError(f"loopback server at {self.url} is already replaying cassette "
                                   f"{self._active.cassette.name!r}; end that replay before starting another")
            self._active = replay

    def _deactivate(self, replay: LoopbackReplay) -> None:
        with self._lock:
            if self._active is replay:
                self._active = None

    def _answer(self, sent: SentRequest) -> tuple[Interaction, BodyFeed] | str:
        with self._lock:
            if self._active is None:
                return f"no cassette is being replayed at {self.url} ({sent.method} {sent.path})"
            return self._active._answer(sent) or self._active.mismatches[-1]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return  # mismatches are collected on the replay instead

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                content = self.rfile.read(length) if length else b""
                target = urlsplit(self.path)
                sent = SentRequest(
                    method=self.command,
                    url=loopback.url + self.path,
                    path=unquote(target.path),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=parse_body(content),
                )
                answer = loopback._answer(sent)
                if isinstance(answer, str):
                    body = answer.encode("utf-8")
                    self.send_response(NO_INTERACTION_STATUS)
                    self.send_header("content-type", "text/plain; charset=utf-8")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                interaction, feed = answer
                response = interaction.response
                self.send_response(response.status)
                for name, value in response.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                # Chunked, as a streaming server answers: botocore reads with enforce_content_length=False,
                # so only a missing last chunk (not a short content-length) shows it a dropped connection.
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for index in range(len(feed.pieces)):
                    piece = feed.next_piece_blocking(index, abandoned=lambda: _peer_closed(self.connection))
                    if piece is None:
                        self.close_connection = True
                        return
                    try:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.flush()
                    except OSError:  # the client closed the response: what the cancellation check counts
                        feed.mark_closed()
                        self.close_connection = True
                        return
                feed.mark_finished()
                if response.end == "closed":
                    self.close_connection = True  # no last chunk: the body ends unfinished
                else:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()

            do_POST = do_GET = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's naming

        return Handler


def _peer_closed(connection: socket.socket) -> bool:
    """The client closed its end (a readable socket with nothing to read), seen without consuming data."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
