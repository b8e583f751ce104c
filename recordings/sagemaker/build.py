"""Build the sagemaker wire's cassettes: the openai-chat recordings re-framed, and the wire's own errors written.

    python -m recordings.sagemaker.build     # rewrites recordings/sagemaker/*.json; same bytes on every run
    python -m conformance.written sagemaker  # those marked written only, as for every wire

A SageMaker endpoint hosting vLLM streams what vLLM streams, wrapped in AWS event-stream `PayloadPart`
events cut wherever the container flushed. So the successful streams are not written by hand: each is
the openai-chat cassette of the same case (the vLLM recording when there is one, the written cassette
otherwise), its body joined and cut again at byte offsets drawn from a generator seeded with the file
name, every piece one `PayloadPart` frame. The cuts land inside UTF-8 characters and JSON objects, and a
part often holds the end of one SSE event and the start of the next. The openai-chat file stays the
source of truth (named in each cassette's `source.reframed_from`): re-record it, then run this again.

An HTTP error of the container reaches the client as the service's ModelError (424) holding the
container's status and body; the service's own errors and the exception frames inside the stream are
written from the API reference.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from conformance.cases import Case
from conformance.cassette import Cassette, Chunk, Interaction, RecordedRequest, RecordedResponse, load_cassette
from conformance.cassette import write_cassette_atomically
from conformance.written.builders import (
    EVENT_STREAM, JSON, WRITTEN_AT, Response, WrittenWire, chunk, limits, sse, usage_chunk,
)
from conformance.wires.sagemaker import payload_part
from providers._eventstream import encode_frame

HERE = Path(__file__).resolve().parent
CHAT_DIR = HERE.parent / "openai-chat"
PATH = "/endpoints/smollm2/invocations-response-stream"
REFERENCE = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpointWithResponseStream.html"
FRAMING = ("each body cut at byte offsets drawn from random.Random(<file name>), one PayloadPart frame per piece "
           "(recordings/sagemaker/build.py)")
# Average bytes per PayloadPart: shorter than a vLLM chunk event (about 200 bytes), so parts split events.
MEAN_PART_BYTES = 90
# openai-chat cassettes that are not re-framed: token-id recordings (no SageMaker provider asks for ids),
# and the container's HTTP errors, which the service relays as ModelError (below).
NOT_REFRAMED = ("tokens_", "error_429.", "error_503.", "overflow_before_stream.", "overflow_openai_code.")
# The container's own error answers, relayed by the service as ModelError 424.
RELAYED = {"overflow_before_stream": "overflow_before_stream.vllm.json",
           "overflow_openai_code": "overflow_openai_code.written.json"}


def exception_frame(name: str, details: dict[str, Any]) -> bytes:
    return encode_frame({":exception-type": name, ":content-type": "application/json", ":message-type": "exception"},
                        json.dumps(details).encode())


def seeded_cuts(body: bytes, seed: str) -> list[int]:
    """Offsets where the parts end; one more inside the first multi-byte character, a cut every reader must join."""
    rng = random.Random(seed)
    cuts = set(rng.sample(range(1, len(body)), min(len(body) - 1, max(1, len(body) // MEAN_PART_BYTES))))
    lead = next((index for index, byte in enumerate(body) if byte >= 0xC0), None)
    if lead is not None:
        cuts.add(lead + 1)
    return sorted(cuts)


def reframe_response(response: RecordedResponse, seed: str) -> RecordedResponse:
    """The body in PayloadParts, each frame one network read timed as the recorded chunk holding its last byte."""
    body = response.body
    ends = [*seeded_cuts(body, seed), len(body)] if body else []
    chunk_ends, offset = [], 0
    for item in response.chunks:
        offset += len(item.data)
        chunk_ends.append((offset, item.ms))
    frames, start = [], 0
    for end in ends:
        ms = next(ms for chunk_end, ms in chunk_ends if chunk_end >= end)
        frames.append(Chunk(ms, payload_part(body[start:end])))
        start = end
    return RecordedResponse(200, {"content-type": EVENT_STREAM}, frames, response.end)


def sagemaker_request(request: RecordedRequest) -> RecordedRequest:
    """The body the reference provider sends the endpoint: the container's chat body, without `model`."""
    body = {key: value for key, value in request.body.items() if key != "model"}
    return RecordedRequest("POST", PATH, {"content-type": JSON, "accept": EVENT_STREAM}, body)


def reframed_source(source: dict[str, Any], origin: str) -> dict[str, Any]:
    extra = {"reframed_from": f"openai-chat/{origin}", "framing": FRAMING}
    if source["kind"] == "written":
        return {**source, **extra, "note": f"{source['note']}; re-framed into SageMaker PayloadParts"}
    return {**source, **extra}


def relayed_model_error(response: RecordedResponse) -> RecordedResponse:
    """A container's HTTP error as the service answers it: ModelError 424, the container's status and body inside."""
    said = response.body.decode()
    payload = {"ErrorCode": "CLIENT_ERROR_FROM_MODEL", "OriginalStatusCode": response.status, "OriginalMessage": said,
               "LogStreamArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/smollm2",
               "Message": f"Received client error ({response.status}) from primary with message \"{said}\". See "
                          "the endpoint's CloudWatch log stream for more information."}
    return RecordedResponse(424, {"content-type": JSON, "x-amzn-errortype": "ModelError"},
                            [Chunk(item.ms, json.dumps(payload).encode()) for item in response.chunks[:1]], "complete")


