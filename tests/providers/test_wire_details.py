"""Details of the issue-5 providers that the shared checks do not reach: the paused Anthropic turn resent
with its content, Bedrock's SigV4 signing and guardrail masking, configuration keys, missing SDKs."""

from __future__ import annotations

import asyncio
import builtins
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.cases import CASES
from conformance.cassette import load_cassette
from conformance.replay import Replay

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


def _stream(model: Any, case: str = "text_basic") -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return [event async for event in model.stream(**CASES[case].stream_kwargs())]

    return asyncio.run(run())


def test_anthropic_pause_turn_resends_the_paused_content() -> None:
    from providers.anthropic import AnthropicModel

    model = AnthropicModel(client_args={"base_url": "http://replay.invalid"}, model_id="smollm2", max_tokens=24)
    with Replay(load_cassette(RECORDINGS / "anthropic" / "finish_pause_turn.written.json")) as replay:
        events = _stream(model)
    assert len(replay.sent) == 2, "a pause_turn must be resumed with a second request"
    resumed = replay.sent[1].body["messages"][-1]
    assert resumed == {"role": "assistant", "content": [{"type": "text", "text": "Searching"}]}
    text = "".join(event["contentBlockDelta"]["delta"].get("text", "") for event in events if "contentBlockDelta" in event)
    assert text == "Searching done."
    assert [event for event in events if "messageStart" in event] == [{"messageStart": {"role": "assistant"}}]
    (usage,) = [event["metadata"]["usage"] for event in events if "metadata" in event]
    assert usage["outputTokens"] == 18, "usage of both requests is summed"


def test_bedrock_signs_with_sigv4_when_no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from providers.bedrock import BedrockModel

    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="eu-west-1")
    model = BedrockModel(boto_session=session, model_id="smollm2", endpoint_url="http://replay.invalid")
    with Replay(load_cassette(RECORDINGS / "bedrock-converse" / "text_basic.written.json")) as replay:
        _stream(model)
    headers = replay.sent[0].headers
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/bedrock/aws4_request" in headers["authorization"]
    assert "x-amz-date" in headers


def test_bedrock_masked_guardrail_is_not_redacted() -> None:
    from providers.bedrock import BedrockModel

    model = BedrockModel(endpoint_url="http://replay.invalid", api_key="replay", model_id="smollm2")
    with Replay(load_cassette(RECORDINGS / "bedrock-converse" / "guardrail_masked.written.json")):
        events = _stream(model)
    assert not [event for event in events if "redactContent" in event], "ANONYMIZED content is already masked"


@pytest.mark.parametrize(
    "build",
    [
        lambda: __import__("providers").AnthropicModel(model_id="m", max_tokens=1, maxtokens=2),
        lambda: __import__("providers").BedrockModel(model_id="m", api_key="k", temprature=0.1),
        lambda: __import__("providers").OllamaModel("http://h", model_id="m", num_ctx=5),
        lambda: __import__("providers").MistralModel("k", model_id="m", top_k=3),
        lambda: __import__("providers").WriterModel(model_id="m", seed=1),
        lambda: __import__("providers").LlamaAPIModel(model_id="m", max_tokens=5),
    ],
)
def test_unknown_configuration_key_is_refused_by_name(build: Any) -> None:
    with pytest.raises(ValueError, match="maxtokens|temprature|num_ctx|top_k|seed|max_tokens"):
        build()


def test_litellm_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from providers import litellm as module

    real_import = builtins.__import__

    def no_litellm(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "litellm":
            raise ImportError("No module named 'litellm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "litellm", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_litellm)
    with pytest.raises(ImportError, match=r"provider-conformance\[litellm\]"):
        module.LiteLLMModel(model_id="hosted_vllm/smollm2")
