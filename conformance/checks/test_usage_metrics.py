"""Usage and metrics: token counts from the server's usage chunk, latency and time to first byte measured."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.family("usage_metrics")


@pytest.mark.cases("text_basic", "tool_single", "reasoning_field", "usage_cached")
@pytest.mark.asyncio
async def test_usage_from_usage_chunk(conformance_run):
    """metadata.usage carries the server's prompt/completion/total tokens, unchanged.

    With a prompt cache, inputTokens may be the whole prompt or the uncached part with the cached
    share in cacheRead/WriteInputTokens (Strands' providers do both); totalTokens counts it all.

    Severity: must -- token counts that differ from the server's are wrong data (cost, limits).
    """
    summary = await conformance_run.valid_stream()
    expected = conformance_run.expected()
    assert expected.usage, f"the server sent no usage ({conformance_run.where()})"
    # Input and output must differ in the cassette, or a provider swapping them would pass.
    assert expected.usage["inputTokens"] != expected.usage["outputTokens"], (
        f"{conformance_run.where()} cannot tell input from output tokens: both {expected.usage['inputTokens']}")
    readings = [expected.usage, *expected.usage_also]
    matched = summary.usage is not None and any(
        {key: summary.usage.get(key) for key in reading} == reading for reading in readings)
    also = "".join(f" or {reading}" for reading in expected.usage_also)
    assert matched, f"usage {summary.usage}, the wire said {expected.usage}{also}"


@pytest.mark.cases("usage_cached")
@pytest.mark.asyncio
async def test_cache_tokens_reported(conformance_run):
    """The cache shares the server reports (Anthropic's cache_read/cache_creation_input_tokens, Bedrock's
    cacheRead/WriteInputTokens, OpenAI's prompt_tokens_details.cached_tokens, the LiteLLM proxy's
    cache_creation_input_tokens) reach metadata.usage as cacheReadInputTokens and cacheWriteInputTokens.

    Severity: must -- lost cache counts are lost data: cost accounting is wrong.
    """
    summary = await conformance_run.valid_stream()
    expected = conformance_run.expected()
    cached = {key: value for reading in (expected.usage or {}, *expected.usage_also)
              for key, value in reading.items() if key.startswith("cache")}
    assert cached, f"the server reported no cache counts ({conformance_run.where()})"
    got = {key: (summary.usage or {}).get(key) for key in cached}
    assert got == cached, f"cache counts {got}, the wire said {cached} (usage {summary.usage})"


@pytest.mark.cases("text_basic", "tool_single")
@pytest.mark.asyncio
async def test_latency_and_time_to_first_byte(conformance_run):
    """metadata.metrics has latencyMs and timeToFirstByteMs, with first byte <= latency.

    Severity: should -- observability: the loop only reports these metrics.
    """
    summary = await conformance_run.valid_stream()
    metrics = summary.metrics or {}
    assert "latencyMs" in metrics and "timeToFirstByteMs" in metrics, f"metrics {metrics}"
    assert 0 <= metrics["timeToFirstByteMs"] <= metrics["latencyMs"], f"metrics {metrics}"


@pytest.mark.cases("usage_missing")
@pytest.mark.asyncio
async def test_missing_usage_is_not_invented(conformance_run):
    """A server that sends no usage yields a valid stream whose usage, if reported, is zero (not made up).

    Severity: must -- invented token counts are wrong data.
    """
    summary = await conformance_run.valid_stream()
    if summary.usage is not None:
        assert summary.usage["inputTokens"] == summary.usage["outputTokens"] == 0, f"usage {summary.usage}"
