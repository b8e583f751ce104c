"""A minimal HTTP/1.1 client that hands over every piece of a response body with the time it arrived.

Why not Locust's clients: geventhttpclient's `read(n)` waits until n bytes are there, which holds
back the first events (about 41 ms of false TTFT, measured) and bunches ITL; requests-based
HttpUser costs more CPU per event. Here each `recvmsg` returns whatever the kernel has, and on
plain TCP the kernel's own receive timestamp (SO_TIMESTAMPNS) is used, so time spent waiting for
the event loop does not enter TTFT or ITL. Events already queued together when read share the
newest one's time (the kernel merges queued segments), so a client that reads a socket later than
one ITL after its last event over-reads that event's lateness; hence the accuracy benchmark, and
hence a streamed body is read in the event loop's own callback (`Response.stream_body`), which
costs a quarter less CPU per event than a greenlet woken for each. Under Locust the socket module
is gevent's, so this is cooperative; without Locust (benchmarks, unit tests) it is plain blocking I/O.

Errors: every failure is a `RequestFailure` (failures.py) with a `kind` and a message saying what
was seen and what to do.
"""

from __future__ import annotations

import math
import socket
import ssl
import struct
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from loadtests.client.failures import RequestFailure

_SO_TIMESTAMPNS = 35  # Linux; SCM_TIMESTAMPNS has the same value
_TS = struct.Struct("qq")
_READ_SIZE = 1 << 18  # large reads: small buffers collapse throughput at long contexts


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    base_path: str  # without trailing slash, e.g. "" or "/v1"

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"host {url!r} is not an http(s) URL; give e.g. --host http://127.0.0.1:8000")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.base_path}"


class BodyFraming:
    """Cuts an HTTP/1.1 response body out of the bytes that follow its headers, as they are pushed in.

    Chunked, sized (content-length) or close-delimited. `feed` returns the body's pieces in one read
    and sets `done` when the body has ended. Reads are not cut at chunk boundaries: TCP merges queued
    segments and reports the newest one's timestamp (measured), so cutting would separate nothing.
    """

    __slots__ = ("_buf", "_left", "_state", "done", "until_close")

    def __init__(self, headers: dict[str, str]) -> None:
        self._buf = b""  # an unfinished size line, chunk end or trailer
        self._left = 0  # bytes left of the current chunk, or of a sized body
        self.done = False
        self.until_close = False
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = _SIZE_LINE
        elif "content-length" in headers:
            self._state, self._left = _SIZED, _content_length(headers["content-length"])
            self.done = self._left == 0
        else:
            self._state, self.until_close = _SIZED, True

    def ended_by(self, failure: RequestFailure) -> bool:
        """Whether a failed read is this body's end: the connection closing is how a close-delimited body ends."""
        return self.until_close and failure.kind == "dropped"

    def feed(self, data: bytes) -> list[bytes]:
        if self.until_close:
            return [data] if data else []
        if self._buf:
            data, self._buf = self._buf + data, b""
        out: list[bytes] = []
        state, left, pos, end = self._state, self._left, 0, len(data)
        while not self.done:
            if state is _SIZED or state is _CHUNK:
                take = min(left, end - pos)
                if take:
                    out.append(data if take == end else data[pos:pos + take])
                    pos += take
                    left -= take
                if left:
                    break
                if state is _SIZED:
                    self.done = True
                    break
                state = _CHUNK_END
            if state is _CHUNK_END:  # the CRLF after a chunk's data
                if end - pos < 2:
                    break
                pos += 2
                state = _SIZE_LINE
            if state is _SIZE_LINE:
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    if end - pos > 4096:
                        raise RequestFailure("protocol", f"no end of a chunk size line in 4 KiB: {data[pos:pos + 40]!r}")
                    break
                try:
                    left = int(data[pos:eol].split(b";", 1)[0], 16)
                except ValueError:
                    left = -1
                if left < 0:
                    raise RequestFailure("protocol", f"bad chunk size line {data[pos:eol][:40]!r} in a chunked body")
                pos = eol + 2
                state = _CHUNK if left else _TRAILERS
            if state is _TRAILERS:  # trailer lines, then an empty line
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    if end - pos > 65536:
                        raise RequestFailure("protocol", "trailers of a chunked body longer than 64 KiB")
                    break
                self.done = eol == pos
                pos = eol + 2
        self._state, self._left = state, left
        if not self.done and pos < end:
            self._buf = data[pos:]
        return out


