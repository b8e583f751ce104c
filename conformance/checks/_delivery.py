"""Driving a provider through a replay whose delivery the check steers: re-split, paced, cancelled, concurrent.

The streaming families share these drivers. Each rewinds the run's replay with a `DeliveryPlan` (the
same recorded bytes, delivered differently), streams the case, and returns what the provider did,
made comparable: timings and ids the provider generated itself vary between two replays of the same
bytes, so they are replaced by placeholders; everything else must be identical.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from strands.models import Model

from conformance.cases import Case, get_case
from conformance.cassette import Cassette, load_cassette
from conformance.harness import Run, StreamOutcome
from conformance.replay import BodyFeed, DeliveryPlan
from conformance.wires import WireDecodeError

__all__ = [
    "BOUND_SECONDS", "SLOW_SECONDS", "Cancelled", "Comparable", "Paced", "cancel_after_first_content", "comparable", "concurrent",
    "is_content", "paced", "partner_cassettes", "resplit",
]

# How long a provider may take to yield what the bytes it was given already say (one event, one close).
BOUND_SECONDS = 1.0
# How long it may take to send its request, or to end once every byte is out: first calls import lazily.
SLOW_SECONDS = 30.0
_TIMINGS = ("latencyMs", "timeToFirstByteMs")
_INTERLEAVED = "tool_parallel_interleaved"
# A condition the watch is not told about (a stream ending inside the provider) is looked at this often.
_RECHECK_SECONDS = 0.05


@dataclass(frozen=True)
class Comparable:
    """A stream's events and ending, with what legitimately varies between replays replaced."""

    events: list[dict[str, Any]]
    error: str | None

    def difference(self, other: Comparable) -> str:
        """Where `other` first departs from this one, for a failure message ('' when equal)."""
        if self == other:
            return ""
        for index, (mine, theirs) in enumerate(zip(self.events, other.events)):
            if mine != theirs:
                return f"event #{index}: expected {mine}, got {theirs}"
        if len(self.events) != len(other.events):
            shorter = min(len(self.events), len(other.events))
            return (f"{len(self.events)} events expected, {len(other.events)} yielded; first extra or missing: "
                    f"{(self.events[shorter:] or other.events[shorter:])[0]}")
        return f"ending: expected {self.error or 'no exception'}, got {other.error or 'no exception'}"


def is_content(event: dict[str, Any]) -> bool:
    """A delta (text, reasoning, tool input) or the start of a tool call: what a wire message's content becomes."""
    return "contentBlockDelta" in event or "toolUse" in event.get("contentBlockStart", {}).get("start", {})


def comparable(outcome: StreamOutcome, body: bytes) -> Comparable:
    """Timings dropped; a tool-use id absent from the response bytes (the provider made it) numbered by first use."""
    generated: dict[str, str] = {}
    events = copy.deepcopy(outcome.events)
    for event in events:
        metrics = event.get("metadata", {}).get("metrics")
        if isinstance(metrics, dict):
            for name in _TIMINGS:
                metrics.pop(name, None)
        tool = event.get("contentBlockStart", {}).get("start", {}).get("toolUse")
        if isinstance(tool, dict) and isinstance(tool.get("toolUseId"), str) and tool["toolUseId"].encode() not in body:
            tool["toolUseId"] = generated.setdefault(tool["toolUseId"], f"<generated id #{len(generated)}>")
    error = outcome.error
    return Comparable(events, f"{type(error).__name__}: {error}" if error is not None else None)


def _body(run: Run) -> bytes:
    return b"".join(item.response.body for item in run.replay.cassette.interactions)


def resplit(run: Run, model: Model, loop: asyncio.AbstractEventLoop, cuts: Sequence[Sequence[int]] | None) -> Comparable:
    """One replay of the run's cassette with each interaction's body cut at `cuts` (None: the recorded chunks)."""
    run.replay.rewind(DeliveryPlan(cuts=cuts))
    return comparable(loop.run_until_complete(run.attempt(model)), _body(run))


