"""providers/_error_boundary.py: a timeout or a dropped connection is mapped by when it happened, on every wire.

Before the server answered: ``ProviderConnectionError``. Once the answer began streaming:
``TruncatedStreamError``. The same on each httpx wire, because one boundary wraps both phases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx

from providers import AnthropicModel, BedrockModel, LlamaAPIModel, OllamaModel, OpenAIModel
from providers.errors import ProviderConnectionError, TruncatedStreamError

URL = "http://boundary.invalid"
# Wire -> (a model of it, the content type its streamed answer carries).
WIRES: dict[str, tuple[Callable[[], Any], str]] = {
    "openai-chat": (lambda: OpenAIModel(client_args={"base_url": f"{URL}/v1"}, model_id="m"), "text/event-stream"),
    "anthropic": (lambda: AnthropicModel(client_args={"base_url": URL}, model_id="m", max_tokens=8), "text/event-stream"),
    "bedrock-converse": (
        lambda: BedrockModel(endpoint_url=URL, api_key="k", model_id="m"), "application/vnd.amazon.eventstream"
    ),
    "ollama": (lambda: OllamaModel(URL, model_id="m"), "application/x-ndjson"),
    "llama-api": (lambda: LlamaAPIModel(client_args={"api_key": "k", "base_url": f"{URL}/v1"}, model_id="m"),
                  "text/event-stream"),
}
FAILURES = [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("peer closed"), httpx.ReadError("reset")]


class _BreaksMidStream(httpx.AsyncByteStream):
    def __init__(self, failure: Exception) -> None:
        self._failure = failure

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b""
        raise self._failure


def _run(wire: str, answer: Callable[[httpx.Request], httpx.Response]) -> None:
    build, _ = WIRES[wire]
    model = build()

    async def consume() -> None:
        async for _event in model.stream([{"role": "user", "content": [{"text": "hi"}]}]):
            pass

    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=answer)
        asyncio.run(consume())


@pytest.mark.parametrize("failure", FAILURES + [httpx.ConnectTimeout("slow"), httpx.ConnectError("refused")], ids=repr)
@pytest.mark.parametrize("wire", sorted(WIRES))
def test_a_failure_before_the_answer_is_a_connection_error(wire: str, failure: Exception) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(ProviderConnectionError) as caught:
        _run(wire, answer)
    assert caught.value.__cause__ is failure


@pytest.mark.parametrize("failure", FAILURES, ids=repr)
@pytest.mark.parametrize("wire", sorted(WIRES))
def test_a_failure_mid_stream_truncates_the_stream(wire: str, failure: Exception) -> None:
    content_type = WIRES[wire][1]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": content_type}, stream=_BreaksMidStream(failure))

    with pytest.raises(TruncatedStreamError, match="broke mid-stream") as caught:
        _run(wire, answer)
    assert caught.value.__cause__ is failure
