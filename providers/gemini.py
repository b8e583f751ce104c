"""Reference Strands provider for the Gemini API (`POST /v1beta/models/{model}:streamGenerateContent?alt=sse`).

Why it exists: upstream `strands.models.gemini.GeminiModel` needs the google-genai SDK (whose async
client is aiohttp when installed, so only a socket replay sees it), reports a safety stop as
`guardrail_intervened` although no guardrail ran, and maps none of the finish reasons that mean the
model failed (MALFORMED_FUNCTION_CALL) to an error. Here the stream goes through the shared
`StreamAssembler`, over httpx, with the error boundary of `WireModel`.

Wire (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent): each SSE
event is a whole `GenerateContentResponse`: `candidates[0].content.parts` (text; `thought: true`
for thought summaries; `functionCall {id?, name, args}`, each call whole in one part, its `id`
often empty), a `thoughtSignature` on a part (https://ai.google.dev/gemini-api/docs/thinking#signatures),
`finishReason` on the last candidate, `usageMetadata` (`promptTokenCount`, which includes
`cachedContentTokenCount`, `candidatesTokenCount`, `thoughtsTokenCount`, `toolUsePromptTokenCount`),
and `promptFeedback.blockReason` with no candidate when the prompt itself was blocked. There is no
end marker: a stream that ends without a finishReason is cut short. Errors are
`{"error": {"code", "message", "status"}}`, as the HTTP body or as an event of the stream.

Thought signatures go back where they came from: a function call's as the Strands toolUse
`reasoningSignature` (sent back on its functionCall part), any other as a signed reasoning block.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, TypedDict, cast

import httpx
from strands.types.content import ContentBlock, Messages, SystemContentBlock
from strands.types.exceptions import ModelThrottledException
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice, ToolSpec
from typing_extensions import Required, Unpack

from ._assembler import StreamAssembler
from ._error_boundary import reported_error
from ._forced_tool import StructuredOutputByTool
from ._model_base import Turn, checked_client_args
from ._sse import iter_sse_events
from ._wire_model import WireModel
from .errors import MalformedStreamError, StreamServerError, TruncatedStreamError, overflow_markers

__all__ = ["FINISH_WORDS", "GeminiModel", "PROMPT_BLOCKED"]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_API_VERSION = "v1beta"
# The finish word of a prompt blocked before any candidate (`promptFeedback.blockReason`); the block
# reason itself (SAFETY, OTHER, ...) is logged, since OTHER must not read as a normal stop.
PROMPT_BLOCKED = "PROMPT_BLOCKED"
_FILTERED = ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", PROMPT_BLOCKED)
FINISH_WORDS = {"STOP": "end_turn", "MAX_TOKENS": "max_tokens", "OTHER": "end_turn",
                "FINISH_REASON_UNSPECIFIED": "end_turn", **{word: "content_filtered" for word in _FILTERED}}
# Finish reasons that say the model produced no usable answer: raised, never reported as a stop.
FAILED_FINISH_WORDS = frozenset({"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS",
                                 "MISSING_THOUGHT_SIGNATURE"})
# google-genai's HttpOptions keys this provider honours (timeout in milliseconds, as the SDK counts it).
HTTP_OPTION_KEYS = ("base_url", "api_version", "headers", "timeout")
# GenerateContentConfig fields that are request fields of their own; every other `params` key is a
# generationConfig field. Schemas stay verbatim: their property names are the user's, not the API's.
_TOP_LEVEL_PARAMS = frozenset({"safety_settings", "tool_config", "cached_content", "labels"})
_VERBATIM_PARAMS = frozenset({"response_schema", "response_json_schema", "responseSchema", "responseJsonSchema"})
_MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
               "pdf": "application/pdf", "txt": "text/plain", "md": "text/markdown", "csv": "text/csv",
               "html": "text/html"}


class GeminiConfig(TypedDict, total=False):
    """The configuration keys of upstream `strands.models.gemini.GeminiModel.GeminiConfig`."""

    context_window_limit: int | None
    model_id: Required[str]
    params: dict[str, Any]
    gemini_tools: list[Any]
    use_native_token_count: bool


class GeminiModel(StructuredOutputByTool, WireModel[GeminiConfig]):
    """A Strands model over the Gemini API's SSE stream, talking httpx (no google SDK at run time).

    Args:
        client_args: as upstream's `genai.Client` arguments this provider needs: `api_key` and
            `http_options` (`base_url`, `api_version`, `headers`, `timeout` in milliseconds).
        **model_config: the keys of `GeminiConfig`; `params` as google-genai's GenerateContentConfig
            fields (`temperature`, `max_output_tokens`, `thinking_config`, `safety_settings`, ...).
    """

    CONFIG_KEYS = frozenset(GeminiConfig.__annotations__)
    MODEL_ID_EXAMPLE = "a Gemini model such as 'gemini-2.5-flash'"
    _finish_words = FINISH_WORDS
    _overflow_markers = overflow_markers("gemini")
    _timeout_unit = 0.001
    _forced_tool_wire = "gemini"
    _max_tokens_fix = "raise params.max_output_tokens"

    def __init__(self, *, client_args: dict[str, Any] | None = None, **model_config: Unpack[GeminiConfig]) -> None:
        client_args = checked_client_args("GeminiModel", client_args, ("api_key", "http_options"))
        self.http_options = checked_client_args("GeminiModel", client_args.get("http_options"), HTTP_OPTION_KEYS,
                                                "http_options")
        super().__init__(dict(model_config))
        self.client_args = client_args

    # -- HTTP hooks of the base ------------------------------------------------------------------

    def _chat_url(self) -> str:
        root = str(self.http_options.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        version = self.http_options.get("api_version") or DEFAULT_API_VERSION
        model = str(self.config["model_id"]).removeprefix("models/")
        return f"{root}/{version}/models/{model}:streamGenerateContent?alt=sse"

    def _headers(self) -> dict[str, str]:
        headers = dict(self.http_options.get("headers") or {})
        if self.client_args.get("api_key"):
            headers["x-goog-api-key"] = self.client_args["api_key"]
        return headers

    def _timeout_setting(self) -> Any:
        return self.http_options.get("timeout")

    def _special_error(self, status: int | None, message: str, raw: str, url: str) -> Exception | None:
        # RESOURCE_EXHAUSTED is Gemini's 429 (quota or rate), UNAVAILABLE its 503 "model is overloaded":
        # both say "try again later", also when they arrive as an error event inside the stream.
        if '"RESOURCE_EXHAUSTED"' in raw or '"UNAVAILABLE"' in raw:
            return ModelThrottledException(f"the server is throttling requests ({status}): {message}")
        return None

    # -- request ---------------------------------------------------------------------------------

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        """The JSON body of `streamGenerateContent` for one turn (the model is in the URL)."""
        request: dict[str, Any] = {"contents": _format_contents(turn.messages)}
        system = _system_text(turn.system_prompt, turn.system_prompt_content)
        if system:
            request["systemInstruction"] = {"parts": [{"text": system}]}
        tools = _format_tools(turn.tool_specs)
        tools.extend(self.config.get("gemini_tools") or [])
        if tools:
            request["tools"] = tools
        if turn.tool_specs and turn.tool_choice:
            request["toolConfig"] = _format_tool_choice(turn.tool_choice)
        top, generation = _split_params(self.config.get("params") or {})
        request.update(top)  # a toolConfig in params wins over tool_choice, as upstream
        if generation:
            request["generationConfig"] = generation
        return request

    # -- stream ----------------------------------------------------------------------------------

    # Our own parser, not conformance's reference decoder: the hot path, events as the bytes arrive.
    async def _decode(self, response: httpx.Response, asm: StreamAssembler, url: str) -> AsyncIterator[StreamEvent]:
        ended = False
        calls = 0
        ids: set[str] = set()
        usage: dict[str, Any] | None = None
        for event in asm.start():
            yield event
        async for _name, data in iter_sse_events(self._blocks(response, asm, url), url, self._max_event_bytes()):
            if not isinstance(data, dict):
                raise MalformedStreamError(f"an event from {url} is not a GenerateContentResponse: {str(data)[:300]}")
            if "error" in data:
                raise reported_error(data["error"], url)
            usage = data.get("usageMetadata") or usage
            blocked = (data.get("promptFeedback") or {}).get("blockReason")
            if blocked:
                logger.warning("the prompt was blocked (promptFeedback.blockReason %s); no answer", blocked)
                asm.set_finish_reason(PROMPT_BLOCKED)
                ended = True
            candidates = data.get("candidates") or ()
            if len(candidates) > 1:
                raise MalformedStreamError(f"{url} sent {len(candidates)} candidates; this provider reads one "
                                           "(remove candidate_count from params)")
            for candidate in candidates:
                for part in (candidate.get("content") or {}).get("parts") or ():
                    if "functionCall" in part:
                        calls += 1
                        for event in self._call(asm, part, calls, ids, url):
                            yield event
                    else:
                        for event in _part_events(asm, part):
                            yield event
                reason = candidate.get("finishReason")
                if reason:
                    if reason in FAILED_FINISH_WORDS:
                        raise StreamServerError(f"the server ended the answer from {url} with finishReason {reason}: "
                                                f"{candidate.get('finishMessage') or 'no usable answer'}")
                    asm.set_finish_reason(reason)
                    ended = True
        if not ended:
            raise TruncatedStreamError(
                f"the stream from {url} ended without a finishReason; the server stopped mid-answer")
        if usage is not None:
            _set_usage(asm, usage)
        for event in asm.finish():
            yield event

    @staticmethod
    def _call(asm: StreamAssembler, part: dict[str, Any], number: int, ids: set[str], url: str) -> list[StreamEvent]:
        """One whole function call as a closed toolUse block; its thought signature rides on the block start."""
        call = part["functionCall"]
        if not isinstance(call, dict) or not call.get("name"):
            raise MalformedStreamError(f"a functionCall from {url} has no name: {str(part)[:300]}")
        args = call.get("args", {})
        if not isinstance(args, dict):
            raise MalformedStreamError(f"functionCall {call['name']!r} from {url} has args that are not an object: "
                                       f"{args!r}")
        call_id = call.get("id") or ""
        if not call_id or call_id in ids:
            # Gemini leaves ids empty (2.x) and may call one function several times in a turn: Strands pairs
            # results with calls by id, so each call gets its own.
            call_id = f"call_{uuid.uuid4().hex[:24]}"
        ids.add(call_id)
        events = [*asm.tool_call(("gemini", number), id=call_id, name=call["name"], arguments=json.dumps(args)),
                  *asm.end_block()]
        signature = part.get("thoughtSignature")
        if signature:
            for event in events:
                start = event.get("contentBlockStart", {}).get("start", {}).get("toolUse")
                if start is not None:
                    start["reasoningSignature"] = signature
        return events


def _part_events(asm: StreamAssembler, part: dict[str, Any]) -> Sequence[StreamEvent]:
    """A text or thought part; a signature on a part that is not a call becomes a signed reasoning block."""
    text = part.get("text")
    if text is not None and not isinstance(text, str):
        raise MalformedStreamError(f"a part's text is not a string: {str(part)[:300]}")
    events = list(asm.reasoning_text(text) if part.get("thought") else asm.text(text or ""))
    events.extend(asm.reasoning_signature(part.get("thoughtSignature") or ""))
    return events


def _set_usage(asm: StreamAssembler, usage: dict[str, Any]) -> None:
    """Input is the whole prompt (cached share and tool-use prompt included), output the answer plus thoughts."""
    prompt, tool_prompt = usage.get("promptTokenCount") or 0, usage.get("toolUsePromptTokenCount") or 0
    answer, thoughts = usage.get("candidatesTokenCount") or 0, usage.get("thoughtsTokenCount") or 0
    cached = usage.get("cachedContentTokenCount")
    asm.set_usage(prompt + tool_prompt, answer + thoughts, usage.get("totalTokenCount"),
                  cache_read_tokens=cached or None)


# -- request pieces ---------------------------------------------------------------------------------


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _camel_keys(value: Any) -> Any:
    """google-genai's snake_case config as the REST API spells it; schemas are left as written."""
    if isinstance(value, dict):
        return {_camel(key): item if key in _VERBATIM_PARAMS else _camel_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel_keys(item) for item in value]
    return value


