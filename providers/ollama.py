"""Reference Strands provider for Ollama's native chat API (`POST /api/chat`, streamed as NDJSON).

Why it exists: upstream `strands.models.ollama.OllamaModel` always opens an empty text block,
reports `end_turn` whenever `done_reason` says `stop` even when it cut a tool call short, and
raises a TypeError when a final line lacks `eval_count`. Here every line goes through the shared
`StreamAssembler`, over httpx (so cassettes replay through respx).

Wire (https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion): one JSON
object per line, `{"message": {"role", "content", "thinking"?, "tool_calls"?}, "done": false}`;
tool calls arrive whole (arguments as a JSON object) in one line; the last line has `"done": true`,
`done_reason` (`stop`, `length`, `load`, `unload`), `prompt_eval_count` and `eval_count` (either may
be missing, e.g. when the prompt was cached). An error is `{"error": "..."}`, as the HTTP body or as
a line of the stream.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import httpx
import pydantic
from strands.types.content import Messages, SystemContentBlock
from strands.types.exceptions import ContextWindowOverflowException
from strands.types.streaming import StreamEvent
from typing_extensions import Unpack

from ._assembler import StreamAssembler
from ._model_base import Turn, checked_client_args
from ._chat_format import format_tools
from ._sse import iter_ndjson
from ._wire_model import WireModel
from .errors import MalformedStreamError, StreamServerError, TruncatedStreamError, overflow_markers

__all__ = ["OllamaModel"]

logger = logging.getLogger(__name__)

DEFAULT_HOST = "http://localhost:11434"
# done_reason -> Strands stop reason; `load` and `unload` (the model was (un)loaded, no answer) follow
# the assembler's rule for unknown words.
FINISH_WORDS = {"stop": "end_turn", "length": "max_tokens"}


class OllamaConfig(TypedDict, total=False):
    """The configuration keys of upstream `strands.models.ollama.OllamaModel.OllamaConfig`."""

    context_window_limit: int | None
    additional_args: dict[str, Any] | None
    cache_config: Any
    keep_alive: float | str | None
    max_tokens: int | None
    model_id: str
    options: dict[str, Any] | None
    stop_sequences: list[str] | None
    temperature: float | None
    top_p: float | None


class OllamaModel(WireModel[OllamaConfig]):
    """A Strands model over Ollama's `/api/chat` NDJSON stream, talking httpx.

    Args:
        host: the Ollama server, e.g. `http://localhost:11434` (None: that default).
        ollama_client_args: `headers` and `timeout` (the rest of `ollama.AsyncClient`'s are not used).
        **model_config: the keys of `OllamaConfig`.
    """

    CONFIG_KEYS = frozenset(OllamaConfig.__annotations__)
    MODEL_ID_EXAMPLE = "an Ollama model name such as 'llama3.2'"
    _finish_words = FINISH_WORDS
    _overflow_markers = overflow_markers("ollama")
    _max_tokens_fix = "raise max_tokens"

    def __init__(
        self, host: str | None = None, *, ollama_client_args: dict[str, Any] | None = None, **model_config: Unpack[OllamaConfig]
    ) -> None:
        client_args = checked_client_args("OllamaModel", ollama_client_args, ("headers", "timeout"), "ollama_client_args")
        super().__init__(dict(model_config))
        self.host = (host or DEFAULT_HOST).rstrip("/")
        self.client_args = client_args

    def _chat_url(self) -> str:
        return f"{self.host}/api/chat"

    def _special_error(self, status: int | None, message: str, raw: str, url: str) -> Exception | None:
        # Ollama reports an over-long prompt with HTTP 400 or 500 depending on the runner.
        if any(marker in message.lower() for marker in self._overflow_markers):
            return ContextWindowOverflowException(f"the prompt does not fit the model's context: {message}")
        return None

    def _timeout_setting(self) -> Any:
        return self.client_args.get("timeout")

    def _headers(self) -> dict[str, str]:
        return dict(self.client_args.get("headers") or {})

    def _structured_output_params(self, output_model: type[pydantic.BaseModel]) -> dict[str, Any]:
        """Ollama's native path: `format` set to the JSON schema, the streamed text validated."""
        return {"format": output_model.model_json_schema()}

    # -- request ---------------------------------------------------------------------------------

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        """The JSON body of `POST /api/chat` (always streamed)."""
        config = self.config
        options = dict(config.get("options") or {})
        for key, option in (("max_tokens", "num_predict"), ("temperature", "temperature"), ("top_p", "top_p"),
                            ("stop_sequences", "stop")):
            if config.get(key) is not None:
                options[option] = config[key]
        request: dict[str, Any] = {
            "model": config["model_id"],
            "messages": _format_messages(turn.messages, turn.system_prompt, turn.system_prompt_content),
            "stream": True,
        }
        if options:
            request["options"] = options
        if turn.tool_specs:
            request["tools"] = format_tools(turn.tool_specs)
            if turn.tool_choice and "auto" not in turn.tool_choice:
                # /api/chat has no tool_choice field; the model decides. Said loudly, not dropped quietly.
                logger.warning("tool_choice=<%s> | Ollama's /api/chat cannot force a tool; sent as auto", turn.tool_choice)
        if config.get("keep_alive") is not None:
            request["keep_alive"] = config["keep_alive"]
        request.update(config.get("additional_args") or {})
        if request.get("stream") is not True:
            raise ValueError("OllamaModel only streams: remove 'stream' from additional_args")
        return request

    # -- stream ----------------------------------------------------------------------------------

    # Our own parser, not conformance's reference decoder: the hot path, events as the bytes arrive.
    async def _decode(self, response: httpx.Response, asm: StreamAssembler, url: str) -> AsyncIterator[StreamEvent]:
        final: dict[str, Any] | None = None
        calls = 0
        for event in asm.start():
            yield event
        async for line in iter_ndjson(self._blocks(response, asm, url), url, self._max_event_bytes()):
            if final is not None:
                raise MalformedStreamError(f"a line arrived from {url} after the final done line: {str(line)[:300]}")
            if "error" in line:
                raise self._ndjson_error(line["error"], url)
            message = line.get("message")
            if message is not None:
                if not isinstance(message, dict):
                    raise MalformedStreamError(f"'message' in a line from {url} is not an object: {str(line)[:300]}")
                thinking = message.get("thinking")
                if thinking:
                    for event in asm.reasoning_text(thinking):
                        yield event
                content = message.get("content")
                if content:
                    for event in asm.text(content):
                        yield event
                for call in message.get("tool_calls") or ():
                    function = call.get("function") if isinstance(call, dict) else None
                    if not isinstance(function, dict) or not function.get("name"):
                        raise MalformedStreamError(f"tool call from {url} has no function name: {str(call)[:300]}")
                    arguments = function.get("arguments", {})
                    if not isinstance(arguments, (dict, str)):
                        raise MalformedStreamError(
                            f"tool call {function['name']!r} from {url} has arguments that are neither an object "
                            f"nor a string: {arguments!r}"
                        )
                    calls += 1
                    for event in asm.tool_call(
                        ("ollama", calls),
                        id=call.get("id") or f"call_{uuid.uuid4().hex[:24]}",
                        name=function["name"],
                        arguments=arguments if isinstance(arguments, str) else json.dumps(arguments),
                    ):
                        yield event
            if line.get("done") is True:
                final = line
            elif "done" not in line:
                raise MalformedStreamError(f"line from {url} has no 'done' field: {str(line)[:300]}")
        if final is None:
            raise TruncatedStreamError(
                f"the stream from {url} ended without a line saying done: true; the server stopped mid-answer"
            )
        asm.set_finish_reason(final.get("done_reason"))
        input_tokens, output_tokens = final.get("prompt_eval_count"), final.get("eval_count")
        if input_tokens is not None or output_tokens is not None:
            asm.set_usage(input_tokens, output_tokens)
        for event in asm.finish():
            yield event

    @staticmethod
    def _ndjson_error(error: Any, url: str) -> StreamServerError:
        text = error if isinstance(error, str) else json.dumps(error)
        return StreamServerError(
            f"the server reported an error inside the stream from {url}: {text[:2000]}", reported=(None, text, text)
        )


def _format_messages(
    messages: Messages, system_prompt: str | None, system_prompt_content: list[SystemContentBlock] | None
) -> list[dict[str, Any]]:
    """Ollama messages hold one string of content each, so blocks become consecutive messages."""
    system = (
        "\n".join(block["text"] for block in system_prompt_content if "text" in block)
        if system_prompt_content
        else system_prompt
    )
    formatted: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    names_by_id: dict[str, str] = {}
    for message in messages:
        role = message["role"]
        for block in message["content"]:
            if "text" in block:
                formatted.append({"role": role, "content": block["text"]})
            elif "image" in block:
                image = base64.b64encode(block["image"]["source"]["bytes"]).decode()
                formatted.append({"role": role, "content": "", "images": [image]})
            elif "toolUse" in block:
                tool_use = block["toolUse"]
                names_by_id[tool_use["toolUseId"]] = tool_use["name"]
                formatted.append(
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [{"function": {"name": tool_use["name"], "arguments": tool_use["input"]}}],
                    }
                )
            elif "toolResult" in block:
                result = block["toolResult"]
                texts, images = [], []
                for item in result["content"]:
                    if "text" in item or "json" in item:
                        texts.append(item["text"] if "text" in item else json.dumps(item["json"], ensure_ascii=False))
                    elif "image" in item:
                        images.append(base64.b64encode(item["image"]["source"]["bytes"]).decode())
                    else:
                        raise TypeError(f"OllamaModel: tool result item {sorted(item)} is not supported by /api/chat")
                tool_message: dict[str, Any] = {"role": "tool", "content": "\n".join(texts)}
                if images:
                    tool_message["images"] = images
                if result["toolUseId"] in names_by_id:
                    tool_message["tool_name"] = names_by_id[result["toolUseId"]]
                formatted.append(tool_message)
            elif "reasoningContent" in block or "cachePoint" in block:
                continue  # Ollama takes no reasoning or cache points back
            else:
                raise TypeError(f"OllamaModel: content block {sorted(block)} is not supported by /api/chat")
    return formatted
