"""Stop reasons: every finish reason of the wire (null and unknown included) maps as the wire's table says."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.family("stop_reasons")


@pytest.mark.cases("stop_reasons")
@pytest.mark.asyncio
async def test_stop_reason(conformance_run):
    """messageStop carries the Strands stop reason the wire's finish reason maps to.

    Severity: must -- the loop runs tools only on tool_use and stops on end_turn; a wrong reason skips tools or loops.
    """
    expected_reason = conformance_run.wire.stop_reasons[conformance_run.case.name]
    summary = await conformance_run.valid_stream()
    if conformance_run.live:
        # Judged in Strands terms: each wire has its own word for the same ending (stop, end_turn).
        actual = conformance_run.expected().finish_reason
        meant = conformance_run.wire.strands_stop_reason(actual)
        if meant != expected_reason:
            pytest.xfail(f"live on {conformance_run.server}: the 135M model ended with finish reason {actual!r} "
                         f"({meant!r} in Strands terms), not {expected_reason!r}, so this row cannot be judged")
    assert summary.stop_reason == expected_reason, (
        f"stopReason {summary.stop_reason!r}, expected {expected_reason!r} for case {conformance_run.case.name} "
        f"({conformance_run.where()})"
    )