_SIZE_LINE, _CHUNK, _CHUNK_END, _TRAILERS, _SIZED = "size line", "chunk", "chunk end", "trailers", "sized"


def _content_length(value: str) -> int:
    try:
        length = int(value)
    except ValueError:
        length = -1
    if length < 0:
        raise RequestFailure("protocol", f"bad content-length {value[:40]!r}")
    return length


class Response:
    """Status, headers and the body as (arrival time, bytes) pieces."""

    def __init__(self, conn: Connection, status: int, headers: dict[str, str], rest: bytes, ts: float) -> None:
        self.conn = conn
        self.status = status
        self.headers = headers
        self._rest = rest
        self._rest_ts = ts
        self.complete = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def iter_body(self) -> Iterator[tuple[float, bytes]]:
        """The body's pieces with their arrival times, read as the caller asks for them."""
        framing = BodyFraming(self.headers)
        ts, data = self._rest_ts, self._rest
        self._rest = b""
        while True:
            for piece in framing.feed(data):
                yield ts, piece
            if framing.done:
                break
            try:
                ts, data = self.conn.recv()
            except RequestFailure as exc:
                if framing.ended_by(exc):
                    break
                raise
        self._ended()

    def stream_body(self, consume: Callable[[float, bytes], None]) -> None:
        """Hand each piece of the body to `consume(arrival time, piece)` as it arrives; return when the body ends.

        Under gevent on plain TCP each piece is read and consumed in the event loop's own callback for the
        socket: no switch into the reading greenlet and back per event (those switches cost as much as
        parsing the event), and every socket found readable is read in the same turn of the loop. Whatever
        `consume` raises ends the body and is raised here.
        """
        conn = self.conn
        readiness = conn._readiness
        if readiness is None:  # blocking I/O, or TLS
            for ts, piece in self.iter_body():
                consume(ts, piece)
            return
        framing = BodyFraming(self.headers)
        rest, self._rest = self._rest, b""
        for piece in framing.feed(rest):
            consume(self._rest_ts, piece)
        if not framing.done:
            readiness.stream(conn, framing, consume)
        self._ended()

    def read_all(self, limit: int = 1 << 20) -> bytes:
        out = bytearray()
        for _, piece in self.iter_body():
            out += piece
            self.conn.last_progress = time.monotonic()  # a plain body progresses with every byte
            if len(out) > limit:
                self.conn.close()
                break
        return bytes(out)

    def _ended(self) -> None:
        self.complete = True
        self.conn.busy = False
        if self.headers.get("connection", "").lower() == "close":
            self.conn.close()


class _StallWatchdog:
    """One thread (a greenlet under Locust) that ends responses past their deadline or without progress for too long.

    Progress is content, not bytes: the reader marks `last_progress` when the answer moves on (a
    token, a tool-call or reasoning delta), so keep-alive comments and empty chunks never keep a dead
    stream alive. A socket timeout would arm a timer on every read; at tens of thousands of events per
    second that is a fifth of the client's CPU (measured), so time is checked here ten times a second.
    """

    def __init__(self) -> None:
        self.conns: weakref.WeakSet[Connection] = weakref.WeakSet()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def watch(self, conn: Connection) -> None:
        with self.lock:
            self.conns.add(conn)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="stall-watchdog", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(0.1)
            now = time.monotonic()
            for conn in list(self.conns):
                sock = conn.sock
                if sock is None or not conn.busy or conn.expired:
                    continue
                if now > conn.deadline:
                    conn.expired = "deadline"
                elif now - conn.last_progress > conn.read_timeout:
                    conn.expired = "stall"
                else:
                    continue
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # a blocked read returns at once
                except OSError:
                    pass


_WATCHDOG = _StallWatchdog()


_ADDRESSES: dict[tuple[str, int], list[tuple[int, tuple]]] = {}


def _addresses(host: str, port: int) -> list[tuple[int, tuple]]:
    """(family, sockaddr) of host, resolved once per process.

    Hundreds of users connecting at once through gevent's resolver queue on its thread pool (the
    slowest of 800 took 142 ms, measured), and that wait lands in the open-loop send lag.
    """
    key = (host, port)
    found = _ADDRESSES.get(key)
    if found is None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise RequestFailure("connect_error", f"cannot resolve {host!r}: {exc}; check --host") from None
        found = _ADDRESSES[key] = [(family, sockaddr) for family, _type, _proto, _name, sockaddr in infos]
    return found