def chosen_sources() -> list[Path]:
    """The openai-chat cassettes to re-frame: a case's vLLM recording where one exists, else its written ones."""
    by_case: dict[str, list[Path]] = {}
    for path in sorted(CHAT_DIR.glob("*.json")):
        if not path.name.startswith(NOT_REFRAMED) and ".llamacpp." not in path.name:
            by_case.setdefault(path.name.partition(".")[0], []).append(path)
    chosen = []
    for paths in by_case.values():
        recorded = [path for path in paths if path.name.endswith(".vllm.json")]
        chosen.extend(recorded or paths)
    return chosen


def reframed() -> dict[str, Cassette]:
    """Every chosen openai-chat cassette in PayloadParts, and the container's errors relayed as ModelError."""
    out = {}
    for path in chosen_sources():
        original = load_cassette(path)
        interactions = [Interaction(sagemaker_request(item.request), reframe_response(item.response, path.name))
                        for item in original.interactions]
        out[path.name] = Cassette("sagemaker", original.case, reframed_source(original.source, path.name), interactions)
    for case, name in RELAYED.items():
        original = load_cassette(CHAT_DIR / name)
        interactions = [Interaction(sagemaker_request(item.request), relayed_model_error(item.response))
                        for item in original.interactions]
        source = {**original.source, "reframed_from": f"openai-chat/{name}",
                  "framing": "the container's HTTP error relayed as the service's ModelError (424)"}
        out[name] = Cassette("sagemaker", original.case, source, interactions)
    return out


# -- the wire's own errors, written -------------------------------------------------------------------------


def _reference_model(case: Case) -> Any:
    from providers.sagemaker import SageMakerAIModel

    max_tokens, temperature = limits(case)
    return SageMakerAIModel({"endpoint_name": "smollm2"}, {"max_tokens": max_tokens, "temperature": temperature})


def _started(*frames: bytes) -> Response:
    """A stream that began (a role chunk and one word, the word cut across two parts), then `frames`."""
    text = sse(chunk({"role": "assistant", "content": ""})) + sse(chunk({"content": "Hello"}))
    return Response.ok(EVENT_STREAM, payload_part(text[:-40]), payload_part(text[-40:]), *frames)


def _service_error(status: int, message: str) -> Response:
    return Response(status, [json.dumps({"message": message}).encode()], JSON)


def _container_error(status: int, said: dict[str, Any]) -> Response:
    body = json.dumps(said)
    return Response(424, [json.dumps({
        "ErrorCode": "SERVER_ERROR_FROM_MODEL" if status >= 500 else "CLIENT_ERROR_FROM_MODEL",
        "OriginalStatusCode": status, "OriginalMessage": body,
        "Message": f"Received {'server' if status >= 500 else 'client'} error ({status}) from primary with message "
                   f"\"{body}\". See the endpoint's CloudWatch log stream for more information."}).encode()], JSON)


ERROR_TYPES = {"throttling_exception": "ThrottlingException", "validation_error": "ValidationError",
               "container_throttled": "ModelError", "container_error_500": "ModelError",
               "error_429": "ModelNotReadyException", "error_503": "ServiceUnavailable"}
RESPONSES = {
    "error_429": lambda: _service_error(
        429, "Model smollm2 is not ready to serve inference requests yet; retry the request"),
    "error_503": lambda: _service_error(503, "The service is unavailable. Try your call again."),
    "throttling_exception": lambda: _service_error(400, "Rate exceeded"),
    "validation_error": lambda: _service_error(400, "Endpoint smollm2 of account 123456789012 not found."),
    "container_throttled": lambda: _container_error(429, {"object": "error", "message": "Too many requests: the "
                                                          "server is at its concurrency limit", "code": 429}),
    "container_error_500": lambda: _container_error(500, {"object": "error", "message": "CUDA error: an illegal "
                                                          "memory access was encountered", "code": 500}),
    "stream_broken": lambda: _started(exception_frame("ModelStreamError", {
        "Message": "Your model server's stream broke before it completed.", "ErrorCode": "StreamBroken"})),
    "invocation_time_exceeded": lambda: _started(exception_frame("ModelStreamError", {
        "Message": "Your model exceeded the allowed invocation time.", "ErrorCode": "ModelInvocationTimeExceeded"})),
    "internal_stream_failure": lambda: _started(exception_frame("InternalStreamFailure", {
        "Message": "The stream processing failed. Try your request again."})),
}
WRITTEN = WrittenWire(
    wire="sagemaker",
    reference=f"{REFERENCE} (errors, ResponseStream: PayloadPart, ModelStreamError, InternalStreamFailure) and "
              "botocore's sagemaker-runtime service model (error shapes and HTTP statuses)",
    path=PATH,
    reference_model=_reference_model,
    responses=RESPONSES,
    error_headers=lambda case: {"x-amzn-errortype": ERROR_TYPES[case]},
)


def every_cassette() -> dict[str, Cassette]:
    """Every cassette of the wire by file name, re-framed and written, without writing them."""
    return {**reframed(), **WRITTEN.build()}


def build() -> dict[str, Cassette]:
    """The cassettes marked written (those re-framed from written openai-chat ones too), by file name: what
    `conformance.written` asks every wire's writer for."""
    return {name: cassette for name, cassette in every_cassette().items() if cassette.kind == "written"}


def main() -> None:
    # Through the module's own name, so the written cassettes' notes name this file, not `__main__`.
    from recordings.sagemaker.build import every_cassette

    for old in HERE.glob("*.json"):
        old.unlink()
    cassettes = every_cassette()
    for name, cassette in sorted(cassettes.items()):
        write_cassette_atomically(cassette, HERE / name)
    kinds = [cassette.source.get("reframed_from", "written") for cassette in cassettes.values()]
    print(f"sagemaker: {len(cassettes)} cassettes in {HERE} "
          f"({sum(kind != 'written' for kind in kinds)} re-framed from openai-chat, {kinds.count('written')} written)")


if __name__ == "__main__":
    main()
