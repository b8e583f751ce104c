"""Every cassette of the Anthropic, Ollama, Bedrock Converse, Mistral, Writer and Llama API wires, replayed through the reference
provider of its wire: the event sequence must pass the suite's validator and end with the expected
stop reason, or the stream must raise the expected exception; every interaction must be played.

Why here and not only in `conformance/`: these cassettes include wire-only cases (pause_turn,
guardrail redaction, Bedrock exceptions inside the stream) that the shared case list does not name.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pydantic
import pytest
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

from conformance.cases import CASES
from conformance.cassette import load_cassette
from conformance.replay import Replay
from conformance.validator import validate_events
from providers.errors import MalformedStreamError, ProviderHTTPError, StreamServerError, TruncatedStreamError

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
WIRES = ("anthropic", "ollama", "bedrock-converse", "mistral", "writer", "llama-api")


class WeatherReport(pydantic.BaseModel):
    """The weather in one city."""

    city: str
    celsius: int


def build(wire: str, params: dict[str, Any]) -> Any:
    params = dict(params)
    if wire == "anthropic":
        from providers.anthropic import AnthropicModel

        return AnthropicModel(client_args={"base_url": "http://replay.invalid"}, model_id="smollm2",
                              max_tokens=params.pop("max_tokens", 256), params=params or None)
    if wire == "ollama":
        from providers.ollama import OllamaModel

        return OllamaModel("http://replay.invalid", model_id="smollm2", max_tokens=params.pop("max_tokens", None),
                           temperature=params.pop("temperature", None))
    if wire == "mistral":
        from providers.mistral import MistralModel

        return MistralModel("replay", client_args={"server_url": "http://replay.invalid"}, model_id="smollm2",
                            max_tokens=params.pop("max_tokens", None), temperature=params.pop("temperature", None))
    if wire == "writer":
        from providers.writer import WriterModel

        return WriterModel({"api_key": "replay", "base_url": "http://replay.invalid/v1"}, model_id="smollm2",
                           max_tokens=params.pop("max_tokens", None), temperature=params.pop("temperature", None))
    if wire == "llama-api":
        from providers.llamaapi import LlamaAPIModel

        return LlamaAPIModel(client_args={"api_key": "replay", "base_url": "http://replay.invalid/v1"},
                             model_id="smollm2",
                             max_completion_tokens=params.pop("max_tokens", None), temperature=params.pop("temperature", None))
    from providers.bedrock import BedrockModel

    return BedrockModel(endpoint_url="http://replay.invalid", api_key="replay", model_id="smollm2",
                        max_tokens=params.pop("max_tokens", None), temperature=params.pop("temperature", None))


# Outcome per cassette case: a Strands stop reason, or the exception the stream must raise.
COMMON: dict[str, Any] = {
    "text_basic": "end_turn", "text_multibyte_split": "end_turn", "usage_missing": "end_turn",
    "usage_prompt_count_missing": "end_turn",
    "finish_stop": "end_turn", "finish_length": "max_tokens", "finish_content_filter": "content_filtered",
    "finish_null": "end_turn", "finish_unknown": "end_turn", "finish_tool_calls": "tool_use",
    "finish_stop_with_tool_calls": "tool_use", "finish_length_in_tool_call": "max_tokens",
    "finish_pause_turn": "end_turn", "finish_model_context_window_exceeded": "max_tokens",
    "finish_stop_sequence": "stop_sequence", "finish_guardrail_intervened": "guardrail_intervened",
    "guardrail_masked": "guardrail_intervened",
    "finish_malformed_model_output": StreamServerError, "finish_malformed_tool_use": StreamServerError,
    "tool_single": "tool_use", "tool_parallel": "tool_use", "tool_with_ids": "tool_use", "tool_zero_args": "tool_use",
    "tool_split_arguments": "tool_use", "tool_split_multibyte": "tool_use", "tool_result_round_trip": "end_turn",
    "reasoning_content": "end_turn", "reasoning_redacted": "end_turn",
    "error_429": ModelThrottledException, "error_503": ModelThrottledException,
    "error_529_overloaded": ModelThrottledException, "overloaded_mid_stream": ModelThrottledException,
    "throttling_mid_stream": ModelThrottledException,
    "overflow_before_stream": ContextWindowOverflowException, "overflow_mid_stream": ContextWindowOverflowException,
    "overflow_anthropic_wording": ContextWindowOverflowException,
    "overflow_prompt_too_long": ContextWindowOverflowException,
    "model_stream_error": StreamServerError, "finish_model_length": "max_tokens", "finish_error": StreamServerError, "error_model_not_found": ProviderHTTPError,
    "truncated_stream": TruncatedStreamError, "connection_closed": TruncatedStreamError,
    "malformed_line": MalformedStreamError,
    "structured_output": WeatherReport,
}
# Cassette case -> the suite case whose request it answers (wire-only cases reuse a plain one).
REQUEST_OF = {"finish_malformed_tool_use": "tool_single", "tool_with_ids": "tool_single"}


def cassettes() -> list[Any]:
    found = []
    for wire in WIRES:
        for path in sorted((RECORDINGS / wire).glob("*.json")):
            if path.name.startswith("agent_"):
                continue  # multi-turn Agent cassettes: run by the suite's end-to-end and structured-output checks
            found.append(pytest.param(wire, path, id=f"{wire}-{path.stem}"))
    return found


async def _collect(model: Any, case_name: str) -> list[dict[str, Any]]:
    case = CASES.get(REQUEST_OF.get(case_name, case_name), CASES["text_basic"])
    if case_name == "structured_output":
        events = [event async for event in model.structured_output(WeatherReport, list(case.messages))]
        return events
    return [event async for event in model.stream(**case.stream_kwargs())]


@pytest.mark.parametrize(("wire", "path"), cassettes())
def test_cassette_replays_to_expected_outcome(wire: str, path: Path) -> None:
    cassette = load_cassette(path)
    case_name = cassette.case
    assert case_name in COMMON, f"no expected outcome for case {case_name!r}: add it to COMMON"
    expected = COMMON[case_name]
    server = path.stem.split(".")[-1]
    case = CASES.get(REQUEST_OF.get(case_name, case_name), CASES["text_basic"]).for_server(
        server if server in ("vllm", "llamacpp") else None
    )
    model = build(wire, dict(case.params))
    with Replay(cassette) as replay:
        if isinstance(expected, type) and issubclass(expected, Exception):
            with pytest.raises(expected) as raised:
                asyncio.run(_collect(model, case_name))
            if expected in (ModelThrottledException, ContextWindowOverflowException):
                assert raised.value.__cause__ is not None, "the original error must be kept as __cause__"
        elif expected is WeatherReport:
            events = asyncio.run(_collect(model, case_name))
            assert events[-1] == {"output": WeatherReport(city="Tokyo", celsius=21)}
        else:
            events = asyncio.run(_collect(model, case_name))
            summary = validate_events(events)
            stops = [event["messageStop"]["stopReason"] for event in events if "messageStop" in event]
            assert stops == [expected], f"{path.name}: stop reasons {stops}, expected [{expected!r}]"
            assert summary is not None
    assert not replay.mismatches, replay.mismatches
    assert not replay.unplayed(), f"{path.name}: {len(replay.unplayed())} interaction(s) never played"
