"""Mutation check of the suite itself: every deliberately broken provider must fail the family meant for it.

On each wire, the suite runs (as a user runs it, in a subprocess) against the bare reference provider,
the control wrapper and each mutant of `conformance.mutants` around that provider. A mutant is caught by
the checks that pass for the control and fail for it; the family meant to catch it must be among them,
and one family its defect does not touch must stay exactly as green as for the control. The control
itself must score exactly as the bare provider it wraps. To stay fast, each mutant plays only those two
families (`python -m conformance.mutants` plays the whole suite).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.mutants import CONTROL, MUTATIONS, REFERENCE, CheckOutcome, caught_by, differences, run_wires
from conformance.mutants.targets import provider_for, wrapped_providers

# The check family meant to catch each mutant, on whichever wire it runs.
CATCHER = {
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
# A family each mutant's defect leaves alone: every check of it the control passes, the mutant passes too.
# (Most checks validate the whole event stream, so a grammar or tool-call defect turns most families red:
# its green family is one that judges errors, not a finished stream.)
STAYS_GREEN = {name: "stop_reasons" for name in CATCHER} | {
    "dropped_block_stop": "errors",
    "corrupted_tool_args": "errors",
    "missing_message_stop": "errors",
    "tool_use_as_end_turn": "errors",
    "wrong_stop_reason": "usage_metrics",
    "filter_as_end_turn": "usage_metrics",
    "truncated_args_passed_on": "usage_metrics",  # stop_reasons has a tool call cut by max_tokens
    # Ollama's stop_reasons plays a cassette whose recorded chunks split a character: the defect shows there.
    "lines_per_chunk": "errors",
}
_NO_CACHE_WRITES = "no cassette reports cache-write tokens"
_NO_FILTER = "no content-filter finish"
_NO_REASONING = "no reasoning cassette"
_WHOLE_CALLS = "in its concurrency cells no other stream runs between a tool call's start and its first arguments"
_ONE_PART_CALLS = "Gemini sends each function call whole in one part, its args a JSON object"
# Per wire, the mutants its cassettes give nothing to act on (they are not run there), and why.
NOTHING_TO_ACT_ON: dict[str, dict[str, str]] = {
    "openai-chat": {},
    "anthropic": {},
    "bedrock-converse": {},
    "ollama": {
        "dropped_cache_write_tokens": _NO_CACHE_WRITES,
        "filter_as_end_turn": _NO_FILTER,
        "dropped_tool_choice": "the Ollama API has no tool_choice",
        "truncated_args_passed_on": "tool arguments arrive as parsed JSON objects, never unclosed",
        "tool_state_on_instance": _WHOLE_CALLS,
    },
    "mistral": {"dropped_cache_write_tokens": _NO_CACHE_WRITES, "dropped_reasoning": _NO_REASONING,
                "tool_state_on_instance": _WHOLE_CALLS},
    "writer": {"dropped_cache_write_tokens": _NO_CACHE_WRITES, "dropped_reasoning": _NO_REASONING,
               "tool_state_on_instance": _WHOLE_CALLS},
    "llama-api": {"dropped_cache_write_tokens": _NO_CACHE_WRITES, "dropped_reasoning": _NO_REASONING,
                  "filter_as_end_turn": _NO_FILTER, "tool_state_on_instance": _WHOLE_CALLS},
    # LiteLLM's cassettes are recorded from the local servers only: no written error or quirk cassettes.
    "litellm": {"dropped_cache_write_tokens": _NO_CACHE_WRITES, "dropped_reasoning": _NO_REASONING,
                "filter_as_end_turn": _NO_FILTER, "tool_state_on_instance": _WHOLE_CALLS,
                "throttle_as_generic": "no throttling cassette", "key_error_on_cut_stream": "no cut-stream cassette",
                "merged_tool_calls": "no parallel tool-call cassette",
                "dropped_image_blocks": "no image-block request case (only an image inside a tool result)"},
    "gemini": {"dropped_cache_write_tokens": "Gemini reports cache reads only (cachedContentTokenCount)",
               "truncated_args_passed_on": _ONE_PART_CALLS, "tool_state_on_instance": _ONE_PART_CALLS},
    "sagemaker": {"tool_state_on_instance": _WHOLE_CALLS},
    "openai-responses": {"dropped_cache_write_tokens": _NO_CACHE_WRITES},
    "sglang-generate": {
        "dropped_cache_write_tokens": _NO_CACHE_WRITES, "dropped_reasoning": _NO_REASONING, "filter_as_end_turn": _NO_FILTER,
        "tool_use_as_end_turn": "no stop-reason case of /generate ends in a call: SGLang says stop, the call is in the text",
        "dropped_tool_choice": "SGLang's /generate has no tool_choice: the rendered prompt lists the tools",
        "truncated_args_passed_on": "a Hermes call is read whole from between its tags", "tool_state_on_instance": _WHOLE_CALLS,
    },
}
# Where a wire's cassettes make a mutant's usual green family react, the family that stays green there.
STAYS_GREEN_ON: dict[tuple[str, str], str] = {
    # Gemini's stop-reason cases include two calls with empty ids: merging them breaks that stream too.
    ("gemini", "merged_tool_calls"): "errors",
}
# Per wire: each mutant that acts on it -> the family meant to catch it.
EXPECTED: dict[str, dict[str, str]] = {
    wire: {name: family for name, family in CATCHER.items() if name not in skipped}
    for wire, skipped in NOTHING_TO_ACT_ON.items()
}
CELLS = [(wire, name) for wire, table in EXPECTED.items() for name in table]


def green_family(wire: str, name: str) -> str:
    return STAYS_GREEN_ON.get((wire, name), STAYS_GREEN[name])


def test_every_mutant_has_a_catcher_and_a_green_family_and_every_wire_a_table() -> None:
    mutants = sorted(name for name in MUTATIONS if name != CONTROL)
    assert sorted(CATCHER) == mutants
    assert sorted(STAYS_GREEN) == mutants
    assert all(STAYS_GREEN[name] != CATCHER[name] for name in mutants)
    assert sorted(EXPECTED) == sorted(entry.wire for entry in wrapped_providers())
    assert all(set(skipped) <= set(CATCHER) for skipped in NOTHING_TO_ACT_ON.values())
    assert all(wire in EXPECTED and name in CATCHER and family != CATCHER[name]
               for (wire, name), family in STAYS_GREEN_ON.items())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, CheckOutcome]]]:
    """Wire -> run (REFERENCE, CONTROL or a mutant) -> check -> outcome, each mutant on its two families."""
    plans = {wire: {name: [family, green_family(wire, name)] for name, family in table.items()} for wire, table in EXPECTED.items()}
    return run_wires(plans, Path(tmp_path_factory.mktemp("mutants")))


@pytest.mark.parametrize("wire", list(EXPECTED))
def test_the_control_scores_exactly_as_the_provider_it_wraps(wire: str, runs: dict) -> None:
    control = runs[wire][CONTROL]
    passed = [check for check, o in control.items() if o.outcome == "passed"]
    assert len(passed) >= 20, f"only {len(passed)} checks pass for the control on {wire}: too few to judge mutants by"
    changed = differences(runs[wire][REFERENCE], control)
    assert not changed, f"the faithful wrapper changes outcomes of the bare {provider_for(wire).name} provider: {changed}"


@pytest.mark.parametrize(("wire", "name"), CELLS)
def test_the_mutant_is_caught_by_its_family_only(wire: str, name: str, runs: dict) -> None:
    control, mutant_run = runs[wire][CONTROL], runs[wire][name]
    catchers = caught_by(control, mutant_run)
    families = {outcome.family for outcome in catchers.values()}
    print(f"{wire} {name}: caught by {sorted(catchers)}")
    assert EXPECTED[wire][name] in families, (
        f"mutant {name} ({MUTATIONS[name].defect}) on {wire} was caught only by {sorted(catchers)} "
        f"(families {sorted(families)}), not by a {EXPECTED[wire][name]} check"
    )
    family = green_family(wire, name)
    green = sorted(check for check, outcome in catchers.items() if outcome.family == family)
    assert not green, f"mutant {name} on {wire} also fails {family} checks its defect leaves alone: {green}"
