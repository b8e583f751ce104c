"""Reference Strands provider for Amazon Bedrock's ConverseStream API (AWS event-stream framing).

Why it exists: upstream `strands.models.bedrock.BedrockModel` runs boto3 in a thread and forwards
Bedrock's events almost as they come. This provider sends the same request over httpx (SigV4 signed
by botocore, or a Bedrock API key as a bearer token), decodes the event stream itself and feeds the
shared `StreamAssembler`, so cassettes replay in-process and the stop and error rules are the ones
every other wire family follows.

Wire (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html):
`POST /model/{modelId}/converse-stream`; frames `messageStart`, `contentBlockStart` (toolUse),
`contentBlockDelta` (text, toolUse.input, reasoningContent text/signature/redactedContent),
`contentBlockStop`, `messageStop` (stopReason), `metadata` (usage, metrics, trace); exceptions as
frames of `:message-type` exception (`throttlingException`, `validationException`, ...).

Stop reasons: end_turn, tool_use, max_tokens, stop_sequence, content_filtered, guardrail_intervened
pass through; model_context_window_exceeded becomes max_tokens (the answer was cut);
malformed_model_output and malformed_tool_use raise `StreamServerError` (nothing usable came back).
`guardrail_intervened` also yields `redactContent` events, as upstream does, before `metadata`.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import AsyncIterator
from typing import Any, Literal, TypedDict
from urllib.parse import quote

import httpx
from strands.types.content import Messages
from strands.types.exceptions import ModelThrottledException
from strands.types.streaming import StreamEvent
from typing_extensions import Unpack

from ._assembler import StreamAssembler
from ._eventstream import EventStreamDecoder, Frame
from ._forced_tool import StructuredOutputByTool
from ._model_base import Turn
from ._sigv4 import botocore_timeout, sigv4_signed_headers
from ._wire_model import WireModel
from .errors import MalformedStreamError, StreamServerError, TruncatedStreamError, overflow_markers

__all__ = ["BedrockModel"]

logger = logging.getLogger(__name__)

DEFAULT_REGION = "us-west-2"
# stopReason -> Strands stop reason, for the assembler; Bedrock's other reasons are Strands' own names.
FINISH_WORDS = {"model_context_window_exceeded": "max_tokens"}
FAILED_STOP_REASONS = frozenset({"malformed_model_output", "malformed_tool_use"})
THROTTLE_EXCEPTIONS = frozenset({"throttlingexception", "serviceunavailableexception", "modelnotreadyexception"})


class BedrockConfig(TypedDict, total=False):
    """The configuration keys of upstream `strands.models.bedrock.BedrockModel.BedrockConfig`."""

    context_window_limit: int | None
    additional_args: dict[str, Any] | None
    additional_request_fields: dict[str, Any] | None
    additional_response_field_paths: list[str] | None
    cache_prompt: str | None
    cache_config: Any
    cache_tools: Any
    guardrail_id: str | None
    guardrail_trace: Literal["enabled", "disabled", "enabled_full"] | None
    guardrail_stream_processing_mode: Literal["sync", "async"] | None
    guardrail_version: str | None
    guardrail_redact_input: bool | None
    guardrail_redact_input_message: str | None
    guardrail_redact_output: bool | None
    guardrail_redact_output_message: str | None
    guardrail_latest_message: bool | None
    max_tokens: int | None
    model_id: str
    include_tool_result_status: Literal["auto"] | bool | None
    service_tier: str | None
    stop_sequences: list[str] | None
    streaming: bool | None
    strict_tools: bool | None
    temperature: float | None
    top_p: float | None
    use_native_token_count: bool


class BedrockModel(StructuredOutputByTool, WireModel[BedrockConfig]):
    """A Strands model over Bedrock ConverseStream, talking httpx.

    Args:
        boto_session: where credentials and the region come from (default: a new `boto3.Session()`).
        boto_client_config: a `botocore.config.Config`; its read and connect timeouts are honoured.
        region_name: the AWS region (default: the session's, `AWS_REGION`, else us-west-2).
        endpoint_url: a custom endpoint (VPC endpoint, or a loopback replay server).
        api_key: a Bedrock API key, sent as a bearer token instead of SigV4 signing.
        **model_config: the keys of `BedrockConfig` (`model_id` required).
    """

    CONFIG_KEYS = frozenset(BedrockConfig.__annotations__)
    MODEL_ID_EXAMPLE = "e.g. 'us.anthropic.claude-sonnet-4-20250514-v1:0'"
    _finish_words = FINISH_WORDS
    _overflow_markers = overflow_markers("bedrock")
    _accept = "application/vnd.amazon.eventstream"
    _forced_tool_wire = "bedrock"  # structured output forces a tool, as upstream does

    def __init__(
        self,
        *,
        boto_session: Any = None,
        boto_client_config: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        api_key: str | None = None,
        **model_config: Unpack[BedrockConfig],
    ) -> None:
        if region_name and boto_session:
            raise ValueError("BedrockModel: give either region_name or boto_session, not both")
        super().__init__(dict(model_config))
        if self.config.get("streaming") is False:
            raise ValueError("BedrockModel (reference) only streams: remove streaming=False")
        self._session = boto_session
        self._client_config = boto_client_config
        self.region = (
            region_name
            or (getattr(boto_session, "region_name", None) if boto_session else None)
            or os.environ.get("AWS_REGION")
            or DEFAULT_REGION
        )
        self.endpoint_url = (endpoint_url or f"https://bedrock-runtime.{self.region}.amazonaws.com").rstrip("/")
        self.api_key = api_key or os.environ.get("AWS_BEARER_TOKEN_BEDROCK")

    # -- HTTP ------------------------------------------------------------------------------------

    def _chat_url(self) -> str:
        return f"{self.endpoint_url}/model/{quote(self.config['model_id'], safe='')}/converse-stream"

    def _timeout(self) -> httpx.Timeout:
        config = self._client_config
        if config is None:
            return super()._timeout()
        return botocore_timeout(config, read=600, connect=10)

    def _request_headers(self, url: str, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": self._accept}
        if self.api_key:
            return {**headers, "Authorization": f"Bearer {self.api_key}"}
        self._session, signed = sigv4_signed_headers(
            self._session, service="bedrock", region=self.region, url=url, body=body, headers=headers,
            no_credentials="BedrockModel found no AWS credentials to sign the request (boto3's chain: environment, "
            "~/.aws, instance role); configure them, or pass api_key= for a Bedrock API key",
        )
        return signed

    def _error_body(self, response: httpx.Response, body: str) -> str:
        error_type = response.headers.get("x-amzn-errortype", "").split(":")[0]
        return f"{error_type}: {body}" if error_type else body

    def _special_error(self, status: int | None, message: str, raw: str, url: str) -> Exception | None:
        lowered = raw.lower()
        if any(name in lowered for name in THROTTLE_EXCEPTIONS):
            return ModelThrottledException(f"Bedrock is throttling requests ({status}): {message}")
        return None

    # -- request ---------------------------------------------------------------------------------

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        """The JSON body of `POST /model/{modelId}/converse-stream` (blobs as base64, as the REST API wants)."""
        config = self.config
        system_prompt, tool_specs, tool_choice = turn.system_prompt, turn.tool_specs, turn.tool_choice
        system: list[dict[str, Any]] = list(turn.system_prompt_content or ([{"text": system_prompt}] if system_prompt else []))
        if system and config.get("cache_prompt"):
            system.append({"cachePoint": {"type": config["cache_prompt"]}})
        request: dict[str, Any] = {"messages": _to_json(_format_messages(turn.messages, config)), "system": _to_json(system)}
        inference = {
            name: config[key]
            for key, name in (("max_tokens", "maxTokens"), ("temperature", "temperature"), ("top_p", "topP"),
                              ("stop_sequences", "stopSequences"))
            if config.get(key) is not None
        }
        if inference:
            request["inferenceConfig"] = inference
        if tool_specs:
            tools: list[dict[str, Any]] = [{"toolSpec": dict(spec)} for spec in tool_specs]
            if config.get("strict_tools"):
                for tool in tools:
                    tool["toolSpec"]["strict"] = True
            if config.get("cache_tools"):
                tools.append({"cachePoint": {"type": config["cache_tools"] if isinstance(config["cache_tools"], str) else "default"}})
            request["toolConfig"] = {"tools": tools, **({"toolChoice": tool_choice} if tool_choice else {})}
        if config.get("guardrail_id") and config.get("guardrail_version"):
            guardrail = {
                "guardrailIdentifier": config["guardrail_id"],
                "guardrailVersion": config["guardrail_version"],
                "trace": config.get("guardrail_trace") or "enabled",
            }
            if config.get("guardrail_stream_processing_mode"):
                guardrail["streamProcessingMode"] = config["guardrail_stream_processing_mode"]
            request["guardrailConfig"] = guardrail
        if config.get("additional_request_fields"):
            request["additionalModelRequestFields"] = config["additional_request_fields"]
        if config.get("additional_response_field_paths"):
            request["additionalModelResponseFieldPaths"] = config["additional_response_field_paths"]
        if config.get("service_tier"):
            request["serviceTier"] = {"type": config["service_tier"]}
        request.update(config.get("additional_args") or {})
        return request

    # -- stream ----------------------------------------------------------------------------------

    # Our own parser, not conformance's reference decoder: the hot path, events as the bytes arrive.
    async def _decode(self, response: httpx.Response, asm: StreamAssembler, url: str) -> AsyncIterator[StreamEvent]:
        decoder = EventStreamDecoder(url, self._max_event_bytes())
        state = _ConverseState()
        async for data in self._blocks(response, asm, url):
            for frame in decoder.feed(data):
                for event in self._on_frame(frame, asm, state, url):
                    yield event
        if decoder.pending:
            raise TruncatedStreamError(f"the event stream from {url} ended inside a frame ({decoder.pending} bytes)")
        if state.stop_reason is None:
            raise TruncatedStreamError(
                f"the event stream from {url} ended without messageStop: the server stopped mid-answer"
            )
        for event in self._finish(asm, state):
            yield event

    def _on_frame(self, frame: Frame, asm: StreamAssembler, state: _ConverseState, url: str) -> list[StreamEvent]:
        if frame.kind != "event":
            raise self._frame_error(frame, url)
        payload = frame.payload if isinstance(frame.payload, dict) else {}
        name = frame.name
        if state.stop_reason is not None and name != "metadata":
            raise MalformedStreamError(f"event {name!r} from {url} arrived after messageStop")
        if name == "messageStart":
            return list(asm.start())
        if name == "contentBlockStart":
            start = payload.get("start") or {}
            tool_use = start.get("toolUse")
            if tool_use is None:
                return []  # Bedrock announces only tool blocks; text opens with its first delta
            index = payload.get("contentBlockIndex")
            state.open_tool = index
            state.tool_input_seen = False
            return list(asm.tool_call(index, id=tool_use.get("toolUseId"), name=tool_use.get("name")))
        if name == "contentBlockDelta":
            delta = payload.get("delta")
            if not isinstance(delta, dict):
                raise MalformedStreamError(f"contentBlockDelta from {url} has no delta object: {str(payload)[:300]}")
            if "text" in delta:
                return list(asm.text(delta["text"]))
            if "toolUse" in delta:
                arguments = delta["toolUse"].get("input")
                state.tool_input_seen = state.tool_input_seen or bool(arguments)
                return list(asm.tool_call(payload.get("contentBlockIndex"), arguments=arguments))
            if "reasoningContent" in delta:
                reasoning = delta["reasoningContent"]
                if "text" in reasoning:
                    return list(asm.reasoning_text(reasoning["text"]))
                if "signature" in reasoning:
                    return list(asm.reasoning_signature(reasoning["signature"]))
                if "redactedContent" in reasoning:
                    return list(asm.reasoning_redacted(base64.b64decode(reasoning["redactedContent"])))
            if "citation" in delta:
                return []  # citations carry no text of their own; the cited text streams as text deltas
            raise MalformedStreamError(f"contentBlockDelta from {url} has a delta this provider does not know: {delta}")
        if name == "contentBlockStop":
            events: list[StreamEvent] = []
            if state.open_tool is not None and not state.tool_input_seen:
                # A zero-argument call streams no input at all; Strands needs a JSON object.
                events.extend(asm.tool_call(state.open_tool, arguments="{}"))
            state.open_tool = None
            events.extend(asm.end_block())
            return events
        if name == "messageStop":
            reason = payload.get("stopReason")
            if reason in FAILED_STOP_REASONS:
                raise StreamServerError(
                    f"Bedrock ended the answer from {url} with stopReason {reason!r}: the model's output could not be "
                    "parsed by the service; nothing usable came back (retry, or lower the temperature)"
                )
            state.stop_reason = reason or "end_turn"
            state.additional_fields = payload.get("additionalModelResponseFields")
            asm.set_finish_reason(state.stop_reason)
            return []
        if name == "metadata":
            usage = payload.get("usage")
            if usage:
                asm.set_usage(
                    usage.get("inputTokens"),
                    usage.get("outputTokens"),
                    usage.get("totalTokens"),
                    usage.get("cacheReadInputTokens"),
                    usage.get("cacheWriteInputTokens"),
                )
            trace = payload.get("trace") or {}
            if "guardrail" in trace:
                state.guardrail_trace = trace["guardrail"]
            state.saw_metadata = True
            return []
        raise MalformedStreamError(f"event type {name!r} from {url} is not part of ConverseStream")

    def _finish(self, asm: StreamAssembler, state: _ConverseState) -> list[StreamEvent]:
        events = list(asm.finish(state.additional_fields))
        if state.stop_reason == "guardrail_intervened" and _guardrail_blocked(state.guardrail_trace):
            # Before metadata, as upstream: the loop redacts the user's input (and, if asked, our output).
            redactions: list[StreamEvent] = []
            if self.config.get("guardrail_redact_input", True):
                message = self.config.get("guardrail_redact_input_message") or "[User input redacted.]"
                redactions.append({"redactContent": {"redactUserContentMessage": message}})
            if self.config.get("guardrail_redact_output", False):
                message = self.config.get("guardrail_redact_output_message") or "[Assistant output redacted.]"
                redactions.append({"redactContent": {"redactAssistantContentMessage": message}})
            events[-1:-1] = redactions
        return events

    def _frame_error(self, frame: Frame, url: str) -> StreamServerError:
        """An exception frame, for the error boundary to map (throttling by its name, overflow by its wording)."""
        message = frame.payload.get("message") if isinstance(frame.payload, dict) else str(frame.payload)
        return StreamServerError(
            f"Bedrock sent {frame.name} inside the stream from {url}: {message}",
            reported=(None, str(message), f"{frame.name}: {message}"),
        )


class _ConverseState:
    __slots__ = ("stop_reason", "additional_fields", "guardrail_trace", "saw_metadata", "open_tool", "tool_input_seen")

    def __init__(self) -> None:
        self.open_tool: Any = None
        self.tool_input_seen = False
        self.stop_reason: str | None = None
        self.additional_fields: dict[str, Any] | None = None
        self.guardrail_trace: dict[str, Any] | None = None
        self.saw_metadata = False


def _guardrail_blocked(trace: dict[str, Any] | None) -> bool:
    """Redact only when a policy BLOCKED (masked content is already replaced server side); no trace: redact."""
    if trace is None:
        return True
    assessments = list((trace.get("inputAssessment") or {}).values())
    for output in (trace.get("outputAssessments") or {}).values():
        assessments.extend(output if isinstance(output, list) else [output])
    return any(_has_blocked(assessment) for assessment in assessments)


def _has_blocked(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get("action") == "BLOCKED" and value.get("detected", True):
            return True
        return any(_has_blocked(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_blocked(item) for item in value)
    return False


def _format_messages(messages: Messages, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Strands content blocks are Converse blocks already; drop tool result status where the model rejects it."""
    keep_status = config.get("include_tool_result_status", "auto")
    if keep_status == "auto":
        keep_status = "claude" in str(config.get("model_id", "")).lower()
    formatted = []
    for message in messages:
        content = []
        for block in message["content"]:
            if "toolResult" in block and not keep_status:
                result = {key: value for key, value in block["toolResult"].items() if key != "status"}
                content.append({"toolResult": result})
            else:
                content.append(dict(block))
        formatted.append({"role": message["role"], "content": content})
    return formatted


def _to_json(value: Any) -> Any:
    """Blobs (image bytes, redacted reasoning) as base64 strings, as the Converse REST API takes them."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    return value
