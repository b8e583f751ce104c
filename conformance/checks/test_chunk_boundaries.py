"""Chunk boundaries: the same response bytes, cut at other points, give exactly the same Strands events.

A transport chunk may end anywhere: inside a UTF-8 character, a line, a JSON object or an AWS
event-stream frame, or hold several events at once. Hypothesis cuts each cassette's bodies at points
drawn from the whole body and from the places parsers get wrong (inside a multi-byte character, around
line and message ends, inside a frame's prelude); every cut must give the events and the ending of the
recorded chunking. Derandomized, so a run is reproducible; a failure shows the cut offsets.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conformance.checks._delivery import resplit
from conformance.checks.test_event_grammar import SUCCESSFUL_STREAMS
from conformance.replay import message_ends

pytestmark = pytest.mark.family("chunk_boundaries")

# Every one-request stream the wires hold: successful ones, every stop reason, every way a stream fails.
CASSETTES = (
    *(name for name in SUCCESSFUL_STREAMS if not name.startswith("finish_")),  # those come with stop_reasons
    "stop_reasons",
    "error_429",
    "error_503",
    "overflow_before_stream",
    "overflow_openai_code",
    "overflow_mid_stream",
    "truncated_stream",
    "malformed_line",
    "connection_closed",
    "errors:throttled",
    "errors:context_overflow",
    "errors:failed",
)
MAX_CUTS = 12


@pytest.fixture
def conformance_examples(request: pytest.FixtureRequest) -> int:
    """Hypothesis examples per cell (`--conformance-examples`)."""
    examples = request.config.getoption("conformance_examples")
    if examples < 1:
        raise pytest.UsageError(f"--conformance-examples {examples}: give at least 1")
    return examples


def fragile_offsets(body: bytes, content_type: str) -> list[int]:
    """Where parsers break: inside multi-byte characters, next to line and message ends, inside frame preludes."""
    offsets = {index for index, byte in enumerate(body) if 0x80 <= byte < 0xC0}  # UTF-8 continuation bytes
    ends = message_ends(body, content_type)
    for start in [0, *ends]:
        offsets.update((start - 1, start + 1, start + 4, start + 8, start + 12))  # +4..+12: AWS prelude fields
    offsets.update(index + 1 for index, byte in enumerate(body) if byte in b"\n{:,\"")
    return sorted(offset for offset in offsets if 0 < offset < len(body))


def describe_cuts(cuts: tuple[list[int], ...], responses: list) -> str:
    """The cut offsets of each body, short: a failure must say where it was cut without printing every byte."""
    described = []
    for offsets, response in zip(cuts, responses):
        offsets = list(offsets)
        if len(offsets) == len(response.body) - 1 > 1:
            described.append("every byte its own chunk")
        elif not offsets:
            described.append("one chunk")
        else:
            described.append(f"cut at offsets {offsets}")
    return "body " + "; ".join(described)


def cut_points(body: bytes, content_type: str) -> st.SearchStrategy[list[int]]:
    if len(body) < 2:
        return st.just([])
    anywhere = st.integers(1, len(body) - 1)
    fragile = fragile_offsets(body, content_type)
    points = st.one_of(st.sampled_from(fragile), anywhere) if fragile else anywhere
    return st.lists(points, max_size=MAX_CUTS, unique=True).map(sorted)


@pytest.mark.cases(*CASSETTES)
def test_same_events_at_any_chunk_boundary(conformance_run, conformance_examples):
    """Each response body cut at arbitrary points (every byte its own chunk, then Hypothesis' draws, the first of
    them the whole body in one chunk) yields the events and the ending of the recorded chunking.

    Severity: must -- the network decides the chunking: text or tool calls come out wrong on some connections.
    """
    run = conformance_run
    if run.live:
        pytest.skip("re-cuts replayed bytes: a live server's chunking is not ours to choose")
    responses = [interaction.response for interaction in run.replay.cassette.interactions]
    strategy = st.tuples(*(cut_points(r.body, r.headers.get("content-type", "")) for r in responses))
    loop = asyncio.new_event_loop()
    try:
        model = run.model()
        recorded = resplit(run, model, loop, None)

        @settings(max_examples=conformance_examples, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @example(tuple(range(1, len(r.body)) for r in responses)).via("every byte its own chunk")
        @given(strategy)
        def same_events(cuts: tuple[list[int], ...]) -> None:
            difference = recorded.difference(resplit(run, model, loop, cuts))
            assert not difference, f"{describe_cuts(cuts, responses)} ({run.where()}): {difference}"

        same_events()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
