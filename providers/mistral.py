"""Reference Strands provider for Mistral's chat completions API (`POST /v1/chat/completions`, SSE).

Why it is short: Mistral streams OpenAI-shaped chunks, so the OpenAI chat core does the work; what
differs is here. Tool calls arrive whole in one delta; finish reasons add `model_length` (the
context window cut the answer: `max_tokens`, in the chat wire's finish words) and `error` (the
stream failed: the assembler raises `StreamServerError`); `tool_choice` "any" means "required"; the API rejects unknown
body fields, so `stream_options` is not sent (Mistral always sends usage in the last chunk).
Wire: https://docs.mistral.ai/api/#tag/chat/operation/chat_completion_v1_chat_completions_post
"""

from __future__ import annotations

import os
from typing import Any, TypedDict

from strands.types.tools import ToolChoice
from typing_extensions import Unpack

from ._model_base import checked_client_args
from ._openai_chat import OpenAIChatModel
from .errors import overflow_markers

__all__ = ["MistralModel"]

DEFAULT_SERVER_URL = "https://api.mistral.ai"


class MistralConfig(TypedDict, total=False):
    """The configuration keys of upstream `strands.models.mistral.MistralModel.MistralConfig`."""

    context_window_limit: int | None
    model_id: str
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    stream: bool | None
    cache_config: Any


class MistralModel(OpenAIChatModel[MistralConfig]):
    """A Strands model over Mistral's streamed chat completions, talking httpx.

    Args:
        api_key: Mistral API key (default: the MISTRAL_API_KEY environment variable).
        client_args: `server_url` (default https://api.mistral.ai) and `timeout_ms`.
        **model_config: the keys of `MistralConfig`.
    """

    CONFIG_KEYS = frozenset(MistralConfig.__annotations__)
    MODEL_ID_EXAMPLE = "e.g. 'mistral-large-latest'"
    _overflow_markers = overflow_markers("mistral")
    _include_usage = False  # rejected as an extra field; usage comes in the last chunk anyway

    def __init__(
        self, api_key: str | None = None, *, client_args: dict[str, Any] | None = None, **model_config: Unpack[MistralConfig]
    ) -> None:
        client_args = checked_client_args("MistralModel", client_args, ("server_url", "timeout_ms"))
        for key in ("temperature", "top_p"):
            value = model_config.get(key)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"MistralModel: {key} must be between 0.0 and 1.0, got {value}")
        if model_config.get("stream") is False:
            raise ValueError("MistralModel (reference) only streams: remove stream=False")
        super().__init__(dict(model_config))
        self.client_args = client_args
        self.api_key = api_key or os.environ.get("MISTRAL_API_KEY")

    def _chat_url(self) -> str:
        return f"{str(self.client_args.get('server_url') or DEFAULT_SERVER_URL).rstrip('/')}/v1/chat/completions"

    _timeout_unit = 0.001  # the mistralai SDK's timeout_ms

    def _timeout_setting(self) -> Any:
        return self.client_args.get("timeout_ms")

    def _api_key(self) -> str | None:
        return self.api_key

    def _request_params(self) -> dict[str, Any]:
        return self._config_values(("max_tokens", "temperature", "top_p"))

    def _format_tool_choice(self, tool_choice: ToolChoice) -> str | dict[str, Any] | None:
        return "any" if "any" in tool_choice else super()._format_tool_choice(tool_choice)
