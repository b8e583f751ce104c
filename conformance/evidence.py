"""What one conformance check saw, kept on the pytest item so reports can show it.

The suite fills a `RunRecord` for every check it runs and stores it in `item.stash[RUN_RECORD_KEY]`;
the report and release-gate plugins read it (matrix rows, Allure labels and attachments on failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

CHECK_FAMILIES = (
    "event_grammar",
    "stop_reasons",
    "tool_calls",
    "structured_output",
    "usage_metrics",
    "reasoning",
    "errors",
    "request_shape",
    "configuration",
    "end_to_end",
    "token_ids",
    "robustness",
    "chunk_boundaries",
    "incremental_delivery",
    "cancellation",
    "concurrency",
)


@dataclass
class RunRecord:
    """One check against one provider: identity for the matrix, evidence for a failure report."""

    provider: str
    wire: str
    family: str
    check: str
    title: str = ""
    description: str = ""
    mode: str = "replay"  # "replay" or "live"
    cassette: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    validator_message: str | None = None


RUN_RECORD_KEY = pytest.StashKey[RunRecord]()
