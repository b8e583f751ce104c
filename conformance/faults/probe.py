"""Drive one provider against one fault, bounded in time, and keep what happened.

Why it exists: the robustness checks and the timing benchmark ask the same question (what does this
provider do with this hostile answer, and how long does it take to end?), so it is answered once.
`probe(entry, wire, fault, server)` builds the provider with short timeouts (its declared
`TimeoutOptions`), streams a case against the `FaultServer` playing the fault in the wire's framing,
and returns a `Probe`: the events, the exception, the time to the end, how much the server got to
send, and (for the oversize event) the peak of Python memory while it ran.

The stream runs on its own event loop in a thread of its own, waited for at most `Probe.bound`: a
provider that hangs (even one blocking its event loop) is reported as not ending, and the fault
server ends its script, so neither the check nor the suite waits on it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.cases import CASES
from conformance.faults.server import FAULT_LIFETIME_S, Emit, FaultScript, FaultServer, Served
from conformance.faults.wire_bytes import WireFaults, wire_faults
from conformance.targets import ProviderEntry
from conformance.wires import get_wire

__all__ = [
    "CONTENT_FAULTS", "CONTENT_TIMEOUT_S", "FAULTS", "MARGIN_S", "MEMORY_CEILING", "OUTER_BOUND_S", "OVERSIZE_BYTES",
    "SHORT_TIMEOUT_S", "TIMED_FAULTS", "Probe", "fault_script", "probe",
]

#: The timeouts the suite gives a provider for the faults that only time can end (stalls, keep-alives).
SHORT_TIMEOUT_S = 0.1
#: How much later than its timeout a provider may end: the event loop, the thread, a loaded machine (two
#: cores shared by several test runs have shown a second of delay).
MARGIN_S = 2.0
#: The timeouts for the faults whose content must end the stream; long enough never to be the reason
#: (reading 8 MiB of one event, which is no progress, takes a second or two on a busy machine).
CONTENT_TIMEOUT_S = 4.0
#: How long a check waits for a provider that declares no timeouts, or for a content fault.
OUTER_BOUND_S = 6.0
#: Keep-alives come this often: well inside any progress deadline, so only the deadline can end them.
KEEPALIVE_EVERY_S = 0.05
#: The oversize event: this long unless the provider stops reading first.
OVERSIZE_BYTES = 64 * 1024 * 1024
#: A provider that bounds its events keeps well under this much Python memory while refusing one.
MEMORY_CEILING = 32 * 1024 * 1024
_FILL = b"x" * (256 * 1024)
# How long past its bound a stream's thread is waited for (its own wait ended at the bound).
_LATE_S = 1.0

TIMED_FAULTS = ("stall_after_headers", "stall_mid_stream", "pings", "empty_chunks")
CONTENT_FAULTS = ("truncated_tool_arguments", "invalid_utf8", "oversize_event")
FAULTS = (*TIMED_FAULTS, *CONTENT_FAULTS)


def _send(*parts: bytes) -> Callable[[Emit, threading.Event], None]:
    def play(emit: Emit, stop: threading.Event) -> None:
        for part in parts:
            emit(part)

    return play


def _then_stall(*parts: bytes) -> Callable[[Emit, threading.Event], None]:
    def play(emit: Emit, stop: threading.Event) -> None:
        for part in parts:
            emit(part)
        stop.wait(FAULT_LIFETIME_S)

    return play


def _then_repeat(keepalive: bytes, *parts: bytes) -> Callable[[Emit, threading.Event], None]:
    def play(emit: Emit, stop: threading.Event) -> None:
        for part in parts:
            emit(part)
        until = time.monotonic() + FAULT_LIFETIME_S
        while not stop.wait(KEEPALIVE_EVERY_S) and time.monotonic() < until:
            emit(keepalive)

    return play


def _endless_event(head: bytes) -> Callable[[Emit, threading.Event], None]:
    def play(emit: Emit, stop: threading.Event) -> None:
        emit(head)
        for _ in range(OVERSIZE_BYTES // len(_FILL)):
            if stop.is_set():
                return
            emit(_FILL)

    return play


def fault_script(wire: str, fault: str) -> FaultScript | str:
    """The fault in `wire`'s framing, or why the wire cannot carry it."""
    faults: WireFaults = wire_faults(wire)
    if fault in faults.not_expressible:
        return faults.not_expressible[fault]
    hello = (*faults.opening, faults.text("Hello"))
    kind = faults.content_type
    if fault == "stall_after_headers":
        return FaultScript(fault, kind, _then_stall(), complete=False)
    if fault == "stall_mid_stream":
        return FaultScript(fault, kind, _then_stall(*hello), complete=False)
    if fault == "pings" and faults.ping is not None:
        return FaultScript(fault, kind, _then_repeat(faults.ping, *hello), complete=False)
    if fault == "empty_chunks":
        return FaultScript(fault, kind, _then_repeat(faults.empty, *hello), complete=False)
    if fault == "truncated_tool_arguments" and faults.truncated_tool is not None:
        return FaultScript(fault, kind, _send(*faults.truncated_tool))
    if fault == "invalid_utf8":
        return FaultScript(fault, kind, _send(*hello, faults.text_with_bad_bytes(), *faults.closing))
    if fault == "oversize_event":
        head = b"".join(faults.opening) + faults.head_of_endless_text(OVERSIZE_BYTES)
        return FaultScript(fault, kind, _endless_event(head))
    raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")


