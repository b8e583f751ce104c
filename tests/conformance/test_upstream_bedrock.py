"""Upstream `strands.models.bedrock.BedrockModel` (boto3) against the Bedrock Converse cassettes, through
the loopback replay server: the same bytes our reference provider is checked on, so the two can be
compared. These tests pin what upstream does today, findings included, so a change shows up.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

from conformance.cases import CASES
from conformance.cassette import load_cassette
from conformance.validator import EventSequenceError, validate_events
from conformance.loopback import LoopbackReplay, LoopbackServer
from conformance.upstream_bedrock import bedrock

CASSETTES = Path(__file__).resolve().parents[2] / "recordings" / "bedrock-converse"


def upstream_model(url: str) -> Any:
    return bedrock(base_url=url, model_id="smollm2")


async def _run(model: Any, case_name: str) -> list[dict[str, Any]]:
    case = CASES.get(case_name, CASES["text_basic"])
    return [event async for event in model.stream(**case.stream_kwargs())]


def replay_upstream(case_name: str) -> tuple[list[dict[str, Any]] | None, BaseException | None, LoopbackReplay]:
    cassette = load_cassette(CASSETTES / f"{case_name}.written.json")
    with LoopbackServer() as server, server.replay(cassette) as loop:
        try:
            return asyncio.run(_run(upstream_model(server.url), case_name)), None, loop
        except Exception as exc:  # the outcome is what the test asserts
            return None, exc, loop


def test_upstream_streams_valid_tool_call() -> None:
    events, error, loop = replay_upstream("tool_single")
    assert error is None, f"upstream raised {error!r}"
    assert not loop.mismatches and not loop.unplayed(), loop.mismatches
    assert validate_events(events).stop_reason == "tool_use"


@pytest.mark.parametrize("case", ["text_basic", "finish_length", "reasoning_content"])
def test_upstream_text_blocks_have_no_start(case: str) -> None:
    """Bedrock sends contentBlockStart only for tool blocks and upstream forwards events as they come, so a
    text block's first delta arrives with no block open: the Strands loop gathers it, and so does the
    validator (not a defect). Our reference provider opens every block through the shared assembler."""
    events, error, loop = replay_upstream(case)
    assert error is None, f"upstream raised {error!r}"
    assert not loop.mismatches and not loop.unplayed(), loop.mismatches
    assert not any("contentBlockStart" in event for event in events)
    summary = validate_events(events)
    assert summary.text or summary.reasoning


@pytest.mark.parametrize(("case", "expected"), [("error_429", ModelThrottledException),
                                                 ("overflow_before_stream", ContextWindowOverflowException),
                                                 ("throttling_mid_stream", ModelThrottledException)])
def test_upstream_maps_errors(case: str, expected: type[Exception]) -> None:
    _events, error, loop = replay_upstream(case)
    assert isinstance(error, expected), f"upstream raised {error!r}"
    assert not loop.mismatches, loop.mismatches


def test_upstream_guardrail_redaction_matches_reference() -> None:
    events, error, _loop = replay_upstream("finish_guardrail_intervened")
    assert error is None
    assert {"redactContent": {"redactUserContentMessage": "[User input redacted.]"}} in events


def test_upstream_passes_model_context_window_exceeded_through_raw() -> None:
    """Finding: upstream reports Bedrock's `model_context_window_exceeded` as the stop reason, which is not a
    Strands StopReason; our reference provider reports `max_tokens` (the answer was cut)."""
    events, error, _loop = replay_upstream("finish_model_context_window_exceeded")
    assert error is None
    with pytest.raises(EventSequenceError):
        validate_events(events)
    assert [event["messageStop"]["stopReason"] for event in events if "messageStop" in event] == [
        "model_context_window_exceeded"]
