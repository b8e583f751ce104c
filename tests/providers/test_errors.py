"""providers/errors.py: the one home of the context-overflow wordings."""

from __future__ import annotations

import pytest

from providers.errors import CONTEXT_OVERFLOW_MARKERS, VENDOR_OVERFLOW_MARKERS, is_context_overflow, overflow_markers


@pytest.mark.parametrize(
    ("vendor", "text"),
    [
        ("anthropic", "prompt is too long: 210000 tokens > 200000 maximum"),
        ("bedrock", "Input is too long for requested model."),
        ("ollama", "the input length exceeds the context length"),
        ("mistral", "Prompt contains 40000 tokens, too large for model with 32768 maximum context length"),
        ("writer", "Input is longer than the model's context length"),
        ("llamaapi", "Your request would exceed context limit"),
        ("llamacpp", "failed to find free space in the KV cache"),
        (None, "This model's maximum context length is 2048 tokens"),
    ],
)
def test_each_vendor_wording_is_overflow_for_that_vendor_and_for_an_unknown_one(vendor, text):
    assert is_context_overflow(text, vendor)
    assert is_context_overflow(text)


def test_vendor_markers_extend_the_shared_ones():
    for vendor, extra in VENDOR_OVERFLOW_MARKERS.items():
        assert overflow_markers(vendor) == (*CONTEXT_OVERFLOW_MARKERS, *extra)


def test_llamacpp_broad_words_match_only_when_the_server_is_known():
    text = "no free slot available"
    assert is_context_overflow(text, "llamacpp")
    assert not is_context_overflow(text)


def test_an_ordinary_error_is_not_overflow():
    assert not is_context_overflow("invalid api key", "anthropic")
    assert not is_context_overflow("invalid api key")
