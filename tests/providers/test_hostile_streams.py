"""Every wire against the same hostile answers: cut-off tool arguments are never handed on as ``{}``,
invalid UTF-8 raises naming its offset, and a line or event over ``max_event_bytes`` stops the stream at once."""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import AsyncIterator
from types import SimpleNamespace as NS
from typing import Any

import httpx
import pytest

from providers import LiteLLMModel
from conformance.written.builders import split_every
from providers.errors import InvalidUTF8Error, MalformedStreamError, OversizeEventError

from .hostile_wires import WIRES, HostileWire
from .wire import USER, Replay, collect

TOOLS = [{"name": "weather", "description": "d", "inputSchema": {"json": {"type": "object"}}}]


def answer(wire: HostileWire, chunks: list[bytes]) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": wire.content_type}, stream=Replay(chunks))


def stop_reason(events: list[dict[str, Any]]) -> str:
    (stop,) = [event["messageStop"]["stopReason"] for event in events if "messageStop" in event]
    return stop


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)


@pytest.fixture(params=sorted(WIRES))
def wire(request: pytest.FixtureRequest) -> HostileWire:
    return WIRES[request.param]


async def test_cut_off_tool_arguments_raise_under_a_finish_that_is_not_length(wire: HostileWire, mock) -> None:
    mock.post(wire.path).mock(return_value=answer(wire, wire.tool('{"city": "Par', wire.tool_finish)))
    with pytest.raises(MalformedStreamError, match=r"'weather'.*13 bytes seen: b'\{\"city\": \"Par'"):
        await collect(wire.model(), USER, tool_specs=TOOLS)


async def test_cut_off_tool_arguments_under_length_are_max_tokens(wire: HostileWire, mock) -> None:
    mock.post(wire.path).mock(return_value=answer(wire, wire.tool('{"city": "Par', wire.length_finish)))
    assert stop_reason(await collect(wire.model(), USER, tool_specs=TOOLS)) == "max_tokens"


async def test_whole_tool_arguments_pass(wire: HostileWire, mock) -> None:
    mock.post(wire.path).mock(return_value=answer(wire, wire.tool('{"city": "Paris"}', wire.tool_finish)))
    assert stop_reason(await collect(wire.model(), USER, tool_specs=TOOLS)) == "tool_use"


def _litellm_chunks(arguments: str, finish: str) -> list[Any]:
    call = NS(index=0, id="call_1", function=NS(name="weather", arguments=arguments))
    delta = NS(content=None, reasoning_content=None, tool_calls=[call])
    usage = NS(prompt_tokens=3, completion_tokens=4, total_tokens=7, prompt_tokens_details=None)
    return [NS(choices=[NS(delta=delta, finish_reason=None)], usage=None),
            NS(choices=[NS(delta=None, finish_reason=finish)], usage=usage)]


class _LiteLLMStream:
    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = chunks
        self.received_finish_reason = chunks[-1].choices[0].finish_reason

    def __aiter__(self) -> Any:
        return self._iterate()

    async def _iterate(self) -> Any:
        for piece in self.chunks:
            yield piece


@pytest.mark.parametrize(("finish", "raises"), [("tool_calls", True), ("length", False)])
async def test_litellm_follows_the_same_rule(finish: str, raises: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    model = LiteLLMModel(model_id="openai/m")

    async def acompletion(**_: Any) -> _LiteLLMStream:
        return _LiteLLMStream(_litellm_chunks('{"city": "Par', finish))

    monkeypatch.setattr(model._litellm, "acompletion", acompletion)
    if raises:
        with pytest.raises(MalformedStreamError, match="'weather'"):
            await collect(model, USER, tool_specs=TOOLS)
    else:
        assert stop_reason(await collect(model, USER, tool_specs=TOOLS)) == "max_tokens"


# -- invalid UTF-8 --------------------------------------------------------------------------------


async def test_invalid_utf8_raises_naming_its_offset(wire: HostileWire, mock) -> None:
    chunks = wire.text(b"caf\xff!")
    mock.post(wire.path).mock(return_value=answer(wire, chunks))
    with pytest.raises(InvalidUTF8Error) as raised:
        await collect(wire.model())
    body = b"".join(chunks)
    assert raised.value.offset == body.index(b"caf\xff") + 3
    assert f"byte offset {raised.value.offset}" in str(raised.value)


async def test_utf8_split_between_reads_is_whole(wire: HostileWire, mock) -> None:
    body = b"".join(wire.text("café, naïve".encode()))
    mock.post(wire.path).mock(return_value=answer(wire, split_every(body, 5)))
    assert text_of(await collect(wire.model())) == "café, naïve"


# -- size of a line or event ------------------------------------------------------------------------


class Endless(httpx.AsyncByteStream):
    """``head``, then blocks of ``filler`` forever: a line or frame that never ends. Counts the blocks read."""

    def __init__(self, head: bytes, filler: bytes = b"x" * 65536) -> None:
        self.head = head
        self.filler = filler
        self.blocks = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        while True:
            self.blocks += 1
            yield self.filler


def _endless_head(wire: HostileWire) -> bytes:
    if wire.name == "bedrock":  # a frame whose prelude announces 20 MiB, below botocore's own ceiling
        prelude = struct.pack(">II", 20 * 1024 * 1024, 0)
        return prelude + struct.pack(">I", zlib.crc32(prelude))
    return b"".join(wire.text(b"x"))[:-2]  # cut inside the first text line


async def test_line_that_never_ends_stops_at_the_bound(wire: HostileWire, mock) -> None:
    limit = 1024 * 1024
    endless = Endless(_endless_head(wire))
    mock.post(wire.path).mock(return_value=httpx.Response(200, headers={"content-type": wire.content_type}, stream=endless))
    model = wire.model()
    model.update_config(max_event_bytes=limit)
    with pytest.raises(OversizeEventError, match="max_event_bytes"):
        await asyncio.wait_for(collect(model), 10)
    assert endless.blocks <= limit // 65536 + 1, "read past the bound: memory would grow with the line"


async def test_a_big_line_under_the_bound_is_linear(wire: HostileWire, mock) -> None:
    size = 16 * 1024 * 1024
    body = b"".join(wire.text(b"y" * size))
    mock.post(wire.path).mock(return_value=answer(wire, split_every(body, 65536)))
    model = wire.model()
    model.update_config(max_event_bytes=2 * size)
    began = time.perf_counter()
    assert len(text_of(await collect(model))) == size
    assert time.perf_counter() - began < 4, "16 MiB in 64 KiB reads: quadratic buffering takes far longer"
