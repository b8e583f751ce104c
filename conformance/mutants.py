"""Deliberately broken providers, to prove the suite catches the bugs real providers have.

Each mutant wraps a correct provider (the reference `providers.OpenAIModel` by default) and corrupts
one thing, a failure class seen in bug reports filed against real providers: a dropped
`contentBlockStop`, a wrong stop reason, lost usage, merged parallel tool calls, an error swallowed
into an empty `end_turn`, and so on. Each is a suite factory, so the suite runs it like any
third-party provider:

    pytest conformance --provider conformance.mutants:dropped_block_stop --wire openai-chat

`conformance.mutants:faithful` wraps without corrupting anything: the control run. A mutant is
caught when a check that passes for `faithful` fails for the mutant (`tests/conformance/test_mutants.py`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strands.models import Model
from strands.types.content import Messages
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

EventFilter = Callable[[AsyncIterable[StreamEvent]], AsyncIterable[StreamEvent]]


@dataclass(frozen=True)
class StreamCall:
    """The arguments of one `stream` call, so a mutant can change the request it forwards."""

    messages: Messages
    tool_specs: list[ToolSpec] | None
    system_prompt: str | None
    tool_choice: Any
    system_prompt_content: Any
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Mutation:
    """One defect: what it breaks (for the report) and how (on the request, on the events, or both)."""

    name: str
    defect: str
    events: EventFilter | None = None
    request: Callable[[StreamCall], StreamCall] | None = None
    structured_output_events: EventFilter | None = None


class MutantModel(Model):
    """A working provider with one deliberate defect; configuration passes through untouched."""

    def __init__(self, inner: Model, mutation: Mutation) -> None:
        self.inner = inner
        self.mutation = mutation

    def update_config(self, **model_config: Any) -> None:
        self.inner.update_config(**model_config)

    def get_config(self) -> Any:
        return self.inner.get_config()

    def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        *,
        tool_choice: Any = None,
        system_prompt_content: Any = None,
        **kwargs: Any,
    ) -> AsyncIterable[StreamEvent]:
        call = StreamCall(messages, tool_specs, system_prompt, tool_choice, system_prompt_content, kwargs)
        if self.mutation.request is not None:
            call = self.mutation.request(call)
        events = self.inner.stream(
            call.messages,
            call.tool_specs,
            call.system_prompt,
            tool_choice=call.tool_choice,
            system_prompt_content=call.system_prompt_content,
            **call.kwargs,
        )
        return self.mutation.events(events) if self.mutation.events is not None else events

    def structured_output(
        self, output_model: type, prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        events = self.inner.structured_output(output_model, prompt, system_prompt, **kwargs)
        corrupt = self.mutation.structured_output_events
        return corrupt(events) if corrupt is not None else events  # type: ignore[return-value]


# -- event corruptions ------------------------------------------------------------------------------


async def _drop_block_stops(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    async for event in events:
        if "contentBlockStop" not in event:
            yield event


def _swap_stop_reasons(mapping: dict[str, str]) -> EventFilter:
    async def swap(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
        async for event in events:
            if "messageStop" in event:
                reason = event["messageStop"]["stopReason"]
                event = {"messageStop": {**event["messageStop"], "stopReason": mapping.get(reason, reason)}}
            yield event

    return swap


async def _drop_usage(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    async for event in events:
        if "metadata" not in event:
            yield event


async def _merge_tool_calls(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """Every later tool call folded into the first tool block, as servers that put all calls on index 0."""
    tool_block_seen = False
    held_stop: StreamEvent | None = None  # the tool block's stop, held while later calls may merge in
    async for event in events:
        start = event.get("contentBlockStart", {}).get("start", {})
        if "toolUse" in start:
            if held_stop is not None:
                continue  # a later call: its start vanishes, its argument deltas land in the first block
            tool_block_seen = True
            yield event
            continue
        if "contentBlockStop" in event and tool_block_seen:
            held_stop = event
            continue
        if held_stop is not None and "toolUse" not in event.get("contentBlockDelta", {}).get("delta", {}):
            yield held_stop
            held_stop = None
            tool_block_seen = False
        yield event
    if held_stop is not None:
        yield held_stop


async def _swallow_errors(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """An exception becomes a quiet, empty `end_turn`, as providers that catch everything do."""
    started = False
    try:
        async for event in events:
            started = started or "messageStart" in event
            yield event
    except Exception:
        if not started:
            yield {"messageStart": {"role": "assistant"}}
        yield {"messageStop": {"stopReason": "end_turn"}}


async def _corrupt_tool_arguments(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """Tool input arrives with its first character lost, so the JSON no longer parses."""
    first_input_delta = True
    async for event in events:
        if "contentBlockStart" in event and "toolUse" in event["contentBlockStart"].get("start", {}):
            first_input_delta = True
        delta = event.get("contentBlockDelta", {}).get("delta", {})
        if "toolUse" in delta and first_input_delta and delta["toolUse"].get("input"):
            first_input_delta = False
            damaged = delta["toolUse"]["input"][1:] or "}"
            event = {"contentBlockDelta": {**event["contentBlockDelta"], "delta": {"toolUse": {"input": damaged}}}}
        yield event


def _as_runtime_error(kind: type[Exception]) -> EventFilter:
    async def translate(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
        try:
            async for event in events:
                yield event
        except kind as exc:
            # the mapping and the cause are both lost, as in the bug reports
            raise RuntimeError(f"request failed: {exc}") from None

    return translate


async def _drop_text(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """The last text delta of each block is lost, as a provider that flushes its buffer too early."""
    held: StreamEvent | None = None
    async for event in events:
        delta = event.get("contentBlockDelta", {}).get("delta", {})
        if "text" in delta:
            if held is not None:
                yield held
            held = event
            continue
        if "contentBlockStop" in event:
            held = None  # dropped
        elif held is not None:
            yield held
            held = None
        yield event
    if held is not None:
        yield held


async def _drop_reasoning(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """Reasoning deltas silently dropped, as providers that read only the old field name."""
    async for event in events:
        if "reasoningContent" not in event.get("contentBlockDelta", {}).get("delta", {}):
            yield event


async def _drop_message_stop(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    async for event in events:
        if "messageStop" not in event:
            yield event


async def _structured_output_none(events: AsyncIterable[dict[str, Any]]) -> AsyncIterable[dict[str, Any]]:
    """The structured answer replaced by a silent None instead of an instance or an error."""
    async for event in events:
        if "output" in event:
            event = {"output": None}
        yield event


async def _lose_tool_use_ids(events: AsyncIterable[StreamEvent]) -> AsyncIterable[StreamEvent]:
    """Every tool call reported under one constant id, so results cannot be matched to calls."""
    async for event in events:
        start = event.get("contentBlockStart", {}).get("start", {})
        if "toolUse" in start:
            event = {"contentBlockStart": {**event["contentBlockStart"],
                                           "start": {"toolUse": {**start["toolUse"], "toolUseId": "call_0"}}}}
        yield event


def _drop_system_prompt(call: StreamCall) -> StreamCall:
    return StreamCall(call.messages, call.tool_specs, None, call.tool_choice, None, call.kwargs)


def _drop_tool_choice(call: StreamCall) -> StreamCall:
    return StreamCall(call.messages, call.tool_specs, call.system_prompt, None, call.system_prompt_content, call.kwargs)


MUTATIONS: dict[str, Mutation] = {
    m.name: m
    for m in (
        Mutation("faithful", "none: the control run"),
        Mutation("dropped_block_stop", "contentBlockStop never emitted", events=_drop_block_stops),
        Mutation("wrong_stop_reason", "max_tokens and end_turn swapped",
                 events=_swap_stop_reasons({"end_turn": "max_tokens", "max_tokens": "end_turn"})),
        Mutation("tool_use_as_end_turn", "tool_use reported as end_turn", events=_swap_stop_reasons({"tool_use": "end_turn"})),
        Mutation("filter_as_end_turn", "content_filtered reported as end_turn",
                 events=_swap_stop_reasons({"content_filtered": "end_turn"})),
        Mutation("lost_usage", "metadata (usage and metrics) never emitted", events=_drop_usage),
        Mutation("merged_tool_calls", "parallel tool calls merged into one block", events=_merge_tool_calls),
        Mutation("swallowed_errors", "any exception turned into an empty end_turn", events=_swallow_errors),
        Mutation("corrupted_tool_args", "tool input JSON loses its first character", events=_corrupt_tool_arguments),
        Mutation("overflow_as_generic", "context overflow raised as a plain RuntimeError",
                 events=_as_runtime_error(ContextWindowOverflowException)),
        Mutation("throttle_as_generic", "throttling raised as a plain RuntimeError (never retried)",
                 events=_as_runtime_error(ModelThrottledException)),
        Mutation("dropped_text", "the last text delta of each block lost", events=_drop_text),
        Mutation("dropped_reasoning", "reasoning deltas dropped", events=_drop_reasoning),
        Mutation("missing_message_stop", "messageStop never emitted", events=_drop_message_stop),
        Mutation("constant_tool_ids", "every tool call given the same id", events=_lose_tool_use_ids),
        Mutation("dropped_system_prompt", "system prompt (and its content blocks) not sent", request=_drop_system_prompt),
        Mutation("dropped_tool_choice", "tool_choice not sent", request=_drop_tool_choice),
        Mutation(
            "structured_output_none",
            "structured_output yields None instead of an instance or an error",
            structured_output_events=_structured_output_none,
        ),
    )
}


def _inner_model(base_url: str, model_id: str, api_key: str, config: dict[str, Any]) -> Model:
    from providers import OpenAIModel

    return OpenAIModel(client_args={"base_url": base_url, "api_key": api_key}, model_id=model_id, **config)


def mutant(name: str, *, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> MutantModel:
    """The mutant `name` around the reference OpenAI-compatible provider."""
    if name not in MUTATIONS:
        raise ValueError(f"no mutant named {name!r}; known: {', '.join(MUTATIONS)}")
    return MutantModel(_inner_model(base_url, model_id, api_key, config), MUTATIONS[name])


def _factory(name: str) -> Callable[..., MutantModel]:
    def factory(*, base_url: str, model_id: str, api_key: str = "EMPTY", **config: Any) -> MutantModel:
        return mutant(name, base_url=base_url, model_id=model_id, api_key=api_key, **config)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"Suite factory of the mutant {name!r}: {MUTATIONS[name].defect}."
    return factory


# One module attribute per mutant, so `--provider conformance.mutants:NAME` resolves.
faithful = _factory("faithful")
dropped_block_stop = _factory("dropped_block_stop")
wrong_stop_reason = _factory("wrong_stop_reason")
tool_use_as_end_turn = _factory("tool_use_as_end_turn")
filter_as_end_turn = _factory("filter_as_end_turn")
lost_usage = _factory("lost_usage")
merged_tool_calls = _factory("merged_tool_calls")
swallowed_errors = _factory("swallowed_errors")
corrupted_tool_args = _factory("corrupted_tool_args")
overflow_as_generic = _factory("overflow_as_generic")
throttle_as_generic = _factory("throttle_as_generic")
dropped_text = _factory("dropped_text")
dropped_reasoning = _factory("dropped_reasoning")
missing_message_stop = _factory("missing_message_stop")
constant_tool_ids = _factory("constant_tool_ids")
dropped_system_prompt = _factory("dropped_system_prompt")
dropped_tool_choice = _factory("dropped_tool_choice")
structured_output_none = _factory("structured_output_none")


# -- running the mutation check -----------------------------------------------------------------------

SUITE_DIR = Path(__file__).resolve().parent
CONTROL = "faithful"
# The reference provider the mutants wrap, run bare: the control must score exactly as it does.
REFERENCE = "openai"


class MutationRunError(Exception):
    """The suite could not run against a mutant (not: the mutant was caught)."""


@dataclass(frozen=True)
class CheckOutcome:
    family: str
    outcome: str
    reason: str


def run_suite(spec: str, workdir: Path, wire: str = "openai-chat", timeout: float = 600) -> dict[str, CheckOutcome]:
    """Run the whole suite in a subprocess against `--provider spec`; check id -> outcome, from the gate's results."""
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pytest", str(SUITE_DIR), "--provider", spec, "--wire", wire,
        # Replayed cassettes only: tests marked live start real servers, which no mutant needs.
        "-m", "not live", "-q", "-p", "no:cacheprovider", "--matrix-dir", str(workdir), "--junitxml", str(workdir / "junit.xml"),
    ]
    done = subprocess.run(command, cwd=SUITE_DIR.parent, capture_output=True, text=True, timeout=timeout)
    if done.returncode not in (0, 1):
        raise MutationRunError(
            f"`{' '.join(command)}` exited {done.returncode} (not a pass or a test failure):\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
        )
    files = sorted((workdir / "results").glob("*.json"))
    if not files:
        raise MutationRunError(f"the suite ran against {spec} but wrote no results under {workdir}:\n{done.stdout[-3000:]}")
    outcomes: dict[str, CheckOutcome] = {}
    for path in files:
        for row in json.loads(path.read_text(encoding="utf-8"))["results"]:
            outcomes[row["check"]] = CheckOutcome(row["family"], row["outcome"], row.get("reason", ""))
    return outcomes


