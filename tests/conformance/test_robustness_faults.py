"""The robustness family's own machinery: the fault bytes per wire, the fault server, the bounded probe."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from conformance.faults.probe import CONTENT_TIMEOUT_S, FAULTS, MARGIN_S, SHORT_TIMEOUT_S, fault_script, probe
from conformance.faults.server import FaultScript, FaultServer
from conformance.faults.wire_bytes import BAD_UTF8, TRUNCATED_ARGUMENTS, WIRE_FAULTS, wire_faults
from conformance.targets import REFERENCE_PROVIDERS, ProviderEntry, ProviderSelectionError, TimeoutOptions, resolve_provider
from conformance.wires import get_wire


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


def test_every_wire_frames_the_faults() -> None:
    # The reference providers' wires (other tests may register wires of their own meanwhile).
    wires = sorted({entry.wire for entry in REFERENCE_PROVIDERS.values()})
    assert sorted(WIRE_FAULTS) == wires
    for wire in wires:
        for fault in FAULTS:
            script = fault_script(wire, fault)
            assert isinstance(script, (FaultScript, str)), (wire, fault)


@pytest.mark.parametrize("wire", sorted(WIRE_FAULTS))
def test_a_normal_answer_in_the_fault_framing_decodes_as_the_wire(wire: str) -> None:
    faults = wire_faults(wire)
    body = b"".join((*faults.opening, faults.text("Hello"), faults.empty, *faults.closing))
    assert get_wire(wire).decode(body).text == "Hello"


@pytest.mark.parametrize("wire", sorted(WIRE_FAULTS))
def test_the_bad_bytes_are_inside_a_text_event(wire: str) -> None:
    faults = wire_faults(wire)
    bad = faults.text_with_bad_bytes()
    assert BAD_UTF8 in bad
    with pytest.raises(UnicodeDecodeError):
        bad.decode()


@pytest.mark.parametrize("wire", sorted(name for name in WIRE_FAULTS if wire_faults(name).truncated_tool))
def test_the_truncated_call_carries_unclosed_arguments(wire: str) -> None:
    family = get_wire(wire)
    expected = family.decode(b"".join(wire_faults(wire).truncated_tool or ()))
    assert [call.arguments for call in expected.tool_calls] == [TRUNCATED_ARGUMENTS]
    # the finish is a tool-call finish in the wire's own words (Responses: the item type, function_call)
    assert expected.finish_reason in ("tool_calls", "tool_use") or family.finish_words.get(expected.finish_reason) == "tool_use"


def test_the_event_stream_head_states_the_whole_oversize_frame() -> None:
    head = wire_faults("bedrock-converse").head_of_endless_text(64 * 1024 * 1024)
    total, headers = struct.unpack(">II", head[:8])
    assert total == 64 * 1024 * 1024 + len(head) + 4 and headers < len(head)


@pytest.mark.asyncio
async def test_the_server_sends_a_script_in_chunks_and_notes_a_client_that_left(server: FaultServer) -> None:
    script = fault_script("openai-chat", "pings")
    assert isinstance(script, FaultScript)
    with server.serve(script) as served:
        url = server.url + "/v1/chat/completions"
        async with httpx.AsyncClient() as client, client.stream("POST", url) as response:
            assert response.headers["content-type"] == "text/event-stream"
            seen = b""
            async for block in response.aiter_bytes():
                seen += block
                if seen.count(b": ping") >= 2:
                    break
        served.done.wait(3.0)
    assert b'"content": "Hello"' in seen
    assert served.client_closed and not served.finished


def test_a_stall_ends_by_itself_when_the_probe_is_done(server: FaultServer) -> None:
    script = fault_script("ollama", "stall_after_headers")
    assert isinstance(script, FaultScript)
    timeout = httpx.Timeout(10.0, read=0.3)
    with server.serve(script) as served, httpx.stream("POST", server.url + "/api/chat", timeout=timeout) as response:
        with pytest.raises(httpx.ReadTimeout):
            response.read()
    # Well before FAULT_LIFETIME_S: leaving `serve` ended the stall.
    assert served.done.wait(5.0)


class _Hanging:
    """A provider that never ends a stream; `blocking` also freezes its event loop meanwhile."""

    def __init__(self, blocking: bool) -> None:
        self.blocking = blocking

    async def stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        yield {"messageStart": {"role": "assistant"}}
        if self.blocking:
            time.sleep(30.0)
        await asyncio.Event().wait()


@pytest.mark.parametrize("blocking", [False, True], ids=["awaits", "blocks-its-loop"])
def test_a_hanging_provider_is_reported_within_the_bound(server: FaultServer, blocking: bool) -> None:
    options = TimeoutOptions("timeout", lambda seconds: {})
    entry = ProviderEntry("hangs", lambda **_: _Hanging(blocking), (), timeouts=options)
    started = time.monotonic()
    result = probe(entry, "openai-chat", "stall_mid_stream", server)
    assert not result.ended and result.outcome() == f"did not end within {SHORT_TIMEOUT_S + MARGIN_S:g} s"
    # The warm-up (bounded too) and the probe, each given up on a second after its bound; never the 30 s.
    assert time.monotonic() - started < CONTENT_TIMEOUT_S + SHORT_TIMEOUT_S + MARGIN_S + 10.0
    assert "timeout set to" in result.setting()


def test_a_provider_without_declared_timeouts_is_waited_for_the_outer_bound(server: FaultServer) -> None:
    entry = ProviderEntry("undeclared", lambda **_: _Hanging(False), ())
    result = probe(entry, "openai-chat", "pings", server)
    assert not result.ended and "declares no timeout options" in result.setting()


def conformance_timed_factory(**config: Any) -> Any:
    return config


conformance_timed_factory.conformance_timeouts = TimeoutOptions(  # type: ignore[attr-defined]
    "client_args timeout", lambda seconds: {"client_args": {"timeout": seconds}})


def wrongly_declared_factory(**config: Any) -> Any:
    return config


wrongly_declared_factory.conformance_timeouts = {"timeout": 1}  # type: ignore[attr-defined]


def test_a_factory_declares_its_timeouts_by_attribute() -> None:
    entry = resolve_provider(f"{__name__}:conformance_timed_factory")
    assert entry.timeouts is not None and entry.timeouts.config(0.5) == {"client_args": {"timeout": 0.5}}
    with pytest.raises(ProviderSelectionError, match="TimeoutOptions"):
        resolve_provider(f"{__name__}:wrongly_declared_factory")
