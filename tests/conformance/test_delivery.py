"""The replay's steered delivery the streaming families stand on: re-split bodies, wire-message framing,
paced feeds, and the accounting of responses a client left open, in-process and over the loopback socket."""

from __future__ import annotations

import asyncio
import http.client
import json
import time

import httpx
import pytest

from conformance.cassette import Cassette, Chunk, Interaction, RecordedRequest, RecordedResponse
from conformance.loopback import LoopbackServer
from conformance.replay import BodyFeed, DeliveryPlan, Replay, message_ends, split_at
from providers._eventstream import encode_event

SOURCE = {"kind": "written", "reference": "test", "note": "test"}
SSE = b'data: {"a": 1}\n\ndata: {"b": "\xc3\xa9"}\n\ndata: [DONE]\n\n'


def cassette(body: bytes, content_type: str = "text/event-stream") -> Cassette:
    response = RecordedResponse(200, {"content-type": content_type}, [Chunk(0, body)], "complete")
    return Cassette("unit", "unit", SOURCE, [Interaction(RecordedRequest("POST", "/x", {}, {}), response)])


def test_split_at_ignores_repeated_and_outside_offsets_and_never_makes_empty_pieces():
    assert split_at(b"abcdef", [4, 0, 2, 2, 6, 99]) == [b"ab", b"cd", b"ef"]
    assert split_at(b"abc", []) == [b"abc"]


def test_message_ends_frames_sse_events_ndjson_lines_and_aws_event_stream_frames():
    assert message_ends(SSE, "text/event-stream") == [16, 35, 49]
    assert message_ends(b'{"a":1}\n{"b":2}\n', "application/x-ndjson") == [8, 16]
    frames = [encode_event("messageStart", {"role": "assistant"}), encode_event("messageStop", {"stopReason": "end_turn"})]
    body = b"".join(frames)
    assert message_ends(body, "application/vnd.amazon.eventstream") == [len(frames[0]), len(body)]


@pytest.mark.asyncio
async def test_replay_rewinds_with_other_cuts_and_paces_one_message_at_a_time():
    with Replay(cassette(SSE)) as replay:
        async with httpx.AsyncClient() as client:
            replay.rewind(DeliveryPlan(cuts=[[1, 20, 21]]))
            async with client.stream("POST", "http://replay.invalid/x") as response:
                assert [piece async for piece in response.aiter_raw()] == split_at(SSE, [1, 20, 21])
            replay.rewind(DeliveryPlan(paced=True))
            async with client.stream("POST", "http://replay.invalid/x") as response:
                feed = replay.feeds[0]
                pieces = response.aiter_raw()
                feed.release()
                assert await anext(pieces) == b'data: {"a": 1}\n\n'
                reading = asyncio.ensure_future(anext(pieces))
                while not feed.reader_waiting:
                    await asyncio.sleep(0.001)
                assert not reading.done() and feed.open  # held until released
                feed.release()
                assert await reading == SSE[16:35]
        assert feed.closed and not feed.open  # closed by the client before its end
        assert replay.played == 1 and not replay.unplayed()


def test_loopback_sees_a_client_close_a_paced_response():
    with LoopbackServer() as server, server.replay(cassette(SSE)) as replay:
        replay.rewind(DeliveryPlan(paced=True))
        host, port = server.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request("POST", "/x", body=json.dumps({}))
        response = connection.getresponse()
        deadline = time.monotonic() + 5
        while not replay.feeds and time.monotonic() < deadline:
            time.sleep(0.01)
        feed: BodyFeed = replay.feeds[0]
        feed.release()
        assert response.read1().startswith(b'data: {"a"')
        assert feed.open
        connection.close()
        while feed.open and time.monotonic() < deadline:
            time.sleep(0.01)
        assert feed.closed, "the loopback server did not see the client close its end"

