"""Strands provider for a vLLM server, with the token ids RL training records.

With ``return_token_ids`` the request asks vLLM for its token ids and the response's
``messageStop.additionalModelResponseFields`` carries ``{"prompt_token_ids": [...],
"token_ids": [...]}`` (the prompt's ids from the first chunk, the generated ids concatenated).
``timeout`` is taken as ``LlamaCppModel`` takes it: seconds, ``(connect, read)`` or an
``httpx.Timeout``; unset, 600 s read and 10 s connect.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from ._model_base import Turn
from ._openai_chat import OpenAIChatModel

__all__ = ["VLLMModel"]


class VLLMModel(OpenAIChatModel):
    """A vLLM server through its OpenAI-compatible chat completions endpoint."""

    CONFIG_KEYS: ClassVar[frozenset[str]] = frozenset(
        {"base_url", "model_id", "api_key", "return_token_ids", "disable_tools", "params", "timeout"}
    )

    def __init__(
        self,
        base_url: str = "http://localhost:8000/v1",
        model_id: str | None = None,
        api_key: str = "EMPTY",
        return_token_ids: bool = False,
        disable_tools: bool = False,
        params: dict[str, Any] | None = None,
        timeout: float | tuple[float, float] | httpx.Timeout | None = None,
    ) -> None:
        if not model_id:
            raise ValueError("VLLMModel needs model_id: the name the server serves (vllm serve --served-model-name)")
        super().__init__(
            {
                "base_url": base_url,
                "model_id": model_id,
                "api_key": api_key,
                "return_token_ids": return_token_ids,
                "disable_tools": disable_tools,
                "params": dict(params or {}),
                **({"timeout": timeout} if timeout is not None else {}),
            }
        )

    def _chat_url(self) -> str:
        return f"{self.config['base_url'].rstrip('/')}/chat/completions"

    def _shape_tools(self, turn: Turn) -> Turn:
        if self.config.get("disable_tools"):
            return turn._replace(tool_specs=None, tool_choice=None)
        return turn
