"""A minimal HTTP/1.1 client that hands over every piece of a response body with the time it arrived.

Why not Locust's clients: geventhttpclient's `read(n)` waits until n bytes are there, which holds
back the first events (about 41 ms of false TTFT, measured) and bunches ITL; requests-based
HttpUser costs more CPU per event. Here each `recvmsg` returns whatever the kernel has, and on
plain TCP the kernel's own receive timestamp (SO_TIMESTAMPNS) is used, so time spent waiting for
the event loop does not enter TTFT or ITL (events that were already queued together when read share
the newest one's time: the kernel merges queued segments, so a client that is descheduled for longer
than one ITL still over-reads the earlier ones' lateness; hence the accuracy benchmark). Under Locust the socket module is gevent's, so this is
cooperative; without Locust (benchmarks, unit tests) it is plain blocking I/O.

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
from collections.abc import Iterator
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
        te = self.headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            yield from self._chunked()
        elif "content-length" in self.headers:
            yield from self._sized(int(self.headers["content-length"]))
        else:
            yield from self._until_close()
        self.complete = True
        self.conn.busy = False
        if self.headers.get("connection", "").lower() == "close":
            self.conn.close()

    def read_all(self, limit: int = 1 << 20) -> bytes:
        out = bytearray()
        for _, piece in self.iter_body():
            out += piece
            self.conn.last_progress = time.monotonic()  # a plain body progresses with every byte
            if len(out) > limit:
                self.conn.close()
                break
        return bytes(out)

    def _sized(self, length: int) -> Iterator[tuple[float, bytes]]:
        data, ts = self._rest, self._rest_ts
        self._rest = b""
        while True:
            if data:
                take = data[:length]
                length -= len(take)
                yield ts, take
            if length <= 0:
                return
            ts, data = self.conn.recv()

    def _until_close(self) -> Iterator[tuple[float, bytes]]:
        if self._rest:
            yield self._rest_ts, self._rest
        while True:
            try:
                ts, data = self.conn.recv()
            except RequestFailure as exc:
                if exc.kind == "dropped":  # a close-delimited body ends at EOF
                    self.conn.close()
                    return
                raise
            yield ts, data

    def _chunked(self) -> Iterator[tuple[float, bytes]]:
        # Reads are not cut at chunk boundaries: TCP merges queued segments and reports the newest
        # one's timestamp (measured), so cutting would cost syscalls and separate nothing.
        conn = self.conn
        buf = self._rest
        ts = self._rest_ts
        self._rest = b""
        pos = 0
        while True:
            while True:  # the chunk size line
                eol = buf.find(b"\r\n", pos)
                if eol >= 0:
                    break
                buf = buf[pos:]
                pos = 0
                ts, more = conn.recv()
                buf += more
            try:
                size = int(buf[pos:eol].split(b";", 1)[0], 16)
            except ValueError:
                raise RequestFailure("protocol", f"bad chunk size line {buf[pos:eol][:40]!r} in a chunked body") from None
            pos = eol + 2
            if size == 0:
                while buf.find(b"\r\n", pos) < 0:  # trailers end with an empty line
                    buf = buf[pos:]
                    pos = 0
                    ts, more = conn.recv()
                    buf += more
                return
            while len(buf) - pos < size + 2:
                have = buf[pos:]
                take = min(len(have), size)
                if take:  # hand over what arrived; the rest of the chunk follows in later reads
                    yield ts, have[:take]
                    size -= take
                    have = have[take:]
                buf, pos = have, 0
                if size == 0 and len(buf) >= 2:
                    break
                ts, more = conn.recv()
                buf += more
            if size:
                yield ts, buf[pos:pos + size]
                pos += size
            pos += 2


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
    """Under gevent: parks the reading greenlet until its socket is readable, before each read.

    gevent's socket reads first and waits only on EAGAIN. Between two events a stream's socket is
    nearly always empty, so that costs two recvmsg calls per event, the first one wasted (measured:
    half of all calls). Waiting first costs one event-loop turn when data was already there.
    """

    __slots__ = ("hub", "watcher")

    def __init__(self, fd: int) -> None:
        from gevent import get_hub

        self.hub = get_hub()
        self.watcher = self.hub.loop.io(fd, 1)

    def wait(self) -> None:
        self.hub.wait(self.watcher)

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
        try:
            if self._readiness is not None and not self._buffer_filled:
                self._readiness.wait()
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
