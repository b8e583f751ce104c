"""Strands provider for llama.cpp's ``llama-server``.

llama.cpp's own request fields (grammar, json_schema, cache_prompt, slot_id, samplers...) go in
``params`` and straight into the request body. Two server quirks are handled here: a named
tool_choice is ignored by the server, so it is sent as the one tool plus ``required``; and a
reused keep-alive connection is sometimes dropped after a streamed response, so a request that
received nothing is resent once on a fresh connection.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import pydantic

from ._model_base import Turn
from ._openai_chat import OpenAIChatModel
from .errors import overflow_markers

__all__ = ["LlamaCppModel"]


class LlamaCppModel(OpenAIChatModel):
    """A llama.cpp server through its ``/v1/chat/completions`` endpoint."""

    CONFIG_KEYS: ClassVar[frozenset[str]] = frozenset({"base_url", "model_id", "timeout", "api_key", "params"})
    _overflow_markers: ClassVar[tuple[str, ...]] = overflow_markers("llamacpp")

    def __init__(
        self,
        base_url: str = "http://localhost:8080",
        model_id: str = "default",
        timeout: float | tuple[float, float] | httpx.Timeout | None = None,
        api_key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        if base_url.rstrip("/").endswith("/v1"):
            raise ValueError(
                f"LlamaCppModel base_url {base_url!r} ends in /v1; give the server root "
                "(e.g. http://localhost:8080): the provider adds /v1/chat/completions"
            )
        config: dict[str, Any] = {"base_url": base_url, "model_id": model_id, "params": dict(params or {})}
        if timeout is not None:
            config["timeout"] = timeout
        if api_key is not None:
            config["api_key"] = api_key
        super().__init__(config)

    def _chat_url(self) -> str:
        return f"{self.config['base_url'].rstrip('/')}/v1/chat/completions"

    def _shape_tools(self, turn: Turn) -> Turn:
        tool_specs, tool_choice = turn.tool_specs, turn.tool_choice
        if tool_specs and tool_choice and "tool" in tool_choice:
            name = tool_choice["tool"]["name"]
            chosen = [spec for spec in tool_specs if spec["name"] == name]
            if not chosen:
                names = [spec["name"] for spec in tool_specs]
                raise ValueError(f"tool_choice names tool {name!r}, which is not among the tools {names}")
            return turn._replace(tool_specs=chosen, tool_choice={"any": {}})
        return turn

    def _structured_output_params(self, output_model: type[pydantic.BaseModel]) -> dict[str, Any]:
        return {"json_schema": output_model.model_json_schema()}
