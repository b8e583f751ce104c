"""Faults the simulator injects: on demand (header `x-sim-fault: KIND` or body `"sim_fault": "KIND"`) or at random.

Each is a way real servers have broken a load test's verdict. The HTTP faults (429, 503, an HTML
page, context overflow) and `slow_headers` (no answer at all) replace the stream; the stream faults
break it after its second chunk (`responses.ResponseWriter.emit` calls `break_stream`): `stall`
(silence), `drop` (reset), `pings` and `empty_choices` (keep-alives without content), `bad_utf8`,
`garbage_json` and `oversize` (one bad event; on the Responses and Messages APIs `empty_choices` is
their own event without output). Whatever a fault does, the connection is cut after
the profile's `stall_s` at the latest. The content faults leave the stream whole and its content wrong,
as a tool-call parser or guided decoding under continuous batching does, for the load run's conformance
rules to catch: `tool_args_not_json` (a tool call's arguments lose their closing brace),
`finish_contradicts` (`stop` after a tool call, `tool_calls` after text), `usage_off` (the final usage
counts `USAGE_OFF_TOKENS` more output tokens than were streamed).
"""

from __future__ import annotations

import asyncio
import functools
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


USAGE_OFF_TOKENS = 3


def tool_arguments(arguments: str, fault: str | None) -> str:
    """A planned tool call's arguments, cut short of JSON under `tool_args_not_json`."""
    return arguments[:-1] if fault == "tool_args_not_json" else arguments


def finish_reason(planned: str, kind: str, fault: str | None) -> str:
    """The finish reason sent: the planned one, or under `finish_contradicts` one the content contradicts."""
    if fault != "finish_contradicts":
        return planned
    return "stop" if kind == "tool" else "tool_calls"


def reported_output_tokens(streamed: int, fault: str | None) -> int:
    """The output tokens the final usage reports: those streamed, or more under `usage_off`."""
    return streamed + USAGE_OFF_TOKENS if fault == "usage_off" else streamed


STREAM_FAULTS = frozenset({"stall", "drop", "pings", "empty_choices", "bad_utf8", "garbage_json", "oversize"})
_KEEP_ALIVES = {"pings": b": ping\n\n", "empty_choices": b'data: {"choices":[]}\n\n'}
_KEEP_ALIVE_EVERY_S = 0.1


@functools.cache
def _bad_event(kind: str) -> bytes:
    if kind == "bad_utf8":
        return b'data: {"choices":[{"index":0,"delta":{"content":"\xc3\x28"}}]}\n\n'
    if kind == "garbage_json":
        return b"data: {not json\n\n"
    return b'data: {"choices":[{"index":0,"delta":{"content":"' + b"x" * (8 << 20) + b'"}}]}\n\n'  # oversize


def break_stream(st: SimStream, loop: asyncio.AbstractEventLoop, stall_s: float) -> None:
    """Break st's stream, after its second chunk, the way its fault says."""
    transport = st.conn.transport
    if st.fault == "drop":
        transport.abort()
        return
    if st.fault in ("bad_utf8", "garbage_json", "oversize"):
        st.conn.write_sse(_bad_event(st.fault))
    elif st.fault in _KEEP_ALIVES:
        frame = st.api.keep_alive if st.api is not None and st.fault == "empty_choices" else _KEEP_ALIVES[st.fault]
        _keep_alive(st.conn, frame, loop, loop.time() + stall_s)
    st.handle = loop.call_later(stall_s, transport.abort)


def _keep_alive(conn: SimProtocol, frame: bytes, loop: asyncio.AbstractEventLoop, until: float) -> None:
    if conn.transport.is_closing() or loop.time() >= until:
        return
    conn.write_sse(frame)
    loop.call_later(_KEEP_ALIVE_EVERY_S, _keep_alive, conn, frame, loop, until)


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
    if st.fault == "slow_headers":  # not even a status line until the connection is cut
        proto.current = None
        asyncio.get_running_loop().call_later(proto.server.profile.stall_s, proto.transport.abort)
        return True
    if st.fault == "html":
        proto.current = None
        proto.send_raw(200, "text/html", b"<html><head><title>Welcome</title></head><body>It works!</body></html>")
        return True
    return False
