"""Server profiles of the embedded simulator: the timing and capacity model of each real server kind.

A profile is plain data so that the Locust side, the simulator process and the benchmarks agree on
one set of constants (the simulator also reports the timings it actually produced, per request).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

FAULT_KINDS = ("429", "503", "context_overflow", "html", "slow_headers", "stall", "drop", "pings", "empty_choices",
               "bad_utf8", "garbage_json", "oversize", "tool_args_not_json", "finish_contradicts", "usage_off")


@dataclass(frozen=True)
class SimProfile:
    name: str
    model_id: str = "sim-model"
    ttft_ms: float = 50.0  # base time to first token (prefill) of an idle server
    ttft_spread_ms: float = 0.0
    itl_ms: float = 10.0  # decode time per token
    itl_spread_ms: float = 1.0
    max_num_seqs: int = 256  # concurrent sequences; the rest wait in a FIFO queue
    batch_slowdown: float = 0.0  # ITL grows by this fraction at a full batch (linear in load)
    max_model_len: int = 4096
    tokens_per_chunk: int = 1  # text tokens merged into one SSE message
    tool_tokens_per_chunk: int = 3  # tool-call parsers merge several tokens per message
    # Neuron: prompts are padded to the next prefill bucket; each bucket is compiled on first use.
    prefill_buckets: tuple[int, ...] = ()
    prefill_ms_per_1k_tokens: float = 0.0
    batch_buckets: tuple[int, ...] = ()
    first_hit_ms: float = 0.0  # compile delay the first time a prefill or batch bucket is used
    fault_rates: dict[str, float] = field(default_factory=dict)
    stall_s: float = 30.0
    truth: bool = True  # append a `: sim-truth {...}` SSE comment with the injected timings
    server_kind: str = "vllm"  # wire quirks: "vllm" or "llamacpp"
    apis: tuple[str, ...] = ("chat", "responses", "messages")  # the generation APIs served; the others answer 404

    def with_overrides(self, **overrides: object) -> SimProfile:
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown simulator setting(s) {sorted(unknown)}; valid: {[f.name for f in dataclasses.fields(self)]}")
        return dataclasses.replace(self, **overrides)


PROFILES: dict[str, SimProfile] = {
    "vllm": SimProfile(name="vllm", model_id="sim-model", ttft_ms=50.0, itl_ms=10.0, itl_spread_ms=1.0,
                       max_num_seqs=256, batch_slowdown=0.1, max_model_len=4096),
    "neuron": SimProfile(name="neuron", model_id="sim-model", ttft_ms=30.0, itl_ms=12.0, itl_spread_ms=1.5,
                         max_num_seqs=8, batch_slowdown=0.3, max_model_len=2048,
                         prefill_buckets=(128, 256, 512, 1024, 2048), prefill_ms_per_1k_tokens=60.0,
                         batch_buckets=(1, 2, 4, 8), first_hit_ms=400.0),
    "llamacpp": SimProfile(name="llamacpp", model_id="sim-model", ttft_ms=35.0, itl_ms=8.0, itl_spread_ms=1.0,
                           max_num_seqs=4, batch_slowdown=0.2, max_model_len=4096, server_kind="llamacpp"),
}


def parse_fault_rates(text: str) -> dict[str, float]:
    """Parse `429=0.05,stall=0.01` into {kind: probability}; raise ValueError naming the bad part."""
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, sep, value = part.partition("=")
        if not sep or kind not in FAULT_KINDS:
            raise ValueError(f"bad fault rate {part!r}: expected KIND=PROBABILITY with KIND one of {FAULT_KINDS}")
        try:
            prob = float(value)
        except ValueError:
            raise ValueError(f"bad fault rate {part!r}: {value!r} is not a number") from None
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"bad fault rate {part!r}: probability must be within [0, 1], got {prob}")
        rates[kind] = prob
    if sum(rates.values()) > 1.0:
        raise ValueError(f"fault rates {text!r} add up to more than 1")
    return rates


def bucket_for(value: int, buckets: tuple[int, ...]) -> int | None:
    """Smallest bucket holding `value`, or None when it exceeds the largest."""
    for bucket in buckets:
        if value <= bucket:
            return bucket
    return None
