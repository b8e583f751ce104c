"""Strands provider for vLLM serving on AWS Neuron (Inferentia / Trainium).

Configuration as the strands-neuron documentation names it, as constructor keywords; unlike
strands-neuron it makes no network call in the constructor and maps every error it can.
``timeout`` (which strands-neuron lacks) is taken as ``LlamaCppModel`` takes it: seconds,
``(connect, read)`` or an ``httpx.Timeout``; unset, 600 s read and 10 s connect.
``return_token_ids`` (also not in strands-neuron) asks the vLLM server for its token ids and passes
them on as ``VLLMModel`` does, in ``messageStop.additionalModelResponseFields``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from strands.types.tools import ToolChoice

from ._openai_chat import OpenAIChatModel
from .errors import SingleToolCallOnlyError

__all__ = ["NeuronModel"]

_SAMPLING_KEYS = ("temperature", "top_p", "max_completion_tokens", "stop", "frequency_penalty", "presence_penalty")
_SINGLE_TOOL_CALL_MESSAGE = "only supports single tool-calls at once"
_SINGLE_TOOL_CALL_HINT = (
    "The served model's tool parser accepts one tool call per turn and the model emitted several. "
    "Workarounds: serve a model whose parser supports parallel calls (Llama 4, Granite 3.1, xLAM, "
    "pythonic-parser models); or pass additional_args={'parallel_tool_calls': False}; or give the "
    "agent fewer tools / ask for one tool at a time in the system prompt."
)


class NeuronModel(OpenAIChatModel):
    """A vLLM-on-Neuron server through its OpenAI-compatible chat completions endpoint."""

    CONFIG_KEYS: ClassVar[frozenset[str]] = frozenset(
        {"model_id", "base_url", "api_key", "support_tool_choice_auto", "additional_args", "timeout",
         "return_token_ids", *_SAMPLING_KEYS}
    )

    def __init__(
        self,
        model_id: str,
        base_url: str = "http://localhost:8080/v1",
        api_key: str = "EMPTY",
        support_tool_choice_auto: bool = False,
        temperature: float | None = None,
        top_p: float | None = None,
        max_completion_tokens: int | None = None,
        stop: str | list[str] | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        additional_args: dict[str, Any] | None = None,
        timeout: float | tuple[float, float] | httpx.Timeout | None = None,
        return_token_ids: bool = False,
    ) -> None:
        config = {
            "model_id": model_id,
            "base_url": base_url,
            "api_key": api_key,
            "support_tool_choice_auto": support_tool_choice_auto,
            "temperature": temperature,
            "top_p": top_p,
            "max_completion_tokens": max_completion_tokens,
            "stop": stop,
            "frequency_penalty": frequency_penalty,
            "presence_penalty": presence_penalty,
            "additional_args": additional_args,
            "timeout": timeout,
            "return_token_ids": return_token_ids or None,
        }
        super().__init__({key: value for key, value in config.items() if value is not None})

    def _chat_url(self) -> str:
        return f"{self.config['base_url'].rstrip('/')}/chat/completions"

    def _request_params(self) -> dict[str, Any]:
        params = self._config_values(_SAMPLING_KEYS)
        params.update(self.config.get("additional_args") or {})
        return params

    def _format_tool_choice(self, tool_choice: ToolChoice) -> str | dict[str, Any] | None:
        # vLLM rejects tool_choice "auto" unless started with --enable-auto-tool-choice.
        if "auto" in tool_choice and not self.config.get("support_tool_choice_auto"):
            return None
        return super()._format_tool_choice(tool_choice)

    def _special_error(self, status: int | None, message: str, raw: str, url: str) -> Exception | None:
        if _SINGLE_TOOL_CALL_MESSAGE in raw:
            return SingleToolCallOnlyError(status, raw, url, hint=_SINGLE_TOOL_CALL_HINT)
        return None