class _ReadReadiness:
    """Under gevent: the event loop's watcher of one socket's readability.

    `wait` parks the reading greenlet until the socket is readable, before a read. gevent's socket
    reads first and waits only on EAGAIN; between two events a stream's socket is nearly always
    empty, so that costs two recvmsg calls per event, the first one wasted (measured: half of all
    calls). `stream` reads a whole body in the loop's callback instead (`Response.stream_body`).
    """

    __slots__ = ("hub", "watcher")

    def __init__(self, fd: int) -> None:
        from gevent import get_hub

        self.hub = get_hub()
        self.watcher = self.hub.loop.io(fd, 1)

    def wait(self) -> None:
        self.hub.wait(self.watcher)

    def stream(self, conn: Connection, framing: BodyFraming, consume: Callable[[float, bytes], None]) -> None:
        """Read and consume the rest of a body in the loop's callback; the calling greenlet waits for its end."""
        from gevent.hub import Waiter

        waiter = Waiter(self.hub)
        watcher = self.watcher
        raw = conn.sock._sock  # type: ignore[union-attr]  # not gevent's wrapper: it would wait, in the loop itself

        def on_readable() -> None:
            try:
                got = conn._receive(raw)
                if got is None:  # woken with nothing to read after all
                    return
                ts, data = got
                for piece in framing.feed(data):
                    consume(ts, piece)
                if not framing.done:
                    return
                ended: BaseException | None = None
            except RequestFailure as exc:
                ended = None if framing.ended_by(exc) else exc
            except Exception as exc:  # whatever consume raised is the reading greenlet's to handle
                ended = exc
            watcher.stop()
            waiter.switch(ended)

        watcher.start(on_readable)
        try:
            ended = waiter.get()
        finally:
            watcher.stop()
        if ended is not None:
            raise ended

    def close(self) -> None:
        self.watcher.close()


def _is_cooperative(sock: socket.socket) -> bool:
    return type(sock).__module__.startswith("gevent.")


