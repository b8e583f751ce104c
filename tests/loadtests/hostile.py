"""A hostile OpenAI-compatible server on 127.0.0.1 that answers each request with the next misbehaviour of a plan.

The simulator misbehaves only in ways a real server does by accident; this one breaks the stream
in the ways that once slipped past the load test uncounted (invalid UTF-8 split across writes, chunks
of the wrong shape, keep-alive comments forever, one enormous line, HTTP chunk framing broken or cut
off mid-chunk), and keeps writing after the break, so a client that reused the connection would read
the leftovers as its next answer.
Threads, not asyncio: the tests never import gevent or Locust into their own process.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def _event(obj: object) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _content(text: str, n: int) -> bytes:
    return _event({"choices": [{"index": 0, "delta": {"content": text}}], "usage": {"prompt_tokens": 5, "completion_tokens": n}})


_ROLE = _event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
_DONE = b"data: [DONE]\n\n"
_FINISH = _event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})


class Raw(bytes):
    """Written as is, outside the chunked framing: a broken chunk header, or a chunk cut short."""


CLOSE = Raw(b"")  # the server closes the connection here


def _ok() -> Iterator[bytes]:
    yield _ROLE
    for i in range(1, 4):
        yield _content(f"w{i} ", i)
    yield _FINISH
    yield _DONE


def _broken(bad: bytes | list[bytes]) -> Callable[[], Iterator[bytes]]:
    """A stream that starts well, then sends `bad` (pieces written apart), then carries on as if nothing happened."""
    def writes() -> Iterator[bytes]:
        yield _ROLE
        yield _content("w1 ", 1)
        yield from (bad if isinstance(bad, list) else [bad])
        yield _content("w2 ", 2)
        yield _FINISH
        yield _DONE
    return writes


def _forever(piece: bytes, every_s: float) -> Callable[[], Iterator[bytes]]:
    def writes() -> Iterator[bytes]:
        yield _ROLE
        yield _content("w1 ", 1)
        for n in itertools.count(2):
            time.sleep(every_s)
            yield piece if piece else _content(f"w{n} ", n)
    return writes


_HUGE_LINE = memoryview(b'data: {"choices":[{"index":0,"delta":{"content":"' + b"x" * (50 << 20) + b'"}}]}\n\n')


def _oversize() -> Iterator[bytes | memoryview]:
    yield _ROLE
    for i in range(0, len(_HUGE_LINE), 1 << 20):  # views, not copies: the GIL stays free for the other streams
        yield _HUGE_LINE[i:i + (1 << 20)]
    yield _FINISH
    yield _DONE


# kind -> the writes of its answer (each write a separate chunk and, after a short pause, a separate segment)
BEHAVIOURS: dict[str, Callable[[], Iterable[bytes | memoryview]]] = {
    "ok": _ok,
    "decode": _broken([b'data: {"choices":[{"index":0,"delta":{"content":"\xc3', b'\x28"}}]}\n\n']),  # split invalid UTF-8
    "choices_not_objects": _broken(_event({"choices": [1]})),
    "usage_not_object": _broken(_event({"choices": [], "usage": "abc"})),
    "garbage_json": _broken(b"data: {not json\n\n"),
    "pings": _forever(b": ping\n\n", 0.05),
    "empty_choices": _forever(_event({"choices": []}), 0.05),
    "trickle": _forever(b"", 0.3),  # real tokens, each in time for the stall timeout, never ending
    "oversize": _oversize,
    # HTTP/1.1 framing, not the stream: a chunk size that is not hex, then chunks that are well formed
    "bad_chunk_size": _broken([Raw(b"zz\r\n" + _content("w? ", 9) + b"\r\n")]),
    # a chunk declared 4096 bytes long, 40 of them sent, then the connection closed
    "cut_mid_chunk": _broken([Raw(b"1000\r\n" + _content("w? ", 9)[:40]), CLOSE]),
}


class HostileServer:
    """Serves `plan` in turn (cycled) to every request on every connection; `served` counts what went out."""

    def __init__(self, plan: list[str]) -> None:
        self.kinds, self.plan_length = frozenset(plan), len(plan)
        self.plan = itertools.cycle(plan)
        self.served: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.closed = True
        self.sock.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while not self.closed:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(buf) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                buf = buf[length:]
                with self.lock:
                    kind = next(self.plan)
                    self.served[kind] += 1
                try:
                    conn.sendall(_HEAD)
                    for piece in BEHAVIOURS[kind]():
                        if piece is CLOSE:
                            return
                        if isinstance(piece, Raw):
                            conn.sendall(piece)
                        elif isinstance(piece, bytes):
                            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                        else:  # a view of the huge line: sent as is, never copied
                            conn.sendall(b"%x\r\n" % len(piece))
                            conn.sendall(piece)
                            conn.sendall(b"\r\n")
                        time.sleep(0.002)  # each write its own segment
                    conn.sendall(b"0\r\n\r\n")
                except OSError:
                    return  # the client gave up on this answer, as it should
