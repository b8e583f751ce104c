"""Robustness: a hostile or broken server never hangs the provider and never gets garbage past it.

Every check serves one fault from the suite's fault server (a real socket on 127.0.0.1, so timeouts
are the provider's own) in the framing of the provider's wire, with the provider built with short
timeouts through the options it declares (`TimeoutOptions`: a reference provider's entry, a
factory's `conformance_timeouts`). A provider that declares none runs with its defaults and the
check waits its outer bound instead, and says so. No check waits more than a few seconds: the
stream runs in a thread of its own and the fault ends by itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from conformance.evidence import RUN_RECORD_KEY, RunRecord
from conformance.faults.probe import MARGIN_S, MEMORY_CEILING, OVERSIZE_BYTES, Probe, fault_script, probe
from conformance.faults.server import FaultServer
from conformance.faults.wire_bytes import BAD_UTF8, TRUNCATED_ARGUMENTS
from conformance.plugin import SETTINGS_KEY, Cell

pytestmark = [pytest.mark.family("robustness"), pytest.mark.cases()]

MIB = 1024 * 1024


@pytest.fixture(scope="session")
def conformance_fault_server() -> Iterator[FaultServer]:
    """The session's fault server (127.0.0.1, a free port), started when a robustness check first runs."""
    with FaultServer() as server:
        yield server


@pytest.fixture
def robustness(request: pytest.FixtureRequest, conformance_cell: Cell,
               conformance_fault_server: FaultServer) -> Callable[[str], Probe]:
    """`robustness(fault)`: the cell's provider against `fault`; skips when its wire cannot carry it."""
    settings = request.config.stash[SETTINGS_KEY]
    entry = next(entry for entry in settings.providers if entry.name == conformance_cell.provider)
    wire = settings.wire_for(entry.name)
    doc = (request.function.__doc__ or "").strip()
    record = RunRecord(provider=entry.name, wire=wire.name, family="robustness", check=request.node.name,
                       title=doc.splitlines()[0] if doc else request.function.__name__, description=doc)
    request.node.stash[RUN_RECORD_KEY] = record

    def run(fault: str) -> Probe:
        script = fault_script(wire.name, fault)
        if isinstance(script, str):
            pytest.skip(f"wire {wire.name} cannot carry this fault: {script}")
        result = probe(entry, wire.name, fault, conformance_fault_server)
        record.events = json.loads(json.dumps(result.events, default=repr))
        return result

    return run


def _ended_with_an_error(result: Probe) -> None:
    assert result.ended, f"{result.provider}: {result.outcome()} ({result.setting()})"
    stops = [event for event in result.events if "messageStop" in event]
    assert result.error is not None, (
        f"{result.provider}: {result.outcome()}, stopReason {result.stop_reason()!r}: a broken answer was passed on "
        f"as a finished one ({result.setting()})")
    assert not stops, f"{result.provider}: messageStop {stops} emitted before the error ({result.setting()})"


def _ended_in_time(result: Probe) -> None:
    _ended_with_an_error(result)
    if result.options is not None:
        limit = result.seconds + MARGIN_S
        assert result.elapsed <= limit, (
            f"{result.provider}: {result.outcome()}; expected within {limit:g} s ({result.setting()}, "
            f"plus a margin of {MARGIN_S:g} s)")


@pytest.mark.parametrize("fault", ["stall_after_headers", "stall_mid_stream"])
def test_stall_raises_within_the_timeout(robustness: Callable[[str], Probe], fault: str) -> None:
    """A server that stops sending (right after the headers, or in the middle of the answer) ends the stream
    with an error within the provider's read timeout plus a small margin.

    Severity: must -- a stalled server hangs the agent loop forever.
    """
    _ended_in_time(robustness(fault))


@pytest.mark.parametrize("fault", ["pings", "empty_chunks"])
def test_keepalives_end_within_the_progress_deadline(robustness: Callable[[str], Probe], fault: str) -> None:
    """A server that keeps the connection busy without content (keep-alive comments or ping events, events
    with empty content) ends the stream with an error within the progress deadline plus a small margin.

    Severity: must -- a server that only pings hangs the agent loop forever.
    """
    _ended_in_time(robustness(fault))


def test_truncated_tool_arguments_raise(robustness: Callable[[str], Probe]) -> None:
    """A tool call whose arguments never close, followed by a tool-call finish, raises: the agent never runs
    the tool with `{}` or with the broken arguments.

    Severity: must -- the agent runs a tool with arguments the model never sent.
    """
    result = robustness("truncated_tool_arguments")
    assert result.ended, f"{result.provider}: {result.outcome()} ({result.setting()})"
    assert result.error is not None, (
        f"{result.provider}: the arguments {TRUNCATED_ARGUMENTS!r} never closed, yet the stream ended normally "
        f"(stopReason {result.stop_reason()!r}, tool input deltas {result.tool_inputs()}): an agent would run the "
        "tool with {} or garbage")
    _ended_with_an_error(result)


def test_invalid_utf8_is_not_passed_on_as_text(robustness: Callable[[str], Probe]) -> None:
    """Bytes that are not UTF-8 inside a text event raise (or at the very least never reach the agent as
    U+FFFD, text the server did not send).

    Severity: must -- the agent is handed text the server did not send.
    """
    result = robustness("invalid_utf8")
    assert result.ended, f"{result.provider}: {result.outcome()} ({result.setting()})"
    replaced = [text for text in result.texts() if "\ufffd" in text]
    assert result.error is not None or not replaced, (
        f"{result.provider}: the bytes {BAD_UTF8!r} were passed on as the text {replaced!r} (U+FFFD), silently")


def test_oversize_event_raises_with_bounded_memory(robustness: Callable[[str], Probe]) -> None:
    """An event that never ends (a 64 MiB line or frame) raises once the provider's event bound is passed,
    before the server has sent it all, and the provider's memory stays bounded meanwhile.

    Severity: must -- a hostile or broken server exhausts the agent's memory or hangs it.
    """
    result = robustness("oversize_event")
    _ended_with_an_error(result)
    sent, peak = result.served.bytes_sent / MIB, (result.peak_memory or 0) / MIB
    assert result.served.bytes_sent < OVERSIZE_BYTES, (
        f"{result.provider}: read the whole {OVERSIZE_BYTES // MIB} MiB event before it {result.outcome()}: "
        "no bound on one event")
    assert (result.peak_memory or 0) < MEMORY_CEILING, (
        f"{result.provider}: {peak:.0f} MiB of Python memory at peak while refusing the event ({sent:.0f} MiB read), "
        f"over {MEMORY_CEILING // MIB} MiB; {result.outcome()}")
