"""The simulator's HTTP/1.1 side: one keep-alive connection, its requests parsed, routed and answered.

Why raw asyncio and not a web framework: the simulator must serve at least twice the event rate one
load-test worker consumes, on one core.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from loadtests.sim.apis import API_PATHS, FRAMES, chat_view
from loadtests.sim.faults import answer_instead, choose_fault
from loadtests.sim.metrics import metrics_text
from loadtests.sim.profiles import FAULT_KINDS
from loadtests.sim.responses import SimStream, prompt_tokens_of

if TYPE_CHECKING:
    from loadtests.sim.server import SimServer

_ID_PREFIX = {"chat": "chatcmpl", "responses": "resp", "messages": "msg"}  # as each API's ids begin
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class SimProtocol(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection (no pipelining: clients wait for each response)."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.buf = b""
        self.transport: asyncio.Transport
        self.current: SimStream | None = None
        self.close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.current is not None:
            self.server.release(self.current)
            self.current = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.current is None:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end].decode("latin-1").split("\r\n")
            try:
                method, path, _version = head[0].split(" ", 2)
            except ValueError:
                self.send_json(400, {"error": {"message": f"bad request line {head[0]!r}"}}, close=True)
                return
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if len(self.buf) < head_end + 4 + length:
                return
            body = self.buf[head_end + 4:head_end + 4 + length]
            self.buf = self.buf[head_end + 4 + length:]
            self.close_after = headers.get("connection", "").lower() == "close"
            self.route(method, path.split("?", 1)[0], headers, body)

    # ---- responses --------------------------------------------------------------------------
    def send_raw(self, status: int, content_type: str, payload: bytes, extra: str = "", close: bool = False) -> None:
        conn = "close" if close or self.close_after else "keep-alive"
        self.transport.write((f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: {content_type}\r\n"
                              f"Content-Length: {len(payload)}\r\nConnection: {conn}\r\n{extra}\r\n").encode() + payload)
        if conn == "close":
            self.transport.close()

    def send_json(self, status: int, payload: Any, extra: str = "", close: bool = False) -> None:
        self.current = None
        self.send_raw(status, "application/json", json.dumps(payload).encode(), extra, close)

    def write_sse(self, frame: bytes, events: int = 1) -> None:
        self.server.counters["sse_events"] += events
        self.transport.write(b"%x\r\n%s\r\n" % (len(frame), frame))

    def end_chunked(self) -> None:
        self.transport.write(b"0\r\n\r\n")
        self.current = None
        if self.close_after:
            self.transport.close()

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        srv = self.server
        if method == "GET" and path == "/health":
            payload = b'{"status":"ok"}' if srv.profile.server_kind == "llamacpp" else b""
            self.send_raw(200, "application/json", payload)
        elif method == "GET" and path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": srv.profile.model_id, "object": "model",
                                                            "owned_by": "sim", "max_model_len": srv.profile.max_model_len}]})
        elif method == "GET" and path == "/metrics":
            self.send_raw(200, "text/plain; version=0.0.4", metrics_text(srv).encode())
        elif API_PATHS.get(path) in srv.profile.apis:
            if method != "POST":
                self.send_json(405, {"error": {"message": f"{method} not allowed on {path}; use POST"}})
                return
            self.chat(headers, body, API_PATHS[path])
        else:
            self.send_json(404, {"error": {"message": f"no route {method} {path}"}})

    def chat(self, headers: dict[str, str], raw: bytes, api: str = "chat") -> None:
        """A generation request of any API: planned in the chat view, written in the API's own events."""
        srv = self.server
        recv_wall, recv_mono = time.time(), time.monotonic()  # now, not the loop's cached time (see Scheduler.start)
        try:
            body = json.loads(raw)
            if api != "chat":
                body = chat_view(api, body)
                if not body.get("stream"):
                    raise ValueError(f"the simulator answers {api} requests only as streams; set \"stream\": true")
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                raise ValueError("body must be a JSON object with a 'messages' list")
        except ValueError as exc:
            self.send_json(400, {"error": {"message": f"invalid request body: {exc}", "type": "BadRequestError"}})
            return
        if body.get("model") not in (None, srv.profile.model_id):
            self.send_json(404, {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                           "type": "NotFoundError", "code": 404}})
            return
        st = SimStream(self, body, recv_wall, recv_mono)
        st.api = FRAMES.get(api)
        srv.next_id += 1
        st.rid = f"{_ID_PREFIX[api]}-sim{srv.next_id:08d}"
        st.prefix = (f'data: {{"id":"{st.rid}","object":"chat.completion.chunk","created":{int(recv_wall)},'
                     f'"model":"{srv.profile.model_id}","choices":[{{"index":0,"delta":')
        st.fault = choose_fault(srv.profile.fault_rates, srv.rng, body, headers.get("x-sim-fault"))
        if st.fault and st.fault.startswith("bad:"):
            self.send_json(400, {"error": {"message": f"unknown sim fault {st.fault[4:]!r}; valid: {list(FAULT_KINDS)}"}})
            return
        if st.fault:
            srv.faults[st.fault] += 1
        st.prompt_tokens = prompt_tokens_of(body)
        max_tokens = int(body.get("max_completion_tokens") or body.get("max_tokens") or 64)
        if answer_instead(self, st, max_tokens, srv.profile.max_model_len):
            return
        srv.counters["prompt_tokens"] += st.prompt_tokens
        srv.plan(st)
        self.current = st
        if st.stream:
            conn = "close" if self.close_after else "keep-alive"
            self.transport.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                                  f"Transfer-Encoding: chunked\r\nConnection: {conn}\r\n\r\n").encode())
        srv.admit_or_queue(st)
