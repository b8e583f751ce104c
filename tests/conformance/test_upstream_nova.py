"""strands-amazon-nova's `NovaAPIModel` against the openai-chat cassettes, replayed in-process: its own
`httpx.AsyncClient` per request is what respx sees, so the factory only points `base_url` at the replay.
These tests pin that the requests reach the replay (not the Nova API) and what it does today.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from conformance.cases import CASES
from conformance.cassette import load_cassette
from conformance.replay import Replay
from conformance.upstream_nova import nova
from conformance.validator import validate_events

CASSETTES = Path(__file__).resolve().parents[2] / "recordings" / "openai-chat"
BASE_URL = "http://127.0.0.1:8000/v1"


async def _run(model: Any, case_name: str) -> list[dict[str, Any]]:
    return [event async for event in model.stream(**CASES[case_name].stream_kwargs())]


@pytest.mark.parametrize(("case", "stop_reason"), [("text_basic", "end_turn"), ("tool_single", "tool_use")])
def test_upstream_streams_from_the_replay(case: str, stop_reason: str) -> None:
    with Replay(load_cassette(CASSETTES / f"{case}.written.json")) as replay:
        events = asyncio.run(_run(nova(base_url=BASE_URL, model_id="nova-lite-v2"), case))
    assert not replay.mismatches and not replay.unplayed(), replay.mismatches
    assert [request.url for request in replay.sent] == [f"{BASE_URL}/chat/completions"]
    assert validate_events(events).stop_reason == stop_reason


def test_params_go_into_the_request_body() -> None:
    with Replay(load_cassette(CASSETTES / "text_basic.written.json")) as replay:
        asyncio.run(_run(nova(base_url=BASE_URL, model_id="nova-lite-v2", params={"max_tokens": 24}), "text_basic"))
    assert replay.sent[0].body["max_tokens"] == 24
    assert replay.sent[0].body["stream"] is True


def test_factory_refuses_options_it_does_not_take() -> None:
    with pytest.raises(TypeError, match="takes only params"):
        nova(base_url=BASE_URL, model_id="nova-lite-v2", client_args={})
