"""The frame around the decoder, once, for the wire families that are not OpenAI chat SSE.

Why it exists: Anthropic, Bedrock, the Llama API and Ollama send their requests through the OpenAI
chat core's HTTP plumbing and error boundary but decode formats of their own. Around each decoder
stood the same frame: build the request on the first iteration, start the assembler before the
request goes out (latency counts the wait), open the response, always close it. ``WireModel`` holds
that frame; a provider writes ``format_request`` and ``_decode`` (its wire in, Strands events out
through the assembler), and overrides ``_exchange`` only when one turn takes several requests.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import httpx
from strands.types.streaming import StreamEvent

from ._assembler import StreamAssembler
from ._model_base import ConfigT
from ._openai_chat import OpenAIChatModel

__all__ = ["WireModel"]


class WireModel(OpenAIChatModel[ConfigT]):
    """A provider over the chat core's HTTP whose response stream is decoded by ``_decode``."""

    async def _stream_request(self, build_request: Callable[[], dict[str, Any]]) -> AsyncGenerator[StreamEvent, None]:
        request = build_request()
        asm = StreamAssembler(started_at=time.perf_counter())
        url = self._chat_url()
        async for event in self._exchange(request, asm, url):
            yield event

    async def _exchange(
        self, request: dict[str, Any], asm: StreamAssembler, url: str
    ) -> AsyncGenerator[StreamEvent, None]:
        """Send ``request`` and decode its one response, closed whatever happens."""
        response = await self._open_stream(request)
        try:
            async for event in self._decode(response, asm, url):
                yield event
        finally:
            await response.aclose()

    def _decode(self, response: httpx.Response, asm: StreamAssembler, url: str) -> AsyncIterator[StreamEvent]:
        """The response's wire events fed into ``asm``; yields the Strands events, ``asm.finish()``'s last."""
        raise NotImplementedError(f"{type(self).__name__} must define _decode: its wire format into the assembler")