class _Watch:
    """Wakes the check when anything it waits on may have changed: a feed's reader, or a yielded event."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()

    def poke(self) -> None:  # from any thread (the loopback server's handlers)
        self._loop.call_soon_threadsafe(self._changed.set)

    def paced_plan(self) -> DeliveryPlan:
        return DeliveryPlan(paced=True, notify=self.poke)

    async def until(self, condition: Callable[[], bool], seconds: float = BOUND_SECONDS) -> bool:
        """True once `condition()` holds; False after `seconds` without it."""
        deadline = self._loop.time() + seconds
        while not condition():
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            if condition():
                return True
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, _RECHECK_SECONDS))
            except asyncio.TimeoutError:
                pass
        return True

    async def request(self, run: Run, number: int = 1, gave_up: Callable[[], bool] = lambda: False) -> BodyFeed | None:
        """The response feed of request #number once the provider has sent it (None if it never does)."""
        await self.until(lambda: len(run.replay.feeds) >= number or gave_up(), SLOW_SECONDS)
        return run.replay.feeds[number - 1] if len(run.replay.feeds) >= number else None

    async def finish(self, run: Run, task: asyncio.Future[Any], outcome: StreamOutcome) -> None:
        """Release every byte still held and let the stream end; one that does not end in time is an error."""
        for feed in run.replay.feeds:
            feed.release_all()
        if not await self.until(task.done, SLOW_SECONDS):
            task.cancel()
            outcome.error = TimeoutError(f"the stream did not end within {SLOW_SECONDS:g} s of its last byte")
        await asyncio.gather(task, return_exceptions=True)

    async def collect(self, stream: Any, outcome: StreamOutcome) -> None:
        try:
            async for event in stream:
                outcome.events.append(event)
                self.poke()
        except Exception as exc:  # judged by the check, as Run.attempt does
            outcome.error = exc
        finally:
            self.poke()


def _content_messages(run: Run, feed: BodyFeed) -> list[bool]:
    """For each paced piece (one wire message): does it add text, reasoning or tool-call content?

    On a wire whose parallel tool calls may interleave (OpenAI chat: deltas for index 0, 1, 0...), only the
    first call of a turn can stream live; the later ones are reassembled before they are yielded, so their
    messages do not count here."""
    interleaving = run.wire.cannot_express(_INTERLEAVED, _INTERLEAVED) is None
    carries, before, body = [], None, b""
    for piece in feed.pieces:
        body += piece
        try:
            seen = run.wire.decode(body)
        except WireDecodeError:
            carries.append(False)
            continue
        calls = seen.tool_calls[:1] if interleaving else seen.tool_calls
        now = (seen.text, seen.reasoning, [(call.call_id, call.name, call.arguments) for call in calls])
        carries.append(before is not None and now != before or before is None and now != ("", "", []))
        before = now
    return carries


@dataclass
class Paced:
    """A paced replay: what the provider yielded, and the first event it held back, if any."""

    outcome: StreamOutcome
    late_message: int | None = None  # index of the wire message whose content did not come out in time
    late_event: int | None = None  # index, among the yielded events, of the first event that came late
    blocked_loop: bool = False  # the provider read the body with a blocking call, stalling the event loop


async def paced(run: Run, model: Model) -> Paced:
    """Release the response one wire message at a time; after a message that carries content, wait (bounded)
    for a content event before releasing the next. The first wait that runs out marks the late event, and
    the rest of the body is released at once, so a provider that buffers costs one bound, not one per event."""
    watch = _Watch()
    run.replay.rewind(watch.paced_plan())
    result = Paced(StreamOutcome())
    events = result.outcome.events
    task = asyncio.ensure_future(watch.collect(model.stream(**run.case.stream_kwargs()), result.outcome))
    feed = await watch.request(run, gave_up=task.done)
    late_after = None
    if feed is not None:
        for index, carries in enumerate(_content_messages(run, feed)):
            seen = sum(map(is_content, events))
            feed.release()
            if carries and not await watch.until(lambda: sum(map(is_content, events)) > seen or task.done()):
                result.late_message, late_after = index, seen
                feed.release_all()
                break
            await watch.until(lambda: feed.reader_waiting or not feed.open or task.done())
    await watch.finish(run, task, result.outcome)
    result.blocked_loop = any(feed.blocked_reader for feed in run.replay.feeds)
    if late_after is not None:
        contents = [number for number, event in enumerate(events) if is_content(event)]
        result.late_event = contents[late_after] if late_after < len(contents) else len(events)
    run.record.events = list(events)
    return result


@dataclass
class Cancelled:
    """A stream closed after its first content event: what it yielded, what closing raised, what stayed open."""

    events: list[dict[str, Any]]
    stream_error: BaseException | None = None
    close_error: BaseException | None = None
    closable: bool = True
    left_open: int = 0


