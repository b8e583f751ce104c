"""SageMaker AI InvokeEndpointWithResponseStream: a container's OpenAI chat stream inside AWS event-stream frames.

The payload is the chat-completions wire (the container is vLLM, LMI or TGI's Messages API), so the stop
reasons, content handling and request reading are openai-chat's; what differs is the framing and the
errors. The SSE bytes arrive in `PayloadPart` events cut wherever the container flushed, so the reference
decoder joins the parts first and counts an SSE event only once its blank line has arrived (the SSE
dispatch rule): a part may end between an event's `data:` line and the blank line that ends it, and a
provider must not be expected to show that event before the next part.

Wire-only cases: the service's own answers (ThrottlingException, a container's 429 or 500 relayed as
ModelError 424, ValidationError) and the exception frames inside the stream (ModelStreamError with its two
error codes, InternalStreamFailure).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from strands.models import Model

from conformance.cases import text_request_case
from conformance.wires._reference import ProviderEntry
from conformance.wires._types import WireDecodeError, WireExpectation
from conformance.wires.bedrock_converse import TIMEOUTS as BOTO_TIMEOUTS
from conformance.wires.openai_chat import WIRE as CHAT_WIRE
from conformance.wires.openai_chat import decode_openai_chat

__all__ = ["decode_sagemaker", "fault_framing", "payload_part", "sagemaker_payload"]

_SSE_EVENT_END = b"\n\n"


def sagemaker_payload(body: bytes) -> bytes:
    """The container's bytes: every `PayloadPart` of the frames, joined; an exception frame raises."""
    from botocore.eventstream import EventStreamBuffer, ParserError

    buffer = EventStreamBuffer()
    buffer.add_data(body)
    parts = []
    try:
        for message in buffer:
            headers = message.headers
            if headers.get(":message-type") != "event" or headers.get(":event-type") != "PayloadPart":
                raise WireDecodeError(f"the stream carries {headers.get(':exception-type') or dict(headers)}: "
                                      f"{message.payload[:200]!r}")
            parts.append(message.payload)
    except ParserError as exc:
        raise WireDecodeError(f"the AWS event-stream framing does not parse: {type(exc).__name__}: {exc}") from exc
    return b"".join(parts)


def decode_sagemaker(body: bytes) -> WireExpectation:
    """The chat-completions meaning of the SSE events whose end has arrived (see the module docstring)."""
    payload = sagemaker_payload(body)
    return decode_openai_chat(payload[: payload.rfind(_SSE_EVENT_END) + len(_SSE_EVENT_END)])


EXTRA_CASES = (
    text_request_case("throttling_exception", "SageMaker ThrottlingException before the stream (HTTP 400)"),
    text_request_case("container_throttled", "the container's 429 relayed as SageMaker ModelError (HTTP 424)"),
    text_request_case("container_error_500", "the container's 500 relayed as SageMaker ModelError (HTTP 424)"),
    text_request_case("validation_error", "SageMaker ValidationError before the stream (HTTP 400)"),
    text_request_case("stream_broken", "ModelStreamError frame (ErrorCode StreamBroken) after some PayloadParts"),
    text_request_case("invocation_time_exceeded", "ModelStreamError frame (ErrorCode ModelInvocationTimeExceeded)"),
    text_request_case("internal_stream_failure", "InternalStreamFailure frame inside the stream"),
)

WIRE = dataclasses.replace(
    CHAT_WIRE,
    name="sagemaker",
    api_prefix="",
    decode=decode_sagemaker,
    description="SageMaker AI InvokeEndpointWithResponseStream: OpenAI chat SSE in AWS event-stream PayloadParts",
    errors={"throttling_exception": "throttled", "container_throttled": "throttled", "container_error_500": "failed",
            "validation_error": "failed", "stream_broken": "failed", "invocation_time_exceeded": "failed",
            "internal_stream_failure": "failed"},
    request_schema="sagemaker.request.json",
)


def payload_part(data: bytes) -> bytes:
    """One `PayloadPart` event frame carrying `data` (a piece of the container's answer, as is)."""
    from providers._eventstream import encode_frame

    return encode_frame({":event-type": "PayloadPart", ":content-type": "application/octet-stream",
                         ":message-type": "event"}, data)


def fault_framing() -> Any:
    """The robustness faults on this wire: the chat wire's SSE faults, each event in a PayloadPart of its own.

    Two faults need the frame itself: an event that never ends is a frame whose prelude states more bytes
    than any bound, and bytes that are not UTF-8 go into the payload before the frame's checksum.
    """
    import struct
    import zlib

    from conformance.faults.wire_bytes import BAD_UTF8, WireFaults, wire_faults
    from conformance.written.builders import EVENT_STREAM, chunk, sse
    from providers._eventstream import encode_frame

    chat = wire_faults("openai-chat")
    mark = b"@@bad-bytes@@"

    def endless_part(filler: int) -> bytes:
        headers = encode_frame({":event-type": "PayloadPart", ":content-type": "application/octet-stream",
                                ":message-type": "event"}, b"")[12:-4]
        start = chat.text(mark.decode()).split(mark)[0]
        prelude = struct.pack(">II", 12 + len(headers) + len(start) + filler + 4, len(headers))
        return prelude + struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF) + headers + start

    return WireFaults(
        content_type=EVENT_STREAM, opening=tuple(map(payload_part, chat.opening)),
        text=lambda piece: payload_part(chat.text(piece)), closing=tuple(map(payload_part, chat.closing)),
        empty=payload_part(chat.empty), ping=payload_part(chat.ping or b": ping\n\n"),
        truncated_tool=tuple(map(payload_part, chat.truncated_tool or ())), not_expressible={},
        oversize_head=endless_part,
        bad_text=payload_part(sse(chunk({"content": f"Hello {mark.decode()}"})).replace(mark, BAD_UTF8)),
    )


@functools.cache
def _signing_session() -> Any:
    """One boto3 session for every replayed model: dummy credentials (the request is signed, nothing checks)."""
    import boto3

    return boto3.Session(aws_access_key_id="conformance", aws_secret_access_key="conformance", region_name="us-east-1")


def sagemaker_factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", params: dict[str, Any] | None = None,
                      boto_client_config: Any = None) -> Model:
    """The endpoint is named after the suite's model id; the case's parameters are the container's body fields."""
    from providers.sagemaker import SageMakerAIModel

    return SageMakerAIModel({"endpoint_name": model_id}, dict(params or {}), boto_session=_signing_session(),
                            boto_client_config=boto_client_config, endpoint_url=base_url)


PROVIDERS = (ProviderEntry("sagemaker", sagemaker_factory, (), wire="sagemaker", timeouts=BOTO_TIMEOUTS),)
