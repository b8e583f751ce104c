"""Mutation check of the suite itself: every deliberately broken provider must fail some check.

The whole suite runs (as a user runs it, in a subprocess) against the control wrapper and against each
mutant of `conformance.mutants`; a mutant is caught by the checks that pass for the control and fail
for it, and the family expected to catch it must be among them. The control itself must score exactly
as the bare reference provider it wraps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.mutants import CONTROL, MUTATIONS, REFERENCE, CheckOutcome, caught_by, differences, run_all

# The check family each defect belongs to: it must be among the families that catch the mutant.
EXPECTED_FAMILY = {
    "dropped_block_stop": "event_grammar",
    "wrong_stop_reason": "stop_reasons",
    "tool_use_as_end_turn": "stop_reasons",
    "filter_as_end_turn": "stop_reasons",
    "lost_usage": "usage_metrics",
    "merged_tool_calls": "tool_calls",
    "swallowed_errors": "errors",
    "corrupted_tool_args": "tool_calls",
    "overflow_as_generic": "errors",
    "throttle_as_generic": "errors",
    "dropped_text": "event_grammar",
    "dropped_reasoning": "reasoning",
    "missing_message_stop": "event_grammar",
    "constant_tool_ids": "tool_calls",
    "dropped_system_prompt": "request_shape",
    "dropped_tool_choice": "request_shape",
    "structured_output_none": "structured_output",
    "dropped_image_blocks": "request_shape",
    "swapped_usage": "usage_metrics",
    "dropped_cache_write_tokens": "usage_metrics",
    "key_error_on_cut_stream": "errors",
    "hangs_without_progress": "robustness",
    "truncated_args_passed_on": "robustness",
    "invalid_utf8_replaced": "robustness",
    "lines_per_chunk": "chunk_boundaries",
    "buffered_to_end": "incremental_delivery",
    "leaked_on_close": "cancellation",
    "tool_state_on_instance": "concurrency",
}
MUTANTS = [name for name in MUTATIONS if name != CONTROL]


def test_every_mutant_has_an_expected_catcher() -> None:
    assert sorted(EXPECTED_FAMILY) == sorted(MUTANTS)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, CheckOutcome]]:
    return run_all(Path(tmp_path_factory.mktemp("mutants")))


def test_the_control_scores_exactly_as_the_provider_it_wraps(runs: dict[str, dict[str, CheckOutcome]]) -> None:
    control = runs[CONTROL]
    passed = [check for check, o in control.items() if o.outcome == "passed"]
    assert len(passed) >= 20, f"only {len(passed)} checks pass for the control: too few to judge mutants by"
    changed = differences(runs[REFERENCE], control)
    assert not changed, f"the faithful wrapper changes outcomes of the bare {REFERENCE} provider: {changed}"


@pytest.mark.parametrize("name", MUTANTS)
def test_the_mutant_is_caught_by_its_family(name: str, runs: dict[str, dict[str, CheckOutcome]]) -> None:
    catchers = caught_by(runs[CONTROL], runs[name])
    assert catchers, f"mutant {name} ({MUTATIONS[name].defect}) passed every check the control passes"
    families = {outcome.family for outcome in catchers.values()}
    print(f"{name}: caught by {sorted(catchers)}")
    assert EXPECTED_FAMILY[name] in families, (
        f"mutant {name} ({MUTATIONS[name].defect}) was caught only by {sorted(catchers)} "
        f"(families {sorted(families)}), not by a {EXPECTED_FAMILY[name]} check"
    )
