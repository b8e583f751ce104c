"""LiteLLM decodes the body itself; the rules every wire keeps are applied beneath it, through the real SDK."""

from __future__ import annotations

import httpx
import pytest
import respx

from conformance.written.builders import DONE, chunk, sse
from providers import LiteLLMModel
from providers.errors import InvalidUTF8Error, OversizeEventError

from .wire import collect

URL = "http://litellm-checked.invalid/v1"


def _model(**config: object) -> LiteLLMModel:
    return LiteLLMModel(client_args={"api_base": URL, "api_key": "EMPTY", "custom_llm_provider": "hosted_vllm"},
                        model_id="smollm2", **config)


async def _stream(model: LiteLLMModel, body: bytes) -> list[dict]:
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{URL}/chat/completions").mock(
            return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body))
        return await collect(model)


@pytest.mark.asyncio
async def test_invalid_utf8_raises_instead_of_becoming_replacement_characters() -> None:
    body = sse(chunk({"content": "Hello @@"})).replace(b"@@", b"\x80\xff") + sse(chunk({}, "stop")) + DONE
    with pytest.raises(InvalidUTF8Error, match="not UTF-8 at byte offset"):
        await _stream(_model(), body)


@pytest.mark.asyncio
async def test_a_line_over_max_event_bytes_raises() -> None:
    body = sse(chunk({"content": "x" * 5000})) + sse(chunk({}, "stop")) + DONE
    with pytest.raises(OversizeEventError, match="over 1024 bytes"):
        await _stream(_model(max_event_bytes=1024), body)


@pytest.mark.asyncio
async def test_a_clean_answer_passes_through_unchanged() -> None:
    body = sse(chunk({"content": "Grüße"})) + sse(chunk({}, "stop")) + DONE
    events = await _stream(_model(), body)
    texts = [event["contentBlockDelta"]["delta"].get("text", "") for event in events if "contentBlockDelta" in event]
    assert "".join(texts) == "Grüße"
