"""Faults the simulator injects: on demand (header `x-sim-fault: KIND` or body `"sim_fault": "KIND"`) or at random.

The HTTP faults (429, 503, an HTML page, context overflow) answer instead of the stream; `stall`
and `drop` break a stream after its second chunk (`responses.ResponseWriter.emit`).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from loadtests.sim.profiles import FAULT_KINDS

if TYPE_CHECKING:
    from loadtests.sim.protocol import SimProtocol
    from loadtests.sim.responses import SimStream


def choose_fault(fault_rates: dict[str, float], rng: random.Random, body: dict[str, Any], header: str | None) -> str | None:
    """The fault asked for, or drawn from `fault_rates`; "bad:KIND" for a kind the simulator does not know."""
    fault = header or body.get("sim_fault")
    if fault is None and fault_rates:
        draw = rng.random()
        for kind, prob in fault_rates.items():
            if draw < prob:
                fault = kind
                break
            draw -= prob
    if fault is not None and fault not in FAULT_KINDS:
        return "bad:" + str(fault)
    return fault


def answer_instead(proto: SimProtocol, st: SimStream, max_tokens: int, limit: int) -> bool:
    """Answer with an error (or an HTML page) when the request overflows the context or asked for an HTTP fault."""
    if st.fault == "context_overflow" or st.prompt_tokens + max_tokens > limit:
        shown = st.prompt_tokens if st.fault != "context_overflow" else limit + 1
        proto.send_json(400, {"error": {"message": (
            f"This model's maximum context length is {limit} tokens. However, you requested "
            f"{shown + max_tokens} tokens ({shown} in the messages, {max_tokens} in the completion). "
            "Please reduce the length of the messages or completion."), "type": "BadRequestError", "code": 400}})
        return True
    if st.fault == "429":
        proto.send_json(429, {"error": {"message": "Rate limit exceeded, retry later", "type": "rate_limit_error",
                                        "code": 429}}, extra="Retry-After: 1\r\n")
        return True
    if st.fault == "503":
        proto.send_json(503, {"error": {"message": "Service unavailable: the engine is overloaded",
                                        "type": "ServiceUnavailableError", "code": 503}})
        return True
    if st.fault == "html":
        proto.current = None
        proto.send_raw(200, "text/html", b"<html><head><title>Welcome</title></head><body>It works!</body></html>")
        return True
    return False
