"""Unit tests of respx replay: order matching, mismatch messages with the nearest request, unplayed
interactions, exact chunk boundaries and a dropped connection."""

from __future__ import annotations

import json

import httpx
import pytest

from conformance.cassette import Cassette, Chunk, Interaction, RecordedRequest, RecordedResponse
from conformance.replay import Replay, ReplayMismatch

SOURCE = {"kind": "written", "reference": "test", "note": "test"}


def interaction(path: str, chunks: list[bytes], end: str = "complete", body: dict | None = None) -> Interaction:
    return Interaction(
        RecordedRequest("POST", path, {}, body or {"model": "m", "stream": True}),
        RecordedResponse(200, {"content-type": "text/event-stream"}, [Chunk(i, data) for i, data in enumerate(chunks)], end),
    )


def cassette(*interactions: Interaction) -> Cassette:
    return Cassette("openai-chat", "unit", SOURCE, list(interactions))


async def test_plays_interactions_in_order_with_exact_chunks():
    replay_cassette = cassette(interaction("/v1/a", [b"da", b"ta: 1\n\n"]), interaction("/v1/b", [b"x"]))
    with Replay(replay_cassette) as replay:
        async with httpx.AsyncClient() as client:
            async with client.stream("POST", "http://anything.invalid/v1/a", json={"model": "m"}) as response:
                assert [chunk async for chunk in response.aiter_raw()] == [b"da", b"ta: 1\n\n"]
            assert replay.unplayed() == replay_cassette.interactions[1:]
            assert (await client.post("http://anything.invalid/v1/b", json={})).content == b"x"
    assert replay.unplayed() == [] and replay.mismatches == []
    assert [sent.path for sent in replay.sent] == ["/v1/a", "/v1/b"]
    assert replay.sent[0].body == {"model": "m"}


async def test_mismatch_names_nearest_request_and_differences():
    with Replay(cassette(interaction("/v1/chat/completions", [b"x"], body={"model": "m", "stream": True}))) as replay:
        async with httpx.AsyncClient() as client:
            with pytest.raises(ReplayMismatch) as caught:
                await client.post("http://h.invalid/v1/completions", json={"model": "other", "tools": []})
    message = str(caught.value)
    assert "request #0 POST /v1/completions matches nothing" in message
    assert "Nearest recorded request: interaction #0 POST /v1/chat/completions" in message
    assert "path: sent /v1/completions, recorded /v1/chat/completions" in message
    assert 'body.model: sent "other", recorded "m"' in message
    assert "body.tools: sent only" in message and "body.stream: recorded only" in message
    assert replay.mismatches == [message]


async def test_extra_request_after_cassette_exhausted():
    with Replay(cassette(interaction("/v1/a", [b"x"]))) as replay:
        async with httpx.AsyncClient() as client:
            await client.post("http://h.invalid/v1/a", json={"model": "m", "stream": True})
            with pytest.raises(ReplayMismatch, match="all 1 recorded interactions were already played"):
                await client.post("http://h.invalid/v1/a", json={"model": "m", "stream": True})
    assert "identical request: the cassette is exhausted" in replay.mismatches[0]


def test_sync_clients_replay_too():
    with Replay(cassette(interaction("/v1/a", [b"one", b"two"]))):
        with httpx.Client() as client:
            with client.stream("POST", "http://h.invalid/v1/a") as response:
                assert list(response.iter_raw()) == [b"one", b"two"]


async def test_closed_connection_raises_protocol_error_after_the_chunks():
    with Replay(cassette(interaction("/v1/a", [b"data: 1\n\n"], end="closed"))):
        async with httpx.AsyncClient() as client:
            async with client.stream("POST", "http://h.invalid/v1/a") as response:
                received = []
                with pytest.raises(httpx.RemoteProtocolError, match="peer closed connection"):
                    async for chunk in response.aiter_raw():
                        received.append(chunk)
    assert received == [b"data: 1\n\n"]


async def test_unplayed_interactions_are_reported():
    with Replay(cassette(interaction("/v1/a", [b"x"]), interaction("/v1/a", [b"y"]))) as replay:
        async with httpx.AsyncClient() as client:
            await client.post("http://h.invalid/v1/a")
    assert len(replay.unplayed()) == 1 and replay.played == 1


def _chunk(choices: list[dict], **extra) -> bytes:
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices, **extra}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


STREAMED = [
    _chunk([{"index": 0, "delta": {"role": "assistant", "content": '{"ci'}, "finish_reason": None}]),
    _chunk([{"index": 0, "delta": {"content": 'ty": "Oslo"}'}, "finish_reason": None}]),
    _chunk([{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"a"'}}]},
             "finish_reason": None}]),
    _chunk([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}, "finish_reason": "stop"}]),
    _chunk([], usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}),
    b"data: [DONE]\n\n",
]


async def test_non_streaming_request_gets_the_completion_assembled_from_the_stream():
    recorded = interaction("/v1/chat/completions", STREAMED)
    with Replay(cassette(recorded)) as replay:
        async with httpx.AsyncClient() as client:
            answer = (await client.post("http://h.invalid/v1/chat/completions", json={"model": "m"})).json()
    assert not replay.mismatches and not replay.unplayed()
    assert answer["object"] == "chat.completion" and answer["usage"]["total_tokens"] == 7
    (choice,) = answer["choices"]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == '{"city": "Oslo"}'
    assert choice["message"]["tool_calls"] == [{"id": "call_1", "type": "function",
                                                "function": {"name": "f", "arguments": '{"a": 1}'}}]


async def test_streaming_request_still_gets_the_recorded_chunks():
    with Replay(cassette(interaction("/v1/chat/completions", STREAMED))):
        async with httpx.AsyncClient() as client:
            async with client.stream("POST", "http://h.invalid/v1/chat/completions",
                                     json={"model": "m", "stream": True}) as response:
                assert [chunk async for chunk in response.aiter_raw()] == STREAMED
