"""Reference Strands provider for Writer's chat API (`POST /v1/chat`, SSE of chat-completion chunks).

Why it is short: Writer streams OpenAI-shaped `chat.completion.chunk` objects, so the OpenAI chat
core does the work; what differs is the endpoint, the configuration keys (`stop`,
`stream_options`) and the overflow wordings. Wire: https://dev.writer.com/api-reference/completion-api/chat-completion
"""

from __future__ import annotations

import os
from typing import Any, TypedDict

from typing_extensions import Unpack

from ._model_base import checked_client_args
from ._openai_chat import OpenAIChatModel
from .errors import overflow_markers

__all__ = ["WriterModel"]

DEFAULT_BASE_URL = "https://api.writer.com/v1"


class WriterConfig(TypedDict, total=False):
    """The configuration keys of upstream `strands.models.writer.WriterModel.WriterConfig`."""

    context_window_limit: int | None
    model_id: str
    max_tokens: int | None
    cache_config: Any
    stop: str | list[str] | None
    stream_options: dict[str, Any]
    temperature: float | None
    top_p: float | None


class WriterModel(OpenAIChatModel[WriterConfig]):
    """A Strands model over Writer's streamed chat API, talking httpx.

    Args:
        client_args: `api_key` (default: the WRITER_API_KEY environment variable), `base_url`, `timeout`.
        **model_config: the keys of `WriterConfig`.
    """

    CONFIG_KEYS = frozenset(WriterConfig.__annotations__)
    MODEL_ID_EXAMPLE = "e.g. 'palmyra-x5'"
    _overflow_markers = overflow_markers("writer")

    def __init__(self, client_args: dict[str, Any] | None = None, **model_config: Unpack[WriterConfig]) -> None:
        client_args = checked_client_args("WriterModel", client_args, ("api_key", "base_url", "timeout", "max_retries"))
        super().__init__(dict(model_config))
        self.client_args = client_args

    def _chat_url(self) -> str:
        return f"{str(self.client_args.get('base_url') or DEFAULT_BASE_URL).rstrip('/')}/chat"

    def _timeout_setting(self) -> Any:
        return self.client_args.get("timeout")

    def _api_key(self) -> str | None:
        return self.client_args.get("api_key") or os.environ.get("WRITER_API_KEY")

    def _request_params(self) -> dict[str, Any]:
        params = self._config_values(("max_tokens", "temperature", "top_p", "stop"))
        params["stream_options"] = {"include_usage": True, **(self.config.get("stream_options") or {})}
        return params
