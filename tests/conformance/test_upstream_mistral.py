"""Upstream `strands.models.mistral.MistralModel` (mistralai SDK, on httpx2) against the Mistral cassettes,
through the loopback replay server: the suite's respx replay cannot see httpx2, so the factory serves
each cassette over 127.0.0.1. These tests pin that the SDK really reaches the loopback server and what
upstream does today, so a change shows up.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from strands.types.exceptions import ModelThrottledException

from conformance.cases import CASES
from conformance.cassette import load_cassette
from conformance.loopback import LoopbackReplay, LoopbackServer
from conformance.upstream_mistral import mistral
from conformance.validator import validate_events

CASSETTES = Path(__file__).resolve().parents[2] / "recordings" / "mistral"


async def _run(model: Any, case_name: str) -> list[dict[str, Any]]:
    return [event async for event in model.stream(**CASES[case_name].stream_kwargs())]


def replay_upstream(case_name: str) -> tuple[list[dict[str, Any]] | None, BaseException | None, LoopbackReplay]:
    cassette = load_cassette(CASSETTES / f"{case_name}.written.json")
    with LoopbackServer() as server, server.replay(cassette) as loop:
        # The harness hands a sockets factory the loopback root plus the wire's API prefix.
        model = mistral(base_url=server.url + "/v1", model_id="mistral-large-latest")
        try:
            return asyncio.run(_run(model, case_name)), None, loop
        except Exception as exc:  # the outcome is what the test asserts
            return None, exc, loop


def test_factory_declares_the_loopback_transport() -> None:
    assert mistral.conformance_transport == "sockets"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("case", "stop_reason"), [("text_basic", "end_turn"), ("tool_single", "tool_use")])
def test_upstream_streams_through_the_loopback_server(case: str, stop_reason: str) -> None:
    events, error, loop = replay_upstream(case)
    assert error is None, f"upstream raised {error!r}"
    assert not loop.mismatches and not loop.unplayed(), loop.mismatches
    assert [request.path for request in loop.sent] == ["/v1/chat/completions"]
    assert validate_events(events).stop_reason == stop_reason


def test_upstream_maps_429_to_throttling() -> None:
    _events, error, loop = replay_upstream("error_429")
    assert isinstance(error, ModelThrottledException), f"upstream raised {error!r}"
    assert len(loop.sent) == 1, "the SDK retried: a replayed cassette holds one answer"


def test_params_map_to_named_keys() -> None:
    model = mistral(base_url="http://127.0.0.1:9/v1", model_id="m", params={"temperature": 0.0, "max_tokens": 8})
    model.update_config(params={"top_p": 0.5})
    config = model.get_config()
    assert (config.get("temperature"), config.get("max_tokens"), config.get("top_p")) == (0.0, 8, 0.5)
