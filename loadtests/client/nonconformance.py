"""Checks each streamed answer of a load run by the conformance suite's own rules: is it still correct under load?

Servers break under concurrency in ways one request at a time never shows: tool-call parsers and guided
decoding under continuous batching emit arguments that are not JSON, a finish reason that contradicts the
content, usage that does not match the tokens streamed. So a stream's raw bytes go through the suite's
reference decoder for its wire (`WireFamily.decode`), the answer they mean becomes the Strands event
sequence a correct provider would yield for it (the stop reason from the wire's own finish-word table, no
repair), and the suite's event-sequence validator judges it: event grammar, tool input parsing as JSON,
stop reason consistent with the content, usage totals. What only the load test knows adds the rest: the
request as the suite's request reader reads it (declared tools, tool choice, max_tokens, usage asked for),
the schema the output had to follow, and the tokens the load client counted on the way (token ids or
continuous usage).

Each broken rule is one `Violation`; the runner fails the request as `nonconformant`. It runs off the hot
path, once per sampled stream; `Sampler` picks the streams.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from conformance.validator import EventSequenceError, validate_events
from conformance.wires import WireExpectation, WireFamily

# The rules added here, beside the validator's own (its `EventSequenceError.rule` names).
LOAD_RULES = ("wire-decode", "finish-reason-known", "usage-present", "usage-matches-stream", "length-at-max-tokens",
              "tool-choice-required", "tool-call-schema", "json-output-schema")
SAMPLE_CHARS = 2000  # of the raw stream kept with a nonconformant record, to see what the server sent


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


class Sampler:
    """Picks `fraction` of the streams, evenly spread (every stream at 1, none at 0), the same in every run."""

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction
        self._seen = 0

    def take(self) -> bool:
        before = math.floor(self._seen * self.fraction)
        self._seen += 1
        return math.floor(self._seen * self.fraction) > before


def schema_problem(value: Any, schema: Mapping[str, Any] | None) -> str | None:
    """Why `value` does not follow `schema`, or None when it does."""
    error = jsonschema.exceptions.best_match(_validator(json.dumps(schema or {}, sort_keys=True)).iter_errors(value))
    return None if error is None else f"schema violation at {list(error.absolute_path)}: {error.message[:120]}"


@functools.lru_cache(maxsize=64)
def _validator(schema_text: str) -> Any:
    # Checking the schema itself costs ten times the validation (jsonschema.validate does it every call):
    # once per schema here, and a run has a handful.
    schema = json.loads(schema_text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def check_stream(wire: WireFamily, body: bytes, request: Any, *, output_schema: Mapping[str, Any] | None = None,
                 counted_tokens: int | None = None, latency_ms: float = 0.0, ttft_ms: float = 0.0) -> list[Violation]:
    """Every rule one streamed answer breaks (empty when it conforms).

    `request`: the request body as sent; `output_schema`: the JSON schema a structured output had to follow;
    `counted_tokens`: the output tokens the load client counted from per-chunk token ids or continuous usage
    (None when the stream carried neither).
    """
    try:
        expected = wire.decode(body)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # WireDecodeError, or a usage object missing a count
        return [Violation("wire-decode", f"the {wire.name} reference decoder cannot read the stream: {exc!r}"[:300])]
    assert wire.read_request is not None, f"wire {wire.name} has no request reader"
    meaning = wire.read_request(request)
    stop_reason = wire.strands_stop_reason(expected.finish_reason)
    if stop_reason is None:
        return [Violation("finish-reason-known", f"finish reason {expected.finish_reason!r} is none of the {wire.name} "
                                                 "wire's finish words")]
    found: list[Violation] = []
    try:
        validate_events(_events(expected, stop_reason, latency_ms, ttft_ms))
    except EventSequenceError as exc:
        found.append(Violation(exc.rule, f"expected {exc.expected}; got {exc.got}"[:300]))
    found += _usage_rules(expected, meaning, stop_reason, counted_tokens)
    if stop_reason != "max_tokens":  # a cut-off call or document is what a length finish means, not a fault
        found += _tool_rules(expected, meaning)
        if output_schema is not None:
            found += _output_rules(expected, output_schema)
    return found


def _events(expected: WireExpectation, stop_reason: str, latency_ms: float, ttft_ms: float) -> list[dict[str, Any]]:
    """The event sequence a correct provider yields for this answer (one block per kind: the validator's rules
    do not depend on how the deltas were cut)."""
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    for present, delta in ((expected.reasoning, {"reasoningContent": {"text": expected.reasoning}}),
                           (expected.text, {"text": expected.text})):
        if present:
            events += [{"contentBlockStart": {"start": {}}}, {"contentBlockDelta": {"delta": delta}}, {"contentBlockStop": {}}]
    for call in expected.tool_calls:
        events += [{"contentBlockStart": {"start": {"toolUse": {"toolUseId": call.call_id, "name": call.name}}}},
                   {"contentBlockDelta": {"delta": {"toolUse": {"input": call.arguments}}}}, {"contentBlockStop": {}}]
    events.append({"messageStop": {"stopReason": stop_reason}})
    if expected.usage:
        metrics = {"latencyMs": int(latency_ms), "timeToFirstByteMs": int(min(ttft_ms, latency_ms))}
        events.append({"metadata": {"usage": expected.usage, "metrics": metrics}})
    return events


def _usage_rules(expected: WireExpectation, meaning: Any, stop_reason: str, counted: int | None) -> Iterator[Violation]:
    usage = expected.usage
    if usage is None:
        if meaning.usage_requested:
            yield Violation("usage-present", "the request asked for usage (stream_options.include_usage) and none came")
    elif counted is not None and usage["outputTokens"] != counted:
        yield Violation("usage-matches-stream", f"usage says {usage['outputTokens']} output tokens, the stream carried "
                                                f"{counted} (token ids or continuous usage)")
    max_tokens = meaning.params.get("max_completion_tokens") or meaning.params.get("max_tokens")
    out = counted if counted is not None else (usage or {}).get("outputTokens")
    if not max_tokens or out is None:
        return
    if out > max_tokens:
        yield Violation("length-at-max-tokens", f"{out} output tokens, more than max_tokens {max_tokens}")
    elif stop_reason == "max_tokens" and out != max_tokens:
        yield Violation("length-at-max-tokens", f"a length finish after {out} output tokens, not at max_tokens {max_tokens}")


def _tool_rules(expected: WireExpectation, meaning: Any) -> Iterator[Violation]:
    if meaning.tool_choice == "any" and not expected.tool_calls:
        yield Violation("tool-choice-required", f"tool_choice required, and the answer called no tool "
                                                f"(finish {expected.finish_reason!r}, text {expected.text[:60]!r})")
    declared = {tool["name"]: tool.get("parameters") for tool in meaning.tools}
    for call in expected.tool_calls:
        if call.name not in declared:
            yield Violation("tool-call-schema", f"called {call.name!r}, not a declared tool ({', '.join(declared)})")
            continue
        try:
            arguments = call.input
        except ValueError:
            continue  # the validator's tool-input-json rule already says so
        problem = schema_problem(arguments, declared[call.name])
        if problem:
            yield Violation("tool-call-schema", f"{call.name} arguments: {problem}")


def _output_rules(expected: WireExpectation, schema: Mapping[str, Any]) -> Iterator[Violation]:
    try:
        value = json.loads(expected.text)
    except ValueError:
        yield Violation("json-output-schema", f"structured output is not JSON: {expected.text[:80]!r}")
        return
    problem = schema_problem(value, schema)
    if problem:
        yield Violation("json-output-schema", problem)
