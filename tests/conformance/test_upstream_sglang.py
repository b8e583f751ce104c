"""strands-sglang's `SGLangModel` through its suite factory, and the byte vocabulary that lets the
sglang-generate request reader read the token ids it sends.

strands-sglang 0.6.2 needs Python 3.12 and transformers 5, so the tests that build it run where it is
installed (`.venv/upstream-sglang`, made by scripts/certify-upstream.sh):

    .venv/upstream-sglang/bin/python -m pytest tests/conformance/test_upstream_sglang.py
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from conformance.cases import CASES
from conformance.cassette import load_cassette
from conformance.loopback import LoopbackReplay, LoopbackServer
from conformance.wires.sglang_generate import CHATML_MARKERS, prompt_text, read_sglang_generate_request

CASSETTES = Path(__file__).resolve().parents[2] / "recordings" / "sglang-generate"
needs_strands_sglang = pytest.mark.skipif(importlib.util.find_spec("strands_sglang") is None,
                                          reason="strands-sglang is installed in .venv/upstream-sglang only")


def test_reader_reads_byte_vocabulary_ids_with_the_chatml_markers() -> None:
    ids = [256, *b"user\nH\xc3\xa9", 257, *b"\n"]
    assert prompt_text({"input_ids": ids}) == f"{CHATML_MARKERS[0]}user\nHé{CHATML_MARKERS[1]}\n"
    with pytest.raises(ValueError, match="byte vocabulary"):
        prompt_text({"input_ids": [300]})


def replay_upstream(case_name: str) -> tuple[list[dict[str, Any]] | None, BaseException | None, LoopbackReplay]:
    from conformance.upstream_sglang import sglang

    cassette = load_cassette(CASSETTES / f"{case_name}.written.json")
    with LoopbackServer() as server, server.replay(cassette) as loop:
        model = sglang(base_url=server.url, model_id="smollm2", params={"max_tokens": 24})

        async def run() -> list[dict[str, Any]]:
            return [event async for event in model.stream(**CASES[case_name].stream_kwargs())]

        try:
            return asyncio.run(run()), None, loop
        except Exception as exc:  # the outcome is what the test asserts
            return None, exc, loop


@needs_strands_sglang
def test_prompt_ids_read_back_as_the_reference_prompt() -> None:
    """The byte tokenizer and chat template render what the reference provider renders, so the request
    checks judge the upstream's prompt, system turn and tools like ours."""
    _events, _error, loop = replay_upstream("text_basic")
    assert [request.path for request in loop.sent] == ["/generate"], loop.mismatches
    sent = loop.sent[0].body
    recorded = load_cassette(CASSETTES / "text_basic.written.json").interactions[0].request.body
    assert "input_ids" in sent and sent["stream"] is False
    assert prompt_text(sent) == recorded["text"]
    assert read_sglang_generate_request(sent).params == {"max_tokens": 24}


@needs_strands_sglang
def test_tools_render_in_the_system_turn() -> None:
    _events, _error, loop = replay_upstream("tool_single")
    meaning = read_sglang_generate_request(loop.sent[0].body)
    assert [tool["name"] for tool in meaning.tools] == ["get_weather"]
