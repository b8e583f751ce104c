"""Reference Strands provider for a SageMaker AI endpoint streamed with InvokeEndpointWithResponseStream.

Why it exists: upstream `strands.models.sagemaker.SageMakerAIModel` runs boto3 in worker threads, splits
the payload into lines by hand and drops a malformed line with a warning. A SageMaker endpoint that
hosts an OpenAI-compatible container (vLLM, LMI, TGI's Messages API) answers with the container's
chat-completions SSE bytes wrapped in AWS event-stream `PayloadPart` events, and a part is cut wherever
the container flushed: it may end inside a UTF-8 character or a JSON object, or hold the end of one SSE
event and the start of the next. This provider unwraps the parts into one byte stream and hands it to
the shared chat-completions core (`providers._openai_chat`), the same parser every chat server gets, so
part boundaries mean nothing to it; the request is the core's chat body, SigV4 signed by botocore.

Wire (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpointWithResponseStream.html):
`POST /endpoints/{EndpointName}/invocations-response-stream`, the container's JSON as the body;
optional headers X-Amzn-SageMaker-Inference-Component, -Target-Model, -Target-Variant,
-Custom-Attributes. The answer: frames `PayloadPart` (raw bytes), or an exception frame inside the
stream (`ModelStreamError` with ErrorCode StreamBroken / ModelInvocationTimeExceeded,
`InternalStreamFailure`). Before the stream: `ModelError` (424: the container answered an error; its
status and body in OriginalStatusCode / OriginalMessage), `ValidationError` (400), `ThrottlingException`,
`ModelNotReadyException` (429), `ServiceUnavailable` (503), `InternalFailure` (500).

Errors: the container's 429/503 inside a ModelError, ThrottlingException and ModelNotReadyException raise
`ModelThrottledException`; the container's 400/413 with an overflow wording raises
`ContextWindowOverflowException`; an exception frame raises `StreamServerError` naming it.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypedDict
from urllib.parse import quote

import httpx
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

from ._chat_format import chat_request
from ._eventstream import EventStreamDecoder, Frame
from ._model_base import Turn
from ._sigv4 import botocore_timeout, sigv4_signed_headers
from ._openai_chat import OpenAIChatModel
from .errors import MalformedStreamError, StreamServerError, TruncatedStreamError

__all__ = ["SageMakerAIModel"]

DEFAULT_REGION = "us-west-2"
# The service's own names for "slow down": the error type header of a throttled request.
THROTTLE_ERRORS = ("throttlingexception", "modelnotreadyexception")
# A container status inside ModelError that means the same as the service's own throttling.
CONTAINER_THROTTLE_STATUSES = frozenset({429, 503})
CONTAINER_OVERFLOW_STATUSES = frozenset({400, 413})
# Endpoint configuration key -> the request header SageMaker routes by.
ROUTING_HEADERS = {
    "inference_component_name": "X-Amzn-SageMaker-Inference-Component",
    "target_model": "X-Amzn-SageMaker-Target-Model",
    "target_variant": "X-Amzn-SageMaker-Target-Variant",
    "custom_attributes": "X-Amzn-SageMaker-Custom-Attributes",
}


class SageMakerAIEndpointConfig(TypedDict, total=False):
    """Where the request goes: upstream's `SageMakerAIEndpointConfig` keys, plus `custom_attributes`."""

    endpoint_name: str
    region_name: str
    inference_component_name: str | None
    target_model: str | None
    target_variant: str | None
    custom_attributes: str | None


class SageMakerAIPayloadConfig(TypedDict, total=False):
    """The container's body fields: upstream's `SageMakerAIPayloadSchema` keys (stream is always on)."""

    max_tokens: int
    temperature: float | None
    top_p: float | None
    top_k: int | None
    stop: list[str] | None
    additional_args: dict[str, Any] | None


