"""A loopback HTTP server that answers with a hostile stream: stalls, endless keep-alives, endless events.

Why it exists: a timeout is only honest over a real socket (respx answers in-process, where httpx
applies no read timeout at all), and the clients respx cannot see (boto3, SDKs on their own
transports) need one anyway. `FaultServer` is the suite's `LoopbackServer` (127.0.0.1, a free port)
with a handler that plays a `FaultScript` instead of a cassette: the status and content type, then
whatever the script emits as HTTP chunks, flushed one by one.

Every script stops by itself: the probe sets `stop` when it is done with the provider, a script
waits at most `FAULT_LIFETIME_S`, and a write the client no longer reads gives up after that long,
so a provider that hangs never keeps a thread of the suite busy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from conformance.loopback import LoopbackServer

__all__ = ["FAULT_LIFETIME_S", "Emit", "FaultScript", "FaultServer", "Served"]

#: The longest any fault runs: more than any check's bound, so the check decides, never the fault.
FAULT_LIFETIME_S = 15.0

Emit = Callable[[bytes], None]


class _ClientGone(Exception):
    """The client closed the connection (or stopped reading for FAULT_LIFETIME_S) while we wrote."""


@dataclass
class Served:
    """What the server did for one script: the evidence of how far the provider let it go."""

    requests: int = 0
    bytes_sent: int = 0
    finished: bool = False  # the script ran to its end (every byte it meant to send was taken)
    client_closed: bool = False  # the provider closed the connection before the script's end
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class FaultScript:
    """One hostile answer: `play(emit, stop)` emits its body; `complete` ends it with the last chunk
    (a well-formed end), otherwise the connection is dropped after the script."""

    name: str
    content_type: str
    play: Callable[[Emit, threading.Event], None]
    complete: bool = True


class FaultServer(LoopbackServer):
    """The session's fault server; `serve(script)` answers every request with `script` while active."""

    def __init__(self) -> None:
        self._script: FaultScript | None = None
        self._served: Served | None = None
        self._stop = threading.Event()
        super().__init__()
        # A client that left before its answer (a provider given up on) is expected, not an error to print.
        self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]

    @contextmanager
    def serve(self, script: FaultScript) -> Iterator[Served]:
        with self._lock:
            if self._script is not None:
                raise RuntimeError(f"fault server at {self.url} is already serving {self._script.name!r}")
            self._script, self._served, self._stop = script, Served(), threading.Event()
            served, stop = self._served, self._stop
        try:
            yield served
        finally:
            stop.set()  # endless scripts end now; a write still blocked gives up after FAULT_LIFETIME_S
            with self._lock:
                self._script = self._served = None

    def _current(self) -> tuple[FaultScript, Served, threading.Event] | None:
        with self._lock:
            if self._script is None or self._served is None:
                return None
            self._served.requests += 1
            return self._script, self._served, self._stop

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                current = server._current()
                if current is None:
                    self.send_error(599, f"no fault is being served at {server.url}")
                    return
                script, served, stop = current
                self.connection.settimeout(FAULT_LIFETIME_S)
                self.close_connection = True  # one request per connection: a fault never leaks into the next
                self.send_response(200)
                self.send_header("content-type", script.content_type)
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()

                def emit(data: bytes) -> None:
                    if not data:
                        return
                    try:
                        self.wfile.write(b"%x\r\n" % len(data))
                        self.wfile.write(data)
                        self.wfile.write(b"\r\n")
                        self.wfile.flush()
                    except OSError as exc:  # reset, broken pipe, or the write timed out
                        raise _ClientGone from exc
                    served.bytes_sent += len(data)

                try:
                    script.play(emit, stop)
                    if script.complete:
                        self.wfile.write(b"0\r\n\r\n")
                        self.wfile.flush()
                    served.finished = True
                except (_ClientGone, OSError):
                    served.client_closed = True
                finally:
                    served.done.set()

            do_POST = do_GET = _serve  # noqa: N815 - http.server's naming

        return Handler
