"""The loopback replay server (for non-httpx clients such as boto3): order matching over a real socket
on 127.0.0.1, mismatches with the nearest request, a dropped connection, and the suite starting it for a
provider declared `conformance_transport = "sockets"`."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from conformance.cassette import Cassette, Chunk, Interaction, RecordedRequest, RecordedResponse
from conformance.loopback import NO_INTERACTION_STATUS, LoopbackServer

pytest_plugins = ["pytester"]

SOURCE = {"kind": "written", "reference": "test", "note": "test"}


def interaction(path: str, chunks: list[bytes], end: str = "complete") -> Interaction:
    return Interaction(RecordedRequest("POST", path, {}, {"q": 1}),
                       RecordedResponse(200, {"content-type": "application/json"},
                                        [Chunk(i, data) for i, data in enumerate(chunks)], end))


def post(server: LoopbackServer, path: str, body: dict) -> http.client.HTTPResponse:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("POST", path, body=json.dumps(body), headers={"content-type": "application/json"})
    return connection.getresponse()


def test_serves_in_order_on_loopback_only_and_keeps_what_was_sent():
    cassette = Cassette("unit", "unit", SOURCE, [interaction("/model/m:1/converse", [b'{"a":', b"1}"])])
    with LoopbackServer() as server, server.replay(cassette) as replay:
        assert server.url.startswith("http://127.0.0.1:")
        assert post(server, "/model/m%3A1/converse", {"q": 2}).read() == b'{"a":1}'
    assert not replay.unplayed() and not replay.mismatches
    assert (replay.sent[0].path, replay.sent[0].body) == ("/model/m:1/converse", {"q": 2})
    with pytest.raises(OSError):  # stopped with its `with` block
        socket.create_connection(tuple(server._server.server_address[:2]), timeout=1)


def test_request_the_cassette_lacks_names_the_nearest_one():
    cassette = Cassette("unit", "unit", SOURCE, [interaction("/model/m/converse-stream", [b"x"])])
    with LoopbackServer() as server, server.replay(cassette) as replay:
        response = post(server, "/model/m/converse", {"q": 1})
        assert response.status == NO_INTERACTION_STATUS
        assert b"matches nothing" in response.read()
    assert "Nearest recorded request: interaction #0 POST /model/m/converse-stream" in replay.mismatches[0]
    assert "path: sent /model/m/converse, recorded /model/m/converse-stream" in replay.mismatches[0]


def test_closed_recording_drops_the_connection_before_its_length():
    cassette = Cassette("unit", "unit", SOURCE, [interaction("/x", [b"partial"], end="closed")])
    with LoopbackServer() as server, server.replay(cassette):
        with pytest.raises(http.client.IncompleteRead):
            post(server, "/x", {}).read()


def test_suite_replays_upstream_bedrock_through_the_loopback(pytester):
    result = pytester.runpytest_subprocess(
        "--pyargs", "conformance.checks.test_tool_calls", "-p", "no:cacheprovider", "-q",
        "--conformance-provider", "conformance.upstream_bedrock:bedrock", "--conformance-wire", "bedrock-converse",
        "-k", "test_tool_calls_reassembled and tool_single",
    )
    result.assert_outcomes(passed=1)
