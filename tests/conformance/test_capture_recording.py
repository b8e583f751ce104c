"""Unit tests of live capture and atomic recording, against a tiny real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from conformance.capture import Capture, IncompleteRecording
from conformance.cassette import load_cassette, write_cassette_atomically

SOURCE = {"kind": "recorded", "server": "unit", "server_version": "1", "model": "m", "recorded_at": "2026-11-22"}
PIECES = [b"data: {\"a\": 1}\n\n", "data: {\"b\": \"\u00e9\"}\n\n".encode(), b"data: [DONE]\n\n"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/v1/closed":
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", "1000")
            self.end_headers()
            self.wfile.write(PIECES[0])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("set-cookie", "session=secret")
        self.end_headers()
        for piece in PIECES:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            time.sleep(0.02)
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


async def test_capture_records_chunks_timing_and_drops_secret_headers(server, tmp_path):
    with Capture() as capture:
        async with httpx.AsyncClient() as client:
            async with client.stream("POST", f"{server}/v1/chat", json={"model": "m"},
                                     headers={"Authorization": "Bearer abcdefgh12345678"}) as response:
                body = b"".join([chunk async for chunk in response.aiter_raw()])
    assert body == b"".join(PIECES)
    cassette = capture.to_cassette("openai-chat", "unit", SOURCE)
    (item,) = cassette.interactions
    assert item.request.body == {"model": "m"} and item.request.path == "/v1/chat"
    assert "authorization" not in item.request.headers and "set-cookie" not in item.response.headers
    assert item.response.body == body and item.response.end == "complete"
    times = [chunk.ms for chunk in item.response.chunks]
    assert times == sorted(times) and times[-1] >= 20, times
    path = tmp_path / "unit.unit.json"
    write_cassette_atomically(cassette, path)
    assert load_cassette(path).interactions[0].response.body == body
    assert "abcdefgh" not in path.read_text()


def test_sync_capture_drains_a_body_the_client_stopped_reading(server):
    with Capture() as capture:
        with httpx.Client() as client:
            with client.stream("POST", f"{server}/v1/chat", json={}) as response:
                next(response.iter_raw())  # stop after the first chunk, as a provider does at [DONE]
    (item,) = capture.to_cassette("openai-chat", "unit", SOURCE).interactions
    assert item.response.body == b"".join(PIECES) and item.response.end == "complete"


async def test_async_capture_drains_after_the_client_breaks_out(server):
    with Capture() as capture:
        async with httpx.AsyncClient() as client:
            async with client.stream("POST", f"{server}/v1/chat", json={}) as response:
                async for _ in response.aiter_raw():
                    break
    (item,) = capture.to_cassette("openai-chat", "unit", SOURCE).interactions
    assert item.response.body == b"".join(PIECES) and item.response.end == "complete"


def test_request_without_response_is_incomplete():
    with Capture() as capture:
        with httpx.Client() as client:
            with pytest.raises(httpx.ConnectError):
                client.post("http://127.0.0.1:9/v1/chat", json={})
    with pytest.raises(IncompleteRecording, match="request #0 got no response"):
        capture.to_cassette("openai-chat", "unit", SOURCE)


async def test_connection_closed_mid_body_is_recorded_as_closed(server):
    with Capture() as capture:
        async with httpx.AsyncClient() as client:
            async with client.stream("POST", f"{server}/v1/closed", json={}) as response:
                with pytest.raises(httpx.RemoteProtocolError):
                    async for _ in response.aiter_raw():
                        pass
    (item,) = capture.to_cassette("openai-chat", "unit", SOURCE).interactions
    assert item.response.end == "closed" and item.response.body == PIECES[0]


def test_no_request_is_incomplete_and_keeps_the_good_cassette(tmp_path):
    path = tmp_path / "unit.vllm.json"
    path.write_text(json.dumps({"good": True}))
    with Capture() as capture:
        pass
    with pytest.raises(IncompleteRecording, match="no request was sent"):
        write_cassette_atomically(capture.to_cassette("openai-chat", "unit", SOURCE), path)
    assert json.loads(path.read_text()) == {"good": True}


def test_capture_restores_transports():
    original = httpx.AsyncHTTPTransport.handle_async_request
    with Capture():
        assert httpx.AsyncHTTPTransport.handle_async_request is not original
    assert httpx.AsyncHTTPTransport.handle_async_request is original
