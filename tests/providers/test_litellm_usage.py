"""LiteLLM's usage mapping: the cache-write count it keeps apart from OpenAI's fields is reported, not dropped.

The litellm wire holds only recordings (no cache counts in them), so the written openai-chat `usage_cached`
cassette, answered through respx as the suite's replay does, is what LiteLLMModel reads here.
"""

from __future__ import annotations

import httpx
import respx

from conformance.cassette import load_cassette
from conformance.targets import REFERENCE_PROVIDERS
from conformance.wires import get_wire

MESSAGES = [{"role": "user", "content": [{"text": "Replay the cassette."}]}]


async def test_litellm_reports_cache_read_and_write_tokens() -> None:
    cassette = load_cassette(get_wire("openai-chat").cassette_path("usage_cached", "written"))
    recorded = cassette.interactions[0].response
    model = REFERENCE_PROVIDERS["litellm"].build(base_url="http://replay.invalid/v1", model_id="m", api_key="k")
    with respx.mock(assert_all_called=True) as router:
        router.route().mock(return_value=httpx.Response(200, headers=recorded.headers, content=recorded.body))
        events = [event async for event in model.stream(MESSAGES)]
    (usage,) = [event["metadata"]["usage"] for event in events if "metadata" in event]
    assert usage == {"inputTokens": 1313, "outputTokens": 9, "totalTokens": 1322,
                     "cacheReadInputTokens": 1024, "cacheWriteInputTokens": 263}, usage