def _split_params(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`params` (GenerateContentConfig fields) as (top-level request fields, generationConfig)."""
    top = {_camel(key): _camel_keys(value) for key, value in params.items() if key in _TOP_LEVEL_PARAMS}
    generation = _camel_keys({key: value for key, value in params.items() if key not in _TOP_LEVEL_PARAMS})
    return top, generation


def _system_text(system_prompt: str | None, content: list[SystemContentBlock] | None) -> str | None:
    if content:
        return "\n".join(block["text"] for block in content if "text" in block) or None
    return system_prompt or None


def _format_tools(tool_specs: list[ToolSpec] | None) -> list[dict[str, Any]]:
    if not tool_specs:
        return []
    return [{"functionDeclarations": [
        {"name": spec["name"], "description": spec["description"], "parametersJsonSchema": spec["inputSchema"]["json"]}
        for spec in tool_specs]}]


def _format_tool_choice(tool_choice: ToolChoice) -> dict[str, Any]:
    if "auto" in tool_choice:
        return {"functionCallingConfig": {"mode": "AUTO"}}
    if "any" in tool_choice:
        return {"functionCallingConfig": {"mode": "ANY"}}
    if "tool" in tool_choice:
        # Gemini has no single-tool mode: ANY, narrowed to that one function.
        name = cast(dict[str, Any], tool_choice)["tool"]["name"]
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    raise ValueError(f"unsupported tool_choice {tool_choice!r}; use {{'auto': {{}}}}, {{'any': {{}}}} or {{'tool': ...}}")


def _inline(kind: str, block: dict[str, Any]) -> dict[str, Any]:
    fmt = str(block.get("format", ""))
    mime = _MIME_TYPES.get(fmt)
    if mime is None:
        raise TypeError(f"GeminiModel: {kind} format {fmt!r} is not supported; known: {', '.join(_MIME_TYPES)}")
    return {"inlineData": {"mimeType": mime, "data": base64.b64encode(block["source"]["bytes"]).decode()}}


def _format_contents(messages: Messages) -> list[dict[str, Any]]:
    names_by_id: dict[str, str] = {}
    contents = []
    for message in messages:
        parts = [part for block in message["content"] for part in _format_block(block, names_by_id)]
        if parts:
            contents.append({"role": "user" if message["role"] == "user" else "model", "parts": parts})
    return contents


def _format_block(block: ContentBlock, names_by_id: dict[str, str]) -> Iterable[dict[str, Any]]:
    if "text" in block:
        return [{"text": block["text"]}] if block["text"] else []
    if "image" in block:
        return [_inline("image", cast(dict[str, Any], block["image"]))]
    if "document" in block:
        return [_inline("document", cast(dict[str, Any], block["document"]))]
    if "toolUse" in block:
        use = block["toolUse"]
        names_by_id[use["toolUseId"]] = use["name"]
        part: dict[str, Any] = {"functionCall": {"id": use["toolUseId"], "name": use["name"], "args": use["input"]}}
        if use.get("reasoningSignature"):
            part["thoughtSignature"] = use["reasoningSignature"]
        return [part]
    if "toolResult" in block:
        return _format_result(cast(dict[str, Any], block["toolResult"]), names_by_id)
    if "reasoningContent" in block:
        text = block["reasoningContent"].get("reasoningText") or {}
        if not text.get("signature"):
            return []  # Gemini reads a thought back only through its signature
        return [{"text": text.get("text", ""), "thought": True, "thoughtSignature": text["signature"]}]
    if "citationsContent" in block:
        return [{"text": item["text"]} for item in block["citationsContent"].get("content") or () if "text" in item]
    if "cachePoint" in block:
        return []  # Gemini caches implicitly; explicit caching is a cachedContent resource, not a mark
    raise TypeError(f"GeminiModel: content block {sorted(block)} is not supported by the Gemini API")


def _format_result(result: dict[str, Any], names_by_id: dict[str, str]) -> list[dict[str, Any]]:
    """A functionResponse (its `response` an object, as the API requires) and the result's images after it."""
    texts: list[str] = []
    values: list[Any] = []
    images: list[dict[str, Any]] = []
    for item in result["content"]:
        if "text" in item:
            texts.append(item["text"])
        elif "json" in item:
            values.append(item["json"])
        elif "image" in item:
            images.append(_inline("image", item["image"]))
        else:
            raise TypeError(f"GeminiModel: tool result item {sorted(item)} is not supported by the Gemini API")
    output: Any = values[0] if len(values) == 1 and not texts else "\n".join(
        [*texts, *(json.dumps(value, ensure_ascii=False) for value in values)])
    key = "error" if result.get("status") == "error" else "output"
    call_id = result["toolUseId"]
    return [{"functionResponse": {"id": call_id, "name": names_by_id.get(call_id, call_id), "response": {key: output}}}, *images]
