"""OpenAI chat-completions SSE bytes as vLLM and llama.cpp send them, served through respx to the providers.

The bytes come from the written cassettes' builder, with these tests' own chunk id and timestamp.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from conformance.written import builders
from providers import LlamaCppModel, NeuronModel, OpenAIModel, VLLMModel

BASE = "http://model.test"
CHAT_URL = f"{BASE}/v1/chat/completions"
USER: list[Any] = [{"role": "user", "content": [{"text": "hi"}]}]


# The chunk id and timestamp these tests have always used; the written cassettes use their own.
CHUNK_IDS = {"id": "chatcmpl-1", "created": 1763790000}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return builders.chunk(delta, finish, **CHUNK_IDS, **extra)


def usage_chunk(prompt: int = 5, completion: int = 7) -> dict[str, Any]:
    return builders.usage_chunk(prompt, completion, **CHUNK_IDS)


def tool_delta(index: int, *, id: str | None = None, name: str | None = None, arguments: str | None = None) -> dict:
    """A whole chunk carrying one partial tool call."""
    return chunk(builders.tool_delta(builders.call(index, id, name, arguments)))


def event_bytes(payload: dict[str, Any] | str) -> bytes:
    return builders.sse(payload)


def sse(*payloads: dict[str, Any] | str, done: bool = True) -> list[bytes]:
    """One network chunk per event, then ``[DONE]``."""
    return [event_bytes(p) for p in payloads] + ([builders.DONE] if done else [])


def text_answer(*pieces: str, finish: str = "stop") -> list[bytes]:
    return sse(chunk({"role": "assistant", "content": ""}), *[chunk({"content": p}) for p in pieces],
               chunk({}, finish), usage_chunk())


class Replay(httpx.AsyncByteStream):
    """Yields the given byte chunks, then optionally raises (a server dropping the connection)."""

    def __init__(self, chunks: list[bytes], then_raise: Exception | None = None) -> None:
        self.chunks = chunks
        self.then_raise = then_raise
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.chunks:
            yield piece
        if self.then_raise is not None:
            raise self.then_raise

    async def aclose(self) -> None:
        self.closed = True


def stream_response(chunks: list[bytes], then_raise: Exception | None = None) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Replay(chunks, then_raise))


def make_models() -> dict[str, Any]:
    """The four providers, as the conformance suite constructs them, all pointed at ``BASE``."""
    return {
        "neuron": NeuronModel(base_url=f"{BASE}/v1", model_id="smollm2", api_key="k"),
        "vllm": VLLMModel(base_url=f"{BASE}/v1", model_id="smollm2", api_key="k"),
        "llamacpp": LlamaCppModel(base_url=BASE, model_id="smollm2"),
        "openai": OpenAIModel(client_args={"base_url": f"{BASE}/v1", "api_key": "k"}, model_id="smollm2"),
    }


async def collect(model: Any, messages: list[Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    return [event async for event in model.stream(messages or USER, **kwargs)]


def request_json(route: Any, call: int = -1) -> dict[str, Any]:
    return json.loads(route.calls[call].request.content)
