"""Upstream `strands.models.sagemaker.SageMakerAIModel` (boto3) against the sagemaker cassettes, through the
loopback replay server: the same bytes our reference provider is checked on. These tests pin what upstream
does today, findings included, so a change shows up.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conformance.cases import CASES
from conformance.cassette import load_cassette
from conformance.loopback import LoopbackReplay, LoopbackServer
from conformance.upstream_sagemaker import payload_config, sagemaker
from conformance.wires import get_wire

CASSETTES = Path(__file__).resolve().parents[2] / "recordings" / "sagemaker"

pytest.importorskip("mypy_boto3_sagemaker_runtime", reason="strands.models.sagemaker imports these stubs at run time")


async def _run(model: Any, case_name: str) -> list[dict[str, Any]]:
    return [event async for event in model.stream(**CASES.get(case_name, CASES["text_basic"]).stream_kwargs())]


def replay_upstream(name: str) -> tuple[list[dict[str, Any]] | None, BaseException | None, LoopbackReplay]:
    cassette = load_cassette(CASSETTES / name)
    with LoopbackServer() as server, server.replay(cassette) as loop:
        try:
            return asyncio.run(_run(sagemaker(base_url=server.url, model_id="smollm2"), cassette.case)), None, loop
        except Exception as exc:  # the outcome is what the test asserts
            return None, exc, loop


def _text(events: list[dict[str, Any]]) -> str:
    return "".join(event["contentBlockDelta"]["delta"].get("text", "") for event in events if "contentBlockDelta" in event)


def test_upstream_joins_parts_that_split_sse_events() -> None:
    """strands 1.62 buffers PayloadParts into lines: a part holding the end of one SSE event and the start of the
    next (text_basic's parts do) gives the recorded text."""
    events, error, loop = replay_upstream("text_basic.vllm.json")
    assert error is None, f"upstream raised {error!r}"
    assert not loop.mismatches and not loop.unplayed(), loop.mismatches
    body = load_cassette(CASSETTES / "text_basic.vllm.json").interactions[0].response.body
    assert _text(events) == get_wire("sagemaker").decode(body).text


def test_upstream_crashes_on_a_part_ending_inside_a_character() -> None:
    """Finding: each part is decoded as UTF-8 on its own, so a part cut inside a multi-byte character raises
    UnicodeDecodeError; our reference provider joins the bytes before decoding."""
    _events, error, _loop = replay_upstream("text_multibyte_split.written.json")
    assert isinstance(error, UnicodeDecodeError), f"upstream raised {error!r}"


@pytest.mark.parametrize("name", ["error_429.written.json", "throttling_exception.written.json",
                                  "container_throttled.written.json"])
def test_upstream_raises_throttling_unmapped(name: str) -> None:
    """Finding: botocore's own errors pass through; the event loop retries only ModelThrottledException."""
    _events, error, loop = replay_upstream(name)
    assert isinstance(error, ClientError), f"upstream raised {error!r}"
    assert not loop.mismatches, loop.mismatches


def test_upstream_ends_a_malformed_line_normally() -> None:
    """Finding: a `data:` line that is not JSON is dropped with a warning and the answer ends as complete."""
    events, error, _loop = replay_upstream("malformed_line.written.json")
    assert error is None
    assert [event["messageStop"]["stopReason"] for event in events if "messageStop" in event] == ["end_turn"]


def test_payload_config_names_sampling_keys_and_keeps_the_rest() -> None:
    assert payload_config({"max_tokens": 8, "temperature": 0.0, "structured_outputs": {"regex": "x"}}) == {
        "max_tokens": 8, "temperature": 0.0, "additional_args": {"structured_outputs": {"regex": "x"}}}
