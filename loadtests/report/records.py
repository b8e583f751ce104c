"""One measured request as the report and records.jsonl hold it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestRecord:
    """One request, as written to records.jsonl (times are Unix seconds, durations ms)."""

    workload: str
    ok: bool
    worker: int
    t_intended: float | None  # open loop: when the schedule said to send
    t_send: float
    t_end: float
    stage: int | None = None
    users: int = 0
    error_kind: str | None = None
    error: str | None = None
    status: int | None = None
    backoff_s: float | None = None  # the user waited this long after this answer (429/503, Retry-After)
    ttft_ms: float | None = None
    e2e_ms: float | None = None
    tpot_ms: float | None = None
    send_lag_ms: float | None = None
    intended_e2e_ms: float | None = None
    itl_chunk_p50_ms: float | None = None
    itl_chunk_max_ms: float | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    chunks: int = 0
    events: int = 0
    token_source: str | None = None
    finish_reason: str | None = None
    valid: bool | None = None  # tool call or structured output checked against its schema
    invalid_reason: str | None = None
    conformance_checked: bool | None = None  # sampled and judged by the conformance suite's rules
    conformance_skipped: bool | None = None  # sampled, but not judged: the worker was too far behind
    nonconformant: list[str] | None = None  # the rules it broke (then error_kind is nonconformant)
    slo_ok: bool | None = None
    warmup: bool = False
    bucket: int | None = None
    batch: int | None = None
    first_hit: bool | None = None
    truth_ttft_ms: float | None = None
    ttft_err_ms: float | None = None
    itl_err_p99_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # not dataclasses.asdict: it deep-copies, and this runs once per request on the load generator
        return {k: v for k, v in self.__dict__.items() if v is not None and v != {}}


def itl_per_token(rec: dict[str, Any]) -> float | None:
    """A request's median gap between output chunks, per token (None when it streamed no second chunk).

    records.jsonl keeps each request's median chunk gap, not every gap; a chunk carrying k tokens
    (tool-call parsers, merged outputs) stands for k intervals, so the gap is divided by the
    request's tokens per chunk.
    """
    gap, chunks, tokens = rec.get("itl_chunk_p50_ms"), rec.get("chunks"), rec.get("output_tokens")
    if gap is None:
        return None
    if chunks and tokens and tokens >= chunks:
        return gap * chunks / tokens
    return gap
