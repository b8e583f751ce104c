"""The SageMaker provider and its cassettes, where the shared checks do not reach: the re-framed cassettes
really cut events and characters (the bug class they exist for), the build script reproduces them, the
request is SigV4 signed for `sagemaker` with its routing headers, and frames that are not PayloadParts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

from conformance.cases import CASES
from conformance.cassette import Cassette, Chunk, Interaction, RecordedRequest, RecordedResponse, dumps_cassette
from conformance.cassette import load_cassette
from conformance.replay import Replay
from conformance.wires import get_wire
from conformance.wires.sagemaker import payload_part, sagemaker_payload
from conformance.written.builders import EVENT_STREAM, chunk, sse
from providers._eventstream import encode_event
from providers.errors import MalformedStreamError, StreamServerError, TruncatedStreamError

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
SAGEMAKER = RECORDINGS / "sagemaker"
PATH = "/endpoints/smollm2/invocations-response-stream"


def _model(**endpoint: Any) -> Any:
    import boto3

    from providers.sagemaker import SageMakerAIModel

    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="eu-west-1")
    return SageMakerAIModel({"endpoint_name": "smollm2", **endpoint}, {"max_tokens": 24}, boto_session=session,
                            endpoint_url="http://replay.invalid")


def _stream(model: Any, cassette: Cassette) -> tuple[list[dict[str, Any]], Replay]:
    async def run() -> list[dict[str, Any]]:
        return [event async for event in model.stream(**CASES["text_basic"].stream_kwargs())]

    with Replay(cassette) as replay:
        return asyncio.run(run()), replay


def _text(events: list[dict[str, Any]]) -> str:
    return "".join(event["contentBlockDelta"]["delta"].get("text", "") for event in events if "contentBlockDelta" in event)


def _parts(path: Path) -> list[bytes]:
    buffer = EventStreamBuffer()
    buffer.add_data(load_cassette(path).interactions[0].response.body)
    return [message.payload for message in buffer]


def _answer(*frames: bytes, end: str = "complete") -> Cassette:
    response = RecordedResponse(200, {"content-type": EVENT_STREAM}, [Chunk(0, frame) for frame in frames], end)
    request = RecordedRequest("POST", PATH, {}, None)
    return Cassette("sagemaker", "text_basic", {"kind": "written"}, [Interaction(request, response)])


def test_reframed_parts_cut_events_and_characters() -> None:
    """The recorded text stream holds a part that ends one SSE event and starts the next, and a part cut inside
    JSON; the multi-byte stream holds a part that ends inside a character. Otherwise the cassettes test nothing."""
    recorded = _parts(SAGEMAKER / "text_basic.vllm.json")
    assert any(b"\n\ndata:" in part[1:] and not part.endswith(b"\n\n") for part in recorded)
    assert any(not part.endswith(b"\n") for part in recorded)
    multibyte = _parts(SAGEMAKER / "text_multibyte_split.written.json")
    assert any(_ends_inside_a_character(part) for part in multibyte)


def _ends_inside_a_character(part: bytes) -> bool:
    try:
        part.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data"
    return False


@pytest.mark.parametrize("name", ["text_basic.vllm.json", "text_multibyte_split.written.json", "tool_single.vllm.json"])
def test_reference_provider_reads_reframed_stream_as_recorded(name: str) -> None:
    """The joined parts are the recorded chat stream byte for byte, and the provider's text is the wire's text."""
    reframed = load_cassette(SAGEMAKER / name)
    recorded = load_cassette(RECORDINGS / "openai-chat" / name)
    assert sagemaker_payload(reframed.interactions[0].response.body) == recorded.interactions[0].response.body
    events, replay = _stream(_model(), reframed)
    assert not replay.mismatches
    assert _text(events) == get_wire("sagemaker").decode(reframed.interactions[0].response.body).text


def test_build_script_reproduces_every_cassette() -> None:
    from recordings.sagemaker.build import every_cassette

    built = every_cassette()
    on_disk = {path.name for path in SAGEMAKER.glob("*.json")}
    assert set(built) == on_disk
    stale = [name for name, cassette in built.items() if dumps_cassette(cassette) != (SAGEMAKER / name).read_text()]
    assert not stale, f"run python -m recordings.sagemaker.build: {stale}"


def test_request_is_signed_for_sagemaker_with_routing_headers() -> None:
    model = _model(inference_component_name="ic-smollm2", target_variant="blue")
    _events, replay = _stream(model, load_cassette(SAGEMAKER / "text_basic.vllm.json"))
    (sent,) = replay.sent
    assert sent.path == PATH
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/sagemaker/aws4_request" in sent.headers["authorization"]
    assert sent.headers["x-amzn-sagemaker-inference-component"] == "ic-smollm2"
    assert sent.headers["x-amzn-sagemaker-target-variant"] == "blue"
    assert "model" not in sent.body, "the endpoint names the model; the container's body carries none"


def test_model_id_is_the_endpoint_name() -> None:
    model = _model()
    model.update_config(model_id="other-endpoint")
    assert model.get_config()["endpoint_name"] == model.get_config()["model_id"] == "other-endpoint"
    assert model._chat_url().endswith("/endpoints/other-endpoint/invocations-response-stream")


def test_exception_frame_names_its_error_code() -> None:
    broken = load_cassette(SAGEMAKER / "stream_broken.written.json")
    with pytest.raises(StreamServerError, match=r"ModelStreamError \(StreamBroken\)"):
        _stream(_model(), broken)


def test_an_event_other_than_a_payload_part_is_malformed() -> None:
    hello = payload_part(sse(chunk({"role": "assistant", "content": ""})))
    with pytest.raises(MalformedStreamError, match="'messageStart' .* is not part of the SageMaker response stream"):
        _stream(_model(), _answer(hello, encode_event("messageStart", {"role": "assistant"})))


def test_a_body_ending_inside_a_frame_is_truncated() -> None:
    hello = payload_part(sse(chunk({"role": "assistant", "content": ""})))
    done = payload_part(sse(chunk({}, "stop")) + b"data: [DONE]\n\n")
    with pytest.raises(TruncatedStreamError, match="ended inside a frame"):
        _stream(_model(), _answer(hello, done[:-5]))
