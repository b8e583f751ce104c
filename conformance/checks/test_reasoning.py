"""Reasoning: both wire spellings (`reasoning_content`, `reasoning`) stream as reasoningContent blocks."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.family("reasoning")


@pytest.mark.cases("reasoning_content", "reasoning_field")
@pytest.mark.asyncio
async def test_reasoning_streamed(conformance_run):
    """The reasoning text arrives as reasoningContent deltas in its own block, before the answer text.

    Severity: must -- reasoning the server sent and the provider drops is lost data.
    """
    summary = await conformance_run.valid_stream()
    expected = conformance_run.expected()
    assert expected.reasoning, f"the cassette carries no reasoning ({conformance_run.where()})"
    assert summary.reasoning == expected.reasoning, f"reasoning {summary.reasoning!r}, wire {expected.reasoning!r}"
    assert summary.text == expected.text, f"text {summary.text!r}, wire {expected.text!r}"
    kinds = [next(iter(block)) for block in summary.blocks]
    assert kinds.index("reasoning") < kinds.index("text"), f"block order {kinds}"