class Connection:
    """One keep-alive connection to a target. Not thread- or greenlet-safe: one per user."""

    def __init__(self, target: Target, connect_timeout: float = 5.0, read_timeout: float = 30.0) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.sock: socket.socket | None = None
        self.kernel_ts = False
        self.busy = False  # a request is under way: the watchdog keeps time on it
        self.expired: str | None = None  # "stall" or "deadline", set by the watchdog
        self.last_progress = time.monotonic()
        self.timeout_s = math.inf
        self.deadline = math.inf  # monotonic time by which the whole response must have been read
        self._readiness: _ReadReadiness | None = None
        self._buffer_filled = False  # the last read filled the buffer: more may be waiting
        _WATCHDOG.watch(self)

    def close(self) -> None:
        self.busy = False
        if self._readiness is not None:
            self._readiness.close()
            self._readiness = None
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def connect(self) -> None:
        """Open the connection now (a user opens it before its first request is due); idempotent."""
        if self.sock is None:
            self._connect()

    def _connect(self) -> None:
        t = self.target
        sock = None
        last: OSError | None = None
        for family, sockaddr in _addresses(t.host, t.port):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(self.connect_timeout)
            try:
                sock.connect(sockaddr)
                break
            except OSError as exc:
                sock.close()
                sock, last = None, exc
        if sock is None:
            if isinstance(last, ConnectionRefusedError):
                raise RequestFailure("connect_refused", f"connection refused by {t.host}:{t.port}: is the server running? "
                                                     "Check --host (no --host starts the embedded simulator)") from None
            if isinstance(last, TimeoutError):
                raise RequestFailure("connect_timeout", f"no TCP connection to {t.host}:{t.port} within "
                                                     f"{self.connect_timeout:g} s") from None
            raise RequestFailure("connect_error", f"cannot connect to {t.host}:{t.port}: {last}") from None
        self._buffer_filled = False
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if t.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=t.host)
            self.kernel_ts = False
        else:
            try:
                sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
                self.kernel_ts = True
            except OSError:
                self.kernel_ts = False
            if _is_cooperative(sock):  # not under TLS: decrypted bytes can wait in the SSL object, not the socket
                self._readiness = _ReadReadiness(sock.fileno())
        sock.settimeout(None)  # reads are bounded by the stall watchdog instead
        self.sock = sock

    def recv(self, size: int = _READ_SIZE) -> tuple[float, bytes]:
        """Up to `size` bytes of whatever has arrived, with its arrival time (kernel timestamp when available)."""
        sock = self.sock
        if sock is None:
            raise RequestFailure("dropped", "the connection was closed before the response ended")
        if self._readiness is not None and not self._buffer_filled:
            self._readiness.wait()
        got = self._receive(sock, size)
        assert got is not None  # a blocking or cooperative socket waits for data
        return got

    def _receive(self, sock: socket.socket, size: int = _READ_SIZE) -> tuple[float, bytes] | None:
        """One read of `sock` (this connection's, or the non-blocking one under gevent's wrapper): (arrival
        time, bytes), or None when a non-blocking socket had nothing after all."""
        try:
            if self.kernel_ts:
                data, anc, _flags, _addr = sock.recvmsg(size, 64)
                ts = time.time()
                for _level, _type, raw in anc:
                    if len(raw) >= 16:
                        sec, nsec = _TS.unpack_from(raw)
                        ts = min(ts, sec + nsec * 1e-9)
            else:
                data = sock.recv(size)
                ts = time.time()
        except BlockingIOError:
            return None
        except OSError as exc:
            data = b""
            error: OSError | None = exc
        else:
            error = None
        if data and not self.expired:  # data queued before the watchdog's shutdown may still be read
            self._buffer_filled = len(data) == size
            return ts, data
        self.close()
        if self.expired:
            raise self._expiry()
        if error is not None:
            raise RequestFailure("dropped", f"connection lost mid-response: {error}")
        raise RequestFailure("dropped", "the server closed the connection before the response ended")

    def _expiry(self) -> RequestFailure:
        kind, self.expired = self.expired, None
        if kind == "deadline":
            return RequestFailure("deadline", f"the response took longer than its deadline of {self.timeout_s:g} s; "
                                              "raise --request-timeout-s if the server is just slow")
        return RequestFailure("stall", f"no progress from the server for {self.read_timeout:g} s (no token, only "
                                       "keep-alives or nothing); raise --stall-timeout-s if the server is just slow")

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout_s: float = math.inf) -> tuple[float, Response]:
        """Send one request; return (send time, response with headers read). Retries once on a stale keep-alive.

        `timeout_s`: the whole response, headers to last byte, must arrive within it (the watchdog ends it).
        """
        t = self.target
        lines = [f"{method} {t.base_path}{path} HTTP/1.1", f"Host: {t.host}:{t.port}", "Accept: text/event-stream, application/json",
                 "User-Agent: provider-conformance-loadtest"]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        if self.expired:  # the watchdog shut this socket down just as the last response ended
            self.close()
            self.expired = None
        for attempt in (0, 1):
            reused = self.sock is not None
            if not reused:
                self._connect()
            assert self.sock is not None
            t_send = time.time()
            self.last_progress = now = time.monotonic()
            self.timeout_s, self.deadline, self.busy = timeout_s, now + timeout_s, True
            try:
                self.sock.sendall(raw)
                return t_send, self._read_head()
            except RequestFailure as exc:
                if reused and attempt == 0 and exc.kind == "dropped":
                    continue  # the server dropped an idle keep-alive connection (llama.cpp does): reconnect once
                raise
            except OSError as exc:
                self.close()
                if reused and attempt == 0:
                    continue
                raise RequestFailure("dropped", f"sending the request failed: {exc}") from None
        raise AssertionError("unreachable")

    def _read_head(self) -> Response:
        buf = b""
        while True:
            ts, data = self.recv()
            buf += data
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(buf) > 65536:
                self.close()
                raise RequestFailure("protocol", f"no end of HTTP headers in the first 64 KiB: {buf[:80]!r}")
        head = buf[:end].decode("latin-1").split("\r\n")
        try:
            _version, status_text = head[0].split(" ", 2)[:2]
            status = int(status_text)
        except ValueError:
            self.close()
            raise RequestFailure("protocol", f"not an HTTP response: {head[0][:80]!r}") from None
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Response(self, status, headers, buf[end + 4:], ts)