@dataclass
class Probe:
    """One provider against one fault: what it yielded or raised, and when it ended."""

    provider: str
    wire: str
    fault: str
    options: str | None  # the timeout options the suite set (None: the provider declares none)
    seconds: float  # the value they were set to
    bound: float  # the longest the check waited
    elapsed: float = 0.0
    ended: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None
    served: Served = field(default_factory=Served)
    peak_memory: int | None = None

    def setting(self) -> str:
        if self.options is None:
            return (f"the provider declares no timeout options (factory.conformance_timeouts), so it ran with its "
                    f"defaults and the check waited its outer bound of {self.bound:g} s")
        return f"{self.options} set to {self.seconds:g} s"

    def outcome(self) -> str:
        if not self.ended:
            return f"did not end within {self.bound:g} s"
        if self.error is not None:
            return f"raised {type(self.error).__name__} after {self.elapsed:.2f} s: {str(self.error)[:300]}"
        return f"ended normally after {self.elapsed:.2f} s with {len(self.events)} events"

    def texts(self) -> list[str]:
        return [event["contentBlockDelta"]["delta"]["text"] for event in self.events
                if "text" in event.get("contentBlockDelta", {}).get("delta", {})]

    def tool_inputs(self) -> list[Any]:
        return [event["contentBlockDelta"]["delta"]["toolUse"].get("input") for event in self.events
                if "toolUse" in event.get("contentBlockDelta", {}).get("delta", {})]

    def stop_reason(self) -> str | None:
        stops = [event["messageStop"].get("stopReason") for event in self.events if "messageStop" in event]
        return stops[-1] if stops else None


def _build(entry: ProviderEntry, base_url: str, seconds: float) -> Any:
    config = dict(entry.params_to_config({}))
    if entry.timeouts is not None:
        config.update(entry.timeouts.config(seconds))
    return entry.factory(base_url=base_url, model_id="smollm2", api_key="EMPTY", **config)


async def _stream(model: Any, kwargs: dict[str, Any], result: Probe) -> None:
    events = model.stream(**kwargs)
    try:
        async for event in events:
            result.events.append(event)
    finally:
        try:
            await asyncio.wait_for(events.aclose(), 1.0)
        except BaseException:  # noqa: BLE001 - closing a stream that broke: its own error is already kept
            pass


def _run(model: Any, kwargs: dict[str, Any], result: Probe, memory: bool) -> None:
    """The stream on a fresh event loop, waited for at most `result.bound`; fills `result`."""
    if memory:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        asyncio.run(asyncio.wait_for(_stream(model, kwargs, result), result.bound))
        result.ended = True
    except TimeoutError:
        result.ended = False
    except Exception as exc:  # the provider's error is the evidence, judged by the check
        result.error, result.ended = exc, True
    finally:
        result.elapsed = time.perf_counter() - started
        if memory:
            result.peak_memory = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()


def _run_bounded(model: Any, kwargs: dict[str, Any], result: Probe, memory: bool = False) -> None:
    """`_run` in a thread of its own, joined shortly after the bound: a provider blocking its loop is left behind.

    The thread fills a copy, taken over only if it finished in time: a provider left behind ends later, when
    the fault server lets go of its stalled answer, and must not turn the verdict into an error in time."""
    attempt = dataclasses.replace(result, events=[])
    runner = threading.Thread(target=_run, args=(model, kwargs, attempt, memory),
                              name=f"robustness-{result.provider}-{result.fault}", daemon=True)
    runner.start()
    runner.join(result.bound + _LATE_S)
    if runner.is_alive():
        result.events = list(attempt.events)
        result.ended, result.elapsed = False, result.bound + _LATE_S
        return
    for name in ("elapsed", "ended", "events", "error", "peak_memory"):
        setattr(result, name, getattr(attempt, name))


_WARMED: set[tuple[str, str]] = set()


def _warm_up(entry: ProviderEntry, wire: str, server: FaultServer) -> None:
    """One well-formed answer per provider and wire, untimed: what a provider imports or builds on its first
    call (LiteLLM: seconds on a busy machine) is not the time it takes to notice a fault."""
    if (entry.name, wire) in _WARMED:
        return
    _WARMED.add((entry.name, wire))
    faults = wire_faults(wire)
    script = FaultScript("warm_up", faults.content_type, _send(*faults.opening, faults.text("Hello"), *faults.closing))
    result = Probe(entry.name, wire, "warm_up", None, CONTENT_TIMEOUT_S, CONTENT_TIMEOUT_S)
    model = _build(entry, get_wire(wire).api_base(server.url), CONTENT_TIMEOUT_S)
    with server.serve(script):
        _run_bounded(model, CASES["text_basic"].stream_kwargs(), result)


def probe(entry: ProviderEntry, wire: str, fault: str, server: FaultServer) -> Probe:
    """Stream `fault` (in `wire`'s framing) to the provider of `entry`; never waits much past the bound."""
    script = fault_script(wire, fault)
    if isinstance(script, str):
        raise ValueError(f"wire {wire} cannot carry fault {fault}: {script}")
    seconds = SHORT_TIMEOUT_S if fault in TIMED_FAULTS else CONTENT_TIMEOUT_S
    declared = entry.timeouts
    bound = seconds + MARGIN_S if declared is not None and fault in TIMED_FAULTS else OUTER_BOUND_S
    result = Probe(entry.name, wire, fault, declared.names if declared else None, seconds, bound)
    case = CASES["tool_single" if fault == "truncated_tool_arguments" else "text_basic"]
    _warm_up(entry, wire, server)
    model = _build(entry, get_wire(wire).api_base(server.url), seconds)
    with server.serve(script) as served:
        result.served = served
        _run_bounded(model, case.stream_kwargs(), result, memory=fault == "oversize_event")
    served.done.wait(1.0)  # the server has noted how far it got (the provider's close reaches it first)
    return result
