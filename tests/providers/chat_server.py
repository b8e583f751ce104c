"""The chat-completions providers the core tests run against, and the route that answers them."""

from __future__ import annotations

from typing import Any

import httpx
import respx

# The four providers built on the chat core with no vendor wire of their own (see wire.make_models).
CHAT_PROVIDERS = ["neuron", "vllm", "llamacpp", "openai"]


def serve(mock: respx.MockRouter, *responses: httpx.Response | Exception) -> Any:
    """Answer the chat endpoint with ``responses``, one per request, in order."""
    return mock.post("/v1/chat/completions").mock(side_effect=list(responses))
