"""No provider waits on a server longer than its configured bound: the upstream-named timeout option
reaches httpx for connect and read, and the progress deadline ends a stream that sends only
keep-alives or chunks without content. Real sockets on 127.0.0.1, short bounds."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from botocore.config import Config

from providers import (
    AnthropicModel, BedrockModel, LlamaAPIModel, LlamaCppModel, MistralModel, NeuronModel, OllamaModel, OpenAIModel,
    VLLMModel, WriterModel,
)
from providers._wire_model import DEFAULT_TIMEOUT
from providers.errors import ProviderConnectionError, StalledStreamError

from .hostile_wires import WIRES, HostileWire
from .wire import collect

BOUND = 0.4  # seconds: every timeout and deadline of these tests
MARGIN = 1.0  # seconds a stream may take past its bound on a busy machine


@contextlib.asynccontextmanager
async def loopback(wire: HostileWire, behaviour: str) -> AsyncIterator[str]:
    """A server on 127.0.0.1 that reads the request, then behaves; yields its root URL."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
                0,
            )
            await reader.readexactly(length)
            if behaviour != "silent":
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: " + wire.content_type.encode()
                             + b"\r\nconnection: close\r\n\r\n" + wire.head)
            beat = {"pings": wire.ping, "empty": wire.empty}.get(behaviour)
            while True:
                if beat is not None:
                    writer.write(beat)
                    await writer.drain()
                await asyncio.sleep(0.05)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in [t for t in asyncio.all_tasks() if t.get_coro().__qualname__.endswith("serve")]:  # type: ignore[union-attr]
            task.cancel()


@pytest.fixture(params=sorted(WIRES))
def wire(request: pytest.FixtureRequest) -> HostileWire:
    return WIRES[request.param]


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [("silent", ProviderConnectionError), ("stall", StalledStreamError), ("pings", StalledStreamError),
     ("empty", StalledStreamError)],
)
async def test_a_server_that_never_progresses_is_left_within_the_timeout(
    wire: HostileWire, behaviour: str, error: type[Exception]
) -> None:
    async with loopback(wire, behaviour) as root:
        model = wire.model(base=root, **wire.timeout(BOUND))
        began = time.monotonic()
        with pytest.raises(error):
            await asyncio.wait_for(collect(model), BOUND + 5)
        elapsed = time.monotonic() - began
    assert BOUND * 0.9 <= elapsed < BOUND + MARGIN, f"{behaviour}: {elapsed:.2f} s for a {BOUND} s bound"


@pytest.mark.parametrize("behaviour", ["pings", "stall"])
async def test_progress_timeout_shorter_than_the_read_timeout_ends_the_stream(behaviour: str) -> None:
    wire = WIRES["chat"]
    async with loopback(wire, behaviour) as root:
        model = wire.model(base=root, timeout=30)
        model.update_config(progress_timeout=BOUND)
        began = time.monotonic()
        with pytest.raises(StalledStreamError):
            await asyncio.wait_for(collect(model), BOUND + 5)
    assert time.monotonic() - began < BOUND + MARGIN


def _timeouts(model: Any) -> tuple[float | None, float | None]:
    timeout = model._client_timeout()
    return timeout.connect, timeout.read


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: AnthropicModel(client_args={"timeout": 7.5}, model_id="m", max_tokens=8), (7.5, 7.5)),
        (lambda: OpenAIModel(client_args={"timeout": 7.5}, model_id="m"), (7.5, 7.5)),
        (lambda: WriterModel(client_args={"timeout": 7.5}, model_id="m"), (7.5, 7.5)),
        (lambda: LlamaAPIModel(client_args={"timeout": 7.5}, model_id="m"), (7.5, 7.5)),
        (lambda: MistralModel(client_args={"timeout_ms": 7500}, model_id="m"), (7.5, 7.5)),
        (lambda: OllamaModel("http://h", ollama_client_args={"timeout": 7.5}, model_id="m"), (7.5, 7.5)),
        (lambda: BedrockModel(boto_client_config=Config(read_timeout=7.5, connect_timeout=2), api_key="k",
                              model_id="m"), (2, 7.5)),
        (lambda: LlamaCppModel(timeout=(2, 7.5)), (2, 7.5)),
        (lambda: VLLMModel(model_id="m", timeout=7.5), (7.5, 7.5)),
        (lambda: NeuronModel(model_id="m", timeout=httpx.Timeout(7.5, connect=2)), (2, 7.5)),
    ],
    ids=["anthropic", "openai", "writer", "llamaapi", "mistral", "ollama", "bedrock", "llamacpp", "vllm", "neuron"],
)
def test_each_provider_applies_its_upstream_timeout_option(build: Any, expected: tuple[float, float]) -> None:
    assert _timeouts(build()) == expected


@pytest.mark.parametrize(
    "build",
    [lambda: AnthropicModel(model_id="m", max_tokens=8), lambda: OllamaModel(model_id="m"),
     lambda: VLLMModel(model_id="m"), lambda: NeuronModel(model_id="m"), lambda: MistralModel(model_id="m")],
    ids=["anthropic", "ollama", "vllm", "neuron", "mistral"],
)
def test_unset_the_timeout_is_finite(build: Any) -> None:
    model = build()
    assert _timeouts(model) == (DEFAULT_TIMEOUT.connect, DEFAULT_TIMEOUT.read)
    assert model._progress_timeout() == DEFAULT_TIMEOUT.read


async def test_litellm_stream_of_empty_chunks_ends_within_the_progress_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace as NS

    from providers import LiteLLMModel

    class EmptyForever:
        def __aiter__(self) -> AsyncIterator[Any]:
            return self._chunks()

        async def _chunks(self) -> AsyncIterator[Any]:
            while True:
                await asyncio.sleep(0.05)
                yield NS(choices=[], usage=None)

    async def acompletion(**_: Any) -> EmptyForever:
        return EmptyForever()

    model = LiteLLMModel(model_id="openai/m", client_args={"timeout": BOUND})
    monkeypatch.setattr(model._litellm, "acompletion", acompletion)
    began = time.monotonic()
    with pytest.raises(StalledStreamError):
        await asyncio.wait_for(collect(model), BOUND + 5)
    assert BOUND * 0.9 <= time.monotonic() - began < BOUND + MARGIN
