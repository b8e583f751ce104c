"""A loopback HTTP server that replays one cassette to clients that do not use httpx (boto3).

Why it exists: respx replays in-process by patching httpx, but upstream `strands.models.bedrock.
BedrockModel` talks through botocore's urllib3. This server listens on 127.0.0.1 (a free port), answers
the n-th request with the n-th interaction when method and path agree, writes the recorded chunks
one by one (flushing between them, so chunk boundaries survive), and for a response recorded as
`closed` drops the connection before the declared length. It stops when its `with` block ends.

    with LoopbackReplay(load_cassette(path)) as loop:
        model = BedrockModel(endpoint_url=loop.url, ...)
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conformance.cassette import Cassette

__all__ = ["LoopbackReplay"]


class LoopbackReplay:
    """Serve a cassette's interactions in order on 127.0.0.1; `mismatches` lists requests that fit nothing."""

    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette
        self.played = 0
        self.mismatches: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-replay", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def unplayed(self) -> int:
        return len(self.cassette.interactions) - self.played

    def __enter__(self) -> LoopbackReplay:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next_interaction(self, method: str, path: str) -> Any:
        with self._lock:
            interactions = self.cassette.interactions
            if self.played < len(interactions):
                expected = interactions[self.played]
                if expected.request.method == method and expected.request.path == path:
                    self.played += 1
                    return expected
                reason = f"the next recorded request is {expected.request.method} {expected.request.path}"
            else:
                reason = f"all {len(interactions)} interactions were already played"
            self.mismatches.append(f"{method} {path}: {reason} (cassette {self.cassette.name})")
            return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return  # keep test output clean; mismatches are collected instead

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                from urllib.parse import unquote

                interaction = replay._next_interaction("POST", unquote(self.path.split("?")[0]))
                if interaction is None:
                    body = b'{"message": "loopback replay: no recorded interaction for this request"}'
                    self.send_response(599)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                response = interaction.response
                total = sum(len(chunk.data) for chunk in response.chunks)
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                # A `closed` recording promises more than it sends, so the client sees the drop.
                self.send_header("content-length", str(total + (1024 if response.end == "closed" else 0)))
                self.end_headers()
                for chunk in response.chunks:
                    self.wfile.write(chunk.data)
                    self.wfile.flush()
                if response.end == "closed":
                    self.close_connection = True

        return Handler
