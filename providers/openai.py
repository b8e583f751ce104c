"""Strands provider for the OpenAI API (and gateways that mimic it), without the openai SDK.

``client_args`` are the openai SDK's client arguments, so code moving from
``strands.models.openai.OpenAIModel`` keeps its configuration; the requests go through our
streaming core, since the SDK's chunk parsing alone costs about 15x the parsing floor.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar


from ._openai_chat import OpenAIChatModel

__all__ = ["OpenAIModel"]

SUPPORTED_CLIENT_ARGS = frozenset({"api_key", "base_url", "timeout", "default_headers", "organization", "project"})


class OpenAIModel(OpenAIChatModel):
    """The OpenAI chat completions API."""

    CONFIG_KEYS: ClassVar[frozenset[str]] = frozenset({"model_id", "params"})

    def __init__(
        self,
        client_args: dict[str, Any] | None = None,
        model_id: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        client_args = dict(client_args or {})
        unsupported = sorted(set(client_args) - SUPPORTED_CLIENT_ARGS)
        if unsupported:
            raise ValueError(
                f"OpenAIModel does not support client_args {unsupported}; supported: "
                f"{', '.join(sorted(SUPPORTED_CLIENT_ARGS))} (retries are the Strands event loop's job)"
            )
        if not model_id:
            raise ValueError("OpenAIModel needs model_id, e.g. 'gpt-4o-mini'")
        self.client_args = client_args
        self._base_url = (
            client_args.get("base_url") or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        ).rstrip("/")
        super().__init__({"model_id": model_id, "params": dict(params or {})})

    def _chat_url(self) -> str:
        return f"{self._base_url}/chat/completions"

    def _headers(self) -> dict[str, str]:
        args = self.client_args
        headers: dict[str, str] = {}
        api_key = args.get("api_key") or os.environ.get("OPENAI_API_KEY")
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        if args.get("organization"):
            headers["OpenAI-Organization"] = args["organization"]
        if args.get("project"):
            headers["OpenAI-Project"] = args["project"]
        headers.update(args.get("default_headers") or {})
        return headers

    def _timeout_setting(self) -> Any:
        return self.client_args.get("timeout")