class SageMakerAIModel(OpenAIChatModel):
    """A Strands model over a SageMaker AI endpoint whose container speaks OpenAI chat completions.

    Args:
        endpoint_config: `endpoint_name` (required), `region_name`, and the routing keys of `ROUTING_HEADERS`.
        payload_config: sampling fields of the container's body; `additional_args` adds any other field.
        boto_session: where credentials and the region come from (default: a new `boto3.Session()`).
        boto_client_config: a `botocore.config.Config`; its read and connect timeouts are honoured.
        endpoint_url: a custom endpoint (VPC endpoint, or a loopback replay server).
    """

    CONFIG_KEYS: ClassVar[frozenset[str]] = frozenset(SageMakerAIEndpointConfig.__annotations__) | {"params"}
    _accept = "application/vnd.amazon.eventstream"

    def __init__(
        self,
        endpoint_config: SageMakerAIEndpointConfig,
        payload_config: SageMakerAIPayloadConfig | None = None,
        *,
        boto_session: Any = None,
        boto_client_config: Any = None,
        endpoint_url: str | None = None,
    ) -> None:
        payload = dict(payload_config or {})
        if payload.pop("stream", True) is not True:
            raise ValueError("SageMakerAIModel (reference) only streams: remove stream=False from payload_config")
        params = {**payload, **(payload.pop("additional_args", None) or {})}
        super().__init__({**endpoint_config, "params": params})
        if not self.config.get("endpoint_name"):
            raise ValueError("SageMakerAIModel needs endpoint_config['endpoint_name']: the endpoint to invoke")
        self._session = boto_session
        self._client_config = boto_client_config
        self.region = (self.config.get("region_name") or getattr(boto_session, "region_name", None)
                       or os.environ.get("AWS_REGION") or DEFAULT_REGION)
        self.endpoint_url = (endpoint_url or f"https://runtime.sagemaker.{self.region}.amazonaws.com").rstrip("/")

    # -- configuration ---------------------------------------------------------------------------

    def update_config(self, **model_config: Any) -> None:  # type: ignore[override]
        """Also takes `model_id`, Strands' name for what a SageMaker endpoint serves: the endpoint's name."""
        if "model_id" in model_config:
            model_config["endpoint_name"] = model_config.pop("model_id")
        super().update_config(**model_config)

    def get_config(self) -> dict[str, Any]:  # type: ignore[override]
        return {**self.config, "model_id": self.config.get("endpoint_name")}

    # -- request ---------------------------------------------------------------------------------

    def _chat_url(self) -> str:
        return f"{self.endpoint_url}/endpoints/{quote(self.config['endpoint_name'], safe='')}/invocations-response-stream"

    def _format_turn(self, turn: Turn) -> dict[str, Any]:
        # The endpoint names the model: the container's body carries none.
        request = chat_request("", turn, format_choice=self._format_tool_choice)
        del request["model"]
        request.update(self._request_params())
        if request.get("stream") is not True:
            raise ValueError("SageMakerAIModel only streams: remove 'stream' from the payload")
        return request

    def _timeout(self) -> httpx.Timeout:
        config = self._client_config
        if config is None:
            return super()._timeout()
        return botocore_timeout(config, read=60, connect=60)

    def _request_headers(self, url: str, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": self._accept}
        headers.update({name: str(self.config[key]) for key, name in ROUTING_HEADERS.items() if self.config.get(key)})
        self._session, signed = sigv4_signed_headers(
            self._session, service="sagemaker", region=self.region, url=url, body=body, headers=headers,
            no_credentials="SageMakerAIModel found no AWS credentials to sign the request (boto3's chain: environment, "
            "~/.aws, instance role); configure them or pass boto_session=",
        )
        return signed

    # -- answer ----------------------------------------------------------------------------------

    async def _open_stream(self, request: dict[str, Any]) -> Any:
        """The response, seen by the chat core as the container's SSE bytes (the parts, unwrapped)."""
        response = await super()._open_stream(request)
        return _PayloadStream(response, self._chat_url(), self._max_event_bytes())

    def _error_body(self, response: httpx.Response, body: str) -> str:
        error_type = response.headers.get("x-amzn-errortype", "").split(":")[0]
        return f"{error_type}: {body}" if error_type else body

    def _special_error(self, status: int | None, message: str, raw: str, url: str) -> Exception | None:
        lowered = raw.lower()
        if any(name in lowered for name in THROTTLE_ERRORS):
            return ModelThrottledException(f"SageMaker is throttling requests to {url} ({status}): {message}")
        container = _container_error(raw) if status == 424 else None
        if container is None:
            return None
        code, said = container
        if code in CONTAINER_THROTTLE_STATUSES:
            return ModelThrottledException(f"the endpoint's container is throttling requests ({code}): {said}")
        if code in CONTAINER_OVERFLOW_STATUSES and any(marker in said.lower() for marker in self._overflow_markers):
            return ContextWindowOverflowException(f"the prompt does not fit the model's context: {said}")
        return None


def _container_error(raw: str) -> tuple[int | None, str] | None:
    """(OriginalStatusCode, OriginalMessage) of a ModelError body, or None when the body is not one."""
    try:
        body = json.loads(raw.partition(": ")[2] if raw.startswith("ModelError") else raw)
    except ValueError:
        return None
    if not isinstance(body, dict) or "OriginalStatusCode" not in body:
        return None
    code = body.get("OriginalStatusCode")
    return (code if isinstance(code, int) else None), str(body.get("OriginalMessage") or body.get("Message") or "")


class _PayloadDecoder(EventStreamDecoder):
    """Event-stream frames whose `PayloadPart` payload stays raw bytes (a piece of the container's answer)."""

    def _frame(self, headers: Mapping[str, Any], payload: bytes, payload_at: int) -> Frame:
        if headers.get(":message-type") == "event" and headers.get(":event-type") == "PayloadPart":
            return Frame("event", "PayloadPart", payload)
        return super()._frame(headers, payload, payload_at)


class _PayloadStream:
    """The part of an `httpx.Response` the chat core reads, with the body unwrapped from its PayloadParts."""

    headers: Mapping[str, str] = MappingProxyType({})  # no content-encoding: the core reads `aiter_raw`

    def __init__(self, response: httpx.Response, url: str, limit: int) -> None:
        self._response = response
        self._url = url
        self._decoder = _PayloadDecoder(url, limit)

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        async for block in self._response.aiter_bytes():
            for payload in self._payloads(block):
                yield payload
        if self._decoder.pending:
            raise TruncatedStreamError(
                f"the event stream from {self._url} ended inside a frame ({self._decoder.pending} bytes)")

    aiter_bytes = aiter_raw

    def _payloads(self, block: bytes) -> Iterator[bytes]:
        for frame in self._decoder.feed(block):
            if frame.kind == "event" and frame.name == "PayloadPart":
                if frame.payload:
                    yield frame.payload
                continue
            if frame.kind == "event":
                raise MalformedStreamError(
                    f"event {frame.name!r} from {self._url} is not part of the SageMaker response stream")
            details = frame.payload if isinstance(frame.payload, dict) else {"Message": str(frame.payload)}
            message = str(details.get("Message") or details.get("message") or "")
            code = details.get("ErrorCode")
            name = f"{frame.name} ({code})" if code else frame.name
            raise StreamServerError(f"SageMaker sent {name} inside the stream from {self._url}: {message}",
                                    reported=(None, message, f"{name}: {message}"))

    async def aclose(self) -> None:
        await self._response.aclose()
