"""One check's run of one provider: build it, drive it, keep the evidence.

A `Run` is what a check receives from the `conformance_run` fixture. It builds the provider against the
replayed cassette or the live server, streams the case, validates the events, and keeps what the
provider yielded and sent in the `RunRecord` the report plugins show on failure. The checks stay
free of mode logic: the same assertions hold in replay and live, and `xfail_if_live` marks
the few a 135M model cannot satisfy live, with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from strands.models import Model

from conformance.capture import Capture, IncompleteRecording
from conformance.cases import SERVER_KINDS, Case
from conformance.cassette import Cassette, write_cassette_atomically
from conformance.evidence import RunRecord
from conformance.loopback import LoopbackReplay, LoopbackServer
from conformance.replay import Replay, SentRequest
from conformance.targets import ProviderEntry
from conformance.validator import EventSequenceError, StreamSummary, validate_events
from conformance.wires import RequestMeaning, WireExpectation, WireFamily

__all__ = ["Run", "StreamOutcome"]


@dataclass
class StreamOutcome:
    """What a stream produced before it ended: every event, and the exception if it raised."""

    events: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=repr))


class Run:
    def __init__(
        self,
        provider: ProviderEntry,
        case: Case | None,
        wire: WireFamily,
        mode: str,
        server: str,
        root: str,
        model_id: str,
        api_key: str,
        record: RunRecord,
        cassette: Cassette | None = None,
        loopback: LoopbackServer | None = None,
    ) -> None:
        self.provider = provider
        self.case = case
        self.wire = wire
        self.mode = mode
        self.server = server  # live: server kind; replay: cassette variant
        self.root = root
        self.model_id = model_id
        self.api_key = api_key
        self.record = record
        self.cassette = cassette
        self.server_version = "unknown"
        # A provider whose client is not httpx is answered by the loopback server, at its URL.
        self.loopback = loopback if mode == "replay" and provider.transport == "sockets" else None
        if self.loopback is not None:
            self.root = self.loopback.url
        self.replay: Replay | LoopbackReplay | None = self._replay_of(cassette) if cassette is not None else None
        self.capture: Capture | None = Capture() if mode == "live" else None
        self._recorded_paths: set[str] = set()
        self._unplayed_ok = False

    @classmethod
    def for_replay(cls, provider: ProviderEntry, case: Case | None, wire: WireFamily, variant: str,
               cassette: Cassette | None, root: str, model_id: str, record: RunRecord,
               loopback: LoopbackServer | None = None) -> Run:
        """`loopback` is required for a provider whose transport is "sockets" (its root becomes the loopback URL)."""
        if provider.transport == "sockets" and loopback is None:
            raise RuntimeError(f"provider {provider.name!r} is not on httpx: its replay needs a loopback server")
        # A recorded cassette was made with that server's recipe: replay sends the same request.
        effective = case.for_server(variant) if case and variant in SERVER_KINDS else case
        return cls(provider, effective, wire, "replay", variant, root, model_id, "EMPTY", record, cassette, loopback)

    def _replay_of(self, cassette: Cassette) -> Replay | LoopbackReplay:
        return self.loopback.replay(cassette) if self.loopback is not None else Replay(cassette)

    @classmethod
    def for_live(cls, provider: ProviderEntry, case: Case | None, wire: WireFamily, server: str, root: str,
             model_id: str, api_key: str, record: RunRecord) -> Run:
        effective = case.for_server(server) if case else None
        return cls(provider, effective, wire, "live", server, root, model_id, api_key, record)

    # -- context: replay or capture is active for the whole check ------------------------------
    def __enter__(self) -> Run:
        if self.replay is not None:
            self.replay.__enter__()
        elif self.capture is not None:
            self.capture.__enter__()
        else:
            # No cassette and not live (configuration checks): any HTTP call is a finding.
            self.replay = self._replay_of(Cassette(self.wire.name, "no-network", {"kind": "written"}, []))
            self.replay.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        (self.replay or self.capture).__exit__(*exc_info)  # type: ignore[union-attr]
        self.sync_record()

    def sync_record(self) -> None:
        self.record.requests = [_json_safe(sent.to_json()) for sent in self.sent]

    @property
    def live(self) -> bool:
        return self.mode == "live"

    @property
    def sent(self) -> list[SentRequest]:
        if self.capture is not None:
            return self.capture.sent
        return self.replay.sent if self.replay is not None else []

    @property
    def base_url(self) -> str:
        return self.wire.api_base(self.root)

    # -- driving the provider -------------------------------------------------------------------
    def model(self, **params: Any) -> Model:
        """The provider under test, with the case's request parameters plus `params`."""
        merged = dict(self.case.params) if self.case else {}
        merged.update(params)
        return self.provider.build(base_url=self.base_url, model_id=self.model_id, api_key=self.api_key, params=merged)

    async def attempt(self, model: Model | None = None, **overrides: Any) -> StreamOutcome:
        """Stream the case to its end or its exception; never raises what the provider raised."""
        if self.case is None:
            raise RuntimeError("this check has no case to stream")
        model = model or self.model()
        kwargs = self.case.stream_kwargs() | overrides
        outcome = StreamOutcome()
        try:
            async for event in model.stream(**kwargs):
                outcome.events.append(event)
        except Exception as exc:  # the checks judge the exception; keep it as evidence
            outcome.error = exc
        self.record.events = _json_safe(outcome.events)
        return outcome

    async def stream(self, model: Model | None = None, **overrides: Any) -> list[dict[str, Any]]:
        """Stream the case; a provider exception fails the check, naming the cassette or server."""
        outcome = await self.attempt(model, **overrides)
        if outcome.error is None:
            self.xfail_if_live_model_skipped_the_tool()
        if outcome.error is not None:
            raise AssertionError(
                f"{self.provider.name}.stream raised {type(outcome.error).__name__}: {outcome.error} "
                f"({self.where()}) after {len(outcome.events)} events"
            ) from outcome.error
        return outcome.events

    def validate(self, events: list[dict[str, Any]]) -> StreamSummary:
        try:
            summary = validate_events(events)
        except EventSequenceError as exc:
            self.record.validator_message = str(exc)
            raise AssertionError(f"invalid event sequence from {self.provider.name} ({self.where()}): {exc}") from exc
        self.record.validator_message = None
        return summary

    async def valid_stream(self, model: Model | None = None, **overrides: Any) -> StreamSummary:
        return self.validate(await self.stream(model, **overrides))

    def expected(self, index: int = -1) -> WireExpectation:
        """The wire's own account of a successful response (cassette in replay, capture live): by
        default the last one; `index` counts the successful responses in order."""
        if self.capture is not None:
            bodies = [b"".join(c.data for c in ex.chunks) for ex in self.capture.exchanges if ex.status == 200]
        elif self.replay is not None:
            played = self.replay.cassette.interactions[: self.replay.played]
            bodies = [item.response.body for item in played if item.response.status == 200]
        else:
            bodies = []
        if not bodies or not -len(bodies) <= index < len(bodies):
            raise AssertionError(f"no successful response #{index} to compare with ({self.where()}; {len(bodies)} in all)")
        return self.wire.decode(bodies[index])

    def sent_meaning(self, index: int = 0) -> RequestMeaning:
        """What request #index means, read by the wire's request reader."""
        if self.wire.read_request is None:
            pytest.skip(f"wire {self.wire.name} registers no request reader, so what its requests mean is not checked here")
        assert len(self.sent) > index, f"the provider sent {len(self.sent)} request(s), expected at least {index + 1}"
        return self.wire.read_request(self.sent[index].body)

    def where(self) -> str:
        if self.live:
            return f"live {self.server} at {self.root}"
        if self.cassette is not None:
            return f"cassette {self.cassette.path}"
        return "no cassette"

    def xfail_if_live_model_skipped_the_tool(self) -> None:
        """Live, for a case that needs a tool call: xfail when the model answered without one."""
        if not (self.live and self.case is not None and self.case.expects_tool_call):
            return
        wire = self.expected(0)
        if not wire.tool_calls:
            self.xfail_if_live(f"the 135M model answered text instead of calling the tool "
                               f"(finish_reason {wire.finish_reason!r}, text {wire.text[:60]!r})")
        elif wire.finish_reason == "length":
            self.xfail_if_live("the 135M model's tool call ran past max_tokens")

    def xfail_if_live(self, reason: str) -> None:
        """In live mode only: end the check as xfail, saying why the 135M model cannot satisfy it."""
        if self.live:
            pytest.xfail(f"live on {self.server}: {reason}")

    def replay_refused(self) -> None:
        """The provider refused the request before sending it, as the check allows: its cassette stays unplayed."""
        self._unplayed_ok = True

    # -- after the check --------------------------------------------------------------------------
    def replay_problems(self) -> list[str]:
        if self.replay is None:
            return []
        problems = list(self.replay.mismatches)
        unplayed = self.replay.unplayed()
        if unplayed and self.cassette is not None and not problems and not self._unplayed_ok:
            first = self.replay.played
            problems.append(
                f"cassette {self.cassette.path}: {len(unplayed)} interaction(s) never played, from #{first} "
                f"({unplayed[0].request.method} {unplayed[0].request.path}); the provider sent "
                f"{len(self.replay.sent)} request(s) where the case expects {len(self.cassette.interactions)}"
            )
        return problems

    def write_recording(self) -> str:
        """Write this live run's traffic as the case's cassette if it is complete; say what happened."""
        if not self.live or self.case is None or self.case.cassette is not None or self.capture is None:
            return ""
        path = self.wire.cassette_path(self.case.name, self.server)
        if str(path) in _WRITTEN_THIS_SESSION:
            return ""
        source = {
            "kind": "recorded",
            "server": self.server,
            "server_version": self.server_version,
            "model": self.model_id,
            "recorded_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
            "provider": self.provider.name,
        }
        try:
            cassette = self.capture.to_cassette(self.wire.name, self.case.name, source)
        except IncompleteRecording as exc:
            return f"{path}: recording incomplete ({exc}); the existing cassette is kept"
        write_cassette_atomically(cassette, path)
        _WRITTEN_THIS_SESSION.add(str(path))
        chunks = sum(len(item.response.chunks) for item in cassette.interactions)
        return f"wrote {path} ({len(cassette.interactions)} interaction(s), {chunks} chunks)"


_WRITTEN_THIS_SESSION: set[str] = set()