def caught_by(control: dict[str, CheckOutcome], mutant_run: dict[str, CheckOutcome]) -> dict[str, CheckOutcome]:
    """Checks that pass for the control and fail for the mutant: the ones that caught it."""
    return {
        check: outcome
        for check, outcome in sorted(mutant_run.items())
        if outcome.outcome in ("failed", "error") and control.get(check, CheckOutcome("", "", "")).outcome == "passed"
    }


def run_all(workdir: Path, names: list[str] | None = None, workers: int = 2) -> dict[str, dict[str, CheckOutcome]]:
    """The bare reference provider (key REFERENCE), the control and every mutant (or `names`)."""
    specs = {REFERENCE: REFERENCE, CONTROL: f"conformance.mutants:{CONTROL}"}
    specs |= {n: f"conformance.mutants:{n}" for n in (names or MUTATIONS) if n != CONTROL}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(run_suite, spec, workdir / name) for name, spec in specs.items()}
        return {name: future.result() for name, future in futures.items()}


def differences(expected: dict[str, CheckOutcome], seen: dict[str, CheckOutcome]) -> list[str]:
    """Checks whose outcome differs between two runs, as readable lines."""
    lines = []
    for check in sorted(set(expected) | set(seen)):
        want, got = expected.get(check), seen.get(check)
        if (want and want.outcome) != (got and got.outcome):
            lines.append(f"{check}: {want.outcome if want else 'not run'} -> {got.outcome if got else 'not run'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m conformance.mutants [--workdir DIR] [NAME...]`: run mutants, print which checks caught each."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m conformance.mutants", description=main.__doc__)
    parser.add_argument("names", nargs="*", help=f"mutants to run (default: all): {', '.join(MUTATIONS)}")
    parser.add_argument("--workdir", type=Path, help="keep each run's results and JUnit XML here")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in MUTATIONS]
    if unknown:
        parser.error(f"unknown mutants {unknown}; known: {', '.join(MUTATIONS)}")
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        runs = run_all(args.workdir or Path(tmp), args.names or None)
    reference, control = runs.pop(REFERENCE), runs.pop(CONTROL)
    passed = sum(1 for o in control.values() if o.outcome == "passed")
    print(f"control (faithful): {passed} of {len(control)} checks pass")
    for line in differences(reference, control):
        print(f"control differs from the bare {REFERENCE} provider: {line}")
    print("| mutant | defect | caught by |")
    print("|---|---|---|")
    missed = 0
    for name, run in runs.items():
        catchers = caught_by(control, run)
        missed += not catchers
        shown = ", ".join(f"`{c}`" for c in list(catchers)[:3]) + (f" (+{len(catchers) - 3} more)" if len(catchers) > 3 else "")
        print(f"| {name} | {MUTATIONS[name].defect} | {shown or '**NOT CAUGHT**'} |")
    print(f"{len(runs) - missed} of {len(runs)} mutants caught")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