async def cancel_after_first_content(run: Run, model: Model) -> Cancelled:
    """Release the response up to its first content message, read to the first content event, then aclose the
    stream as an Agent does when interrupted; count the responses the replay still sees open afterwards."""
    watch = _Watch()
    run.replay.rewind(watch.paced_plan())
    stream = model.stream(**run.case.stream_kwargs())
    result = Cancelled([], closable=callable(getattr(stream, "aclose", None)))
    reading = True

    async def feed_until_first_content() -> None:
        feed = await watch.request(run, gave_up=lambda: not reading)
        if feed is None:
            return
        carries = _content_messages(run, feed)
        feed.release(carries.index(True) + 1 if True in carries else len(carries))
        if not await watch.until(lambda: any(map(is_content, result.events)) or not feed.open or not reading):
            feed.release_all()  # a provider that holds content back: let it finish, the incremental family says why

    async def read_to_first_content() -> None:
        async for event in stream:
            result.events.append(event)
            watch.poke()
            if is_content(event):
                break

    feeder = asyncio.ensure_future(feed_until_first_content())
    try:
        # Bounded: a provider stuck on its connection fails the check instead of hanging the suite.
        await asyncio.wait_for(read_to_first_content(), SLOW_SECONDS)
    except asyncio.TimeoutError:
        result.stream_error = TimeoutError(f"no content event within {SLOW_SECONDS:g} s of the request")
    except Exception as exc:
        result.stream_error = exc
    finally:
        reading = False
        watch.poke()
        await feeder
    if result.closable:
        try:
            await asyncio.wait_for(stream.aclose(), SLOW_SECONDS)
        except asyncio.TimeoutError:
            result.close_error = TimeoutError(f"aclose() did not return within {SLOW_SECONDS:g} s")
        except Exception as exc:
            result.close_error = exc
    await watch.until(lambda: not any(feed.open for feed in run.replay.feeds))
    result.left_open = sum(feed.open for feed in run.replay.feeds)
    run.record.events = list(result.events)
    return result


def partner_cassettes(run: Run, names: Sequence[str], count: int) -> list[tuple[Case, Cassette]]:
    """Up to `count` other one-request cases this run's wire has cassettes for, first listed first."""
    partners = []
    for name in names:
        case = get_case(name)
        if name == run.case.name or run.wire.cannot_express(name, case.cassette_case) is not None:
            continue
        variants = run.wire.variants(case.cassette_case)
        if not variants:
            continue
        cassette = load_cassette(run.wire.cassette_path(case.cassette_case, variants[0]))
        if len(cassette.interactions) == 1:
            partners.append((case.for_server(variants[0]), cassette))
        if len(partners) == count:
            break
    return partners


async def concurrent(run: Run, model: Model, partners: list[tuple[Case, Cassette]]) -> list[tuple[str, str]]:
    """Each stream alone on `model`, then all at once on the same `model`, their responses released one wire
    message per stream in turn; (cassette, difference) for every stream whose events changed."""
    watch = _Watch()
    streams = [(run.case, run.cassette), *partners]
    alone = []
    for case, cassette in streams:
        run.replay.rewind(cassette=cassette)
        outcome = StreamOutcome()
        await watch.collect(model.stream(**case.stream_kwargs()), outcome)
        alone.append(comparable(outcome, cassette.interactions[0].response.body))
    together = Cassette(run.wire.name, "+".join(case.name for case, _ in streams), {"kind": "written"},
                        [cassette.interactions[0] for _, cassette in streams], run.cassette.path)
    run.replay.rewind(watch.paced_plan(), cassette=together)
    outcomes, tasks, feeds = [], [], []
    for number, (case, _) in enumerate(streams, start=1):
        outcomes.append(StreamOutcome())
        tasks.append(asyncio.ensure_future(watch.collect(model.stream(**case.stream_kwargs()), outcomes[-1])))
        feed = await watch.request(run, number, gave_up=tasks[-1].done)  # started in order, so request n is answered by stream n
        if feed is None:
            for task, outcome in zip(tasks, outcomes):
                await watch.finish(run, task, outcome)
            return [(cassette.name, f"request #{number - 1} was never sent ({outcomes[-1].error!r})")]
        feeds.append(feed)
    interleaving = True
    while interleaving and any(feed.released < len(feed.pieces) for feed in feeds):
        for feed in feeds:
            feed.release()
            # A stream that does not come back for more (its provider serialises streams) ends the interleaving:
            # the rest is released at once, and the comparison still judges what each stream yields.
            interleaving = interleaving and await watch.until(lambda: feed.reader_waiting or not feed.open)
    for task, outcome in zip(tasks, outcomes):
        await watch.finish(run, task, outcome)
    run.record.events = [event for outcome in outcomes for event in outcome.events]
    differences = []
    for (case, cassette), expected, outcome in zip(streams, alone, outcomes):
        difference = expected.difference(comparable(outcome, cassette.interactions[0].response.body))
        if difference:
            differences.append((cassette.name, difference))
    return differences
