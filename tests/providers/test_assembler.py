"""The shared StreamAssembler: block grammar, tool-call reassembly and stop mapping, one rule per test."""

from __future__ import annotations

import logging

import pytest

from providers._assembler import StreamAssembler
from providers._openai_chat import CHAT_FINISH_WORDS
from providers.errors import StreamServerError, ToolCallAssemblyError


def chat_assembler(**kwargs) -> StreamAssembler:
    """An assembler reading the OpenAI chat finish words, which most rules here are stated in."""
    return StreamAssembler(finish_words=CHAT_FINISH_WORDS, **kwargs)


def run(feed) -> list[dict]:
    asm = chat_assembler()
    events = list(asm.start())
    events += feed(asm)
    return events


def finish(asm: StreamAssembler, reason: str | None, **kwargs) -> list[dict]:
    asm.set_finish_reason(reason)
    return list(asm.finish(**kwargs))


def stop_reason(events: list[dict]) -> str:
    return next(e["messageStop"]["stopReason"] for e in events if "messageStop" in e)


def tool_starts(events: list[dict]) -> list[dict]:
    return [e["contentBlockStart"]["start"]["toolUse"] for e in events
            if "contentBlockStart" in e and "toolUse" in e["contentBlockStart"]["start"]]


def tool_inputs(events: list[dict]) -> list[str]:
    """Concatenated input per toolUse block, in block order."""
    inputs: list[str] = []
    current: list[str] | None = None
    for event in events:
        if "contentBlockStart" in event:
            current = [] if "toolUse" in event["contentBlockStart"]["start"] else None
        elif "contentBlockDelta" in event and current is not None:
            current.append(event["contentBlockDelta"]["delta"]["toolUse"]["input"])
        elif "contentBlockStop" in event and current is not None:
            inputs.append("".join(current))
            current = None
    return inputs


def assert_grammar(events: list[dict]) -> None:
    """messageStart, blocks opened/filled/closed without interleaving, messageStop, metadata."""
    assert "messageStart" in events[0]
    open_block = False
    for event in events[1:-2]:
        if "contentBlockStart" in event:
            assert not open_block, events
            open_block = True
        elif "contentBlockDelta" in event:
            assert open_block, events
        elif "contentBlockStop" in event:
            assert open_block, events
            open_block = False
    assert not open_block
    assert "messageStop" in events[-2] and "metadata" in events[-1]


def test_text_opens_fills_and_closes_one_block():
    events = run(lambda a: [*a.text("Hel"), *a.text(""), *a.text("lo"), *finish(a, "stop")])
    assert events[:5] == [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": {}}},
        {"contentBlockDelta": {"delta": {"text": "Hel"}}},
        {"contentBlockDelta": {"delta": {"text": "lo"}}},
        {"contentBlockStop": {}},
    ]
    assert stop_reason(events) == "end_turn"
    assert_grammar(events)


def test_reasoning_then_text_are_two_blocks_and_signature_joins_reasoning():
    events = run(lambda a: [*a.reasoning_text("think"), *a.reasoning_signature("sig"), *a.text("answer"),
                            *finish(a, "stop")])
    assert events[1:6] == [
        {"contentBlockStart": {"start": {}}},
        {"contentBlockDelta": {"delta": {"reasoningContent": {"text": "think"}}}},
        {"contentBlockDelta": {"delta": {"reasoningContent": {"signature": "sig"}}}},
        {"contentBlockStop": {}},
        {"contentBlockStart": {"start": {}}},
    ]
    assert_grammar(events)


def test_redacted_reasoning_is_its_own_block():
    events = run(lambda a: [*a.reasoning_text("x"), *a.reasoning_redacted(b"\x00secret"), *finish(a, "stop")])
    assert {"contentBlockDelta": {"delta": {"reasoningContent": {"redactedContent": b"\x00secret"}}}} in events
    assert sum("contentBlockStart" in e for e in events) == 2
    assert_grammar(events)


def test_tool_call_opens_when_id_and_name_known_and_streams_arguments():
    asm = chat_assembler()
    assert asm.tool_call(0, id="c1", arguments='{"a"') == []  # no name yet: buffered
    opened = asm.tool_call(0, name="f", arguments=": 1")
    assert opened == [
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "c1", "name": "f"}}}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"a": 1'}}}},
    ]
    assert list(asm.tool_call(0, arguments="}")) == [{"contentBlockDelta": {"delta": {"toolUse": {"input": "}"}}}}]
    events = finish(asm, "tool_calls")
    assert events[0] == {"contentBlockStop": {}}
    assert stop_reason(events) == "tool_use"


def test_late_id_arrives_after_name_and_arguments():
    events = run(lambda a: [*a.tool_call(0, name="f", arguments="{}"), *a.tool_call(0, id="late"),
                            *finish(a, "tool_calls")])
    assert tool_starts(events) == [{"toolUseId": "late", "name": "f"}]
    assert tool_inputs(events) == ["{}"]


def test_parallel_calls_by_index():
    def feed(a):
        return [*a.tool_call(0, id="a", name="f", arguments='{"x":'), *a.tool_call(0, arguments="1}"),
                *a.tool_call(1, id="b", name="g", arguments='{"y":2}'), *finish(a, "tool_calls")]
    events = run(feed)
    assert tool_starts(events) == [{"toolUseId": "a", "name": "f"}, {"toolUseId": "b", "name": "g"}]
    assert tool_inputs(events) == ['{"x":1}', '{"y":2}']
    assert_grammar(events)


def test_new_id_on_index_zero_is_a_new_call():
    def feed(a):
        return [*a.tool_call(0, id="a", name="f", arguments="{}"), *a.tool_call(0, id="b", name="g", arguments="{}"),
                *finish(a, "tool_calls")]
    events = run(feed)
    assert [s["toolUseId"] for s in tool_starts(events)] == ["a", "b"]
    assert_grammar(events)


def test_repeated_same_id_stays_the_same_call():
    events = run(lambda a: [*a.tool_call(0, id="a", name="f", arguments='{"x"'),
                            *a.tool_call(0, id="a", arguments=":1}"), *finish(a, "tool_calls")])
    assert tool_inputs(events) == ['{"x":1}']


def test_interleaved_parallel_calls_are_reassembled_in_order():
    def feed(a):
        return [*a.tool_call(0, id="a", name="f", arguments='{"x": '),
                *a.tool_call(1, id="b", name="g", arguments='{"y": '),
                *a.tool_call(0, arguments="1}"), *a.tool_call(1, arguments="2}"),
                *a.tool_call(2, id="c", name="h", arguments="{}"), *finish(a, "tool_calls")]
    events = run(feed)
    assert [s["toolUseId"] for s in tool_starts(events)] == ["a", "b", "c"]
    assert tool_inputs(events) == ['{"x": 1}', '{"y": 2}', "{}"]
    assert_grammar(events)


def test_first_call_streams_live_and_queued_call_opens_when_it_closes():
    asm = chat_assembler()
    assert len(asm.tool_call(0, id="a", name="f", arguments="{")) == 2  # start + delta, live
    assert asm.tool_call(1, id="b", name="g", arguments="{}") == []  # queued behind the open call
    events = asm.text("done")  # a text block ends the run: b goes out whole first
    assert events[:4] == [
        {"contentBlockStop": {}},
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "b", "name": "g"}}}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": "{}"}}}},
        {"contentBlockStop": {}},
    ]


def test_delta_for_a_call_closed_by_text_names_the_index_and_the_cause():
    asm = chat_assembler()
    asm.tool_call(0, id="a", name="f", arguments="{")
    asm.text("interjection")
    with pytest.raises(ToolCallAssemblyError, match=r"index 0 .*closed because a text block began"):
        asm.tool_call(0, arguments="}")


def test_call_that_never_gets_a_name_raises_at_finish():
    asm = chat_assembler()
    asm.tool_call(3, id="a", arguments="{}")
    asm.set_finish_reason("tool_calls")
    with pytest.raises(ToolCallAssemblyError, match="index 3.*never received a function name"):
        asm.finish()


def test_call_without_id_gets_a_generated_one(caplog):
    with caplog.at_level(logging.WARNING):
        events = run(lambda a: [*a.tool_call(0, name="f", arguments="{}"), *finish(a, "tool_calls")])
    (start,) = tool_starts(events)
    assert start["name"] == "f" and start["toolUseId"].startswith("call_")
    assert "without an id" in caplog.text


def test_zero_argument_tool_call_is_complete():
    events = run(lambda a: [*a.tool_call(0, id="a", name="now", arguments=""), *finish(a, "tool_calls")])
    assert tool_starts(events) == [{"toolUseId": "a", "name": "now"}]
    assert tool_inputs(events) == [""]
    assert stop_reason(events) == "tool_use"


@pytest.mark.parametrize("finish_reason", ["stop", "end_turn", None])
def test_tool_calls_with_a_stop_finish_are_tool_use(finish_reason):
    events = run(lambda a: [*a.tool_call(0, id="a", name="f", arguments="{}"), *finish(a, finish_reason)])
    assert stop_reason(events) == "tool_use"


def test_tool_call_cut_off_by_length_is_max_tokens():
    events = run(lambda a: [*a.tool_call(0, id="a", name="f", arguments='{"city": "Par'), *finish(a, "length")])
    assert stop_reason(events) == "max_tokens"
    assert_grammar(events)


def test_unnamed_call_cut_off_by_length_is_dropped_not_raised():
    events = run(lambda a: [*a.text("x"), *a.tool_call(0, id="a", arguments='{"ci'), *finish(a, "length")])
    assert tool_starts(events) == []
    assert stop_reason(events) == "max_tokens"


@pytest.mark.parametrize(
    ("wire", "strands"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "content_filtered"),
     ("stop_sequence", "stop_sequence"), ("guardrail_intervened", "guardrail_intervened"), (None, "end_turn")],
)
def test_finish_reason_table(wire, strands):
    events = run(lambda a: [*a.text("x"), *finish(a, wire)])
    assert stop_reason(events) == strands


def test_tool_calls_finish_without_a_call_is_end_turn(caplog):
    with caplog.at_level(logging.WARNING):
        events = run(lambda a: [*a.text("x"), *finish(a, "tool_calls")])
    assert stop_reason(events) == "end_turn"
    assert "no tool call" in caplog.text


def test_unknown_finish_reason_is_end_turn_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        events = run(lambda a: [*a.text("x"), *finish(a, "weird_reason")])
    assert stop_reason(events) == "end_turn"
    assert "weird_reason" in caplog.text


@pytest.mark.parametrize("reason", ["error", "abort"])
def test_failed_finish_reason_raises(reason):
    asm = chat_assembler()
    asm.text("partial")
    asm.set_finish_reason(reason)
    with pytest.raises(StreamServerError, match=reason):
        asm.finish()


def test_usage_metrics_and_additional_fields():
    ticks = iter([10.0, 10.25, 11.0])
    asm = chat_assembler(clock=lambda: next(ticks))
    asm.text("x")  # first block at 10.25
    asm.set_usage(5, 7, None, cache_read_tokens=3)
    events = finish(asm, "stop", additional_fields={"token_ids": [1, 2]})
    assert events[-2] == {"messageStop": {"stopReason": "end_turn", "additionalModelResponseFields": {"token_ids": [1, 2]}}}
    assert events[-1] == {"metadata": {
        "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12, "cacheReadInputTokens": 3},
        "metrics": {"latencyMs": 1000, "timeToFirstByteMs": 250},
    }}


def test_missing_usage_is_zero_and_null_fields_count_as_zero():
    asm = chat_assembler()
    events = finish(asm, "stop")
    assert events[-1]["metadata"]["usage"] == {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
    asm = chat_assembler()
    asm.set_usage(None, 4)
    assert finish(asm, "stop")[-1]["metadata"]["usage"] == {"inputTokens": 0, "outputTokens": 4, "totalTokens": 4}


def test_non_integer_usage_raises():
    with pytest.raises(StreamServerError, match="inputTokens is '5'"):
        chat_assembler().set_usage("5", 1)


def test_end_block_splits_two_text_blocks():
    events = run(lambda a: [*a.text("a"), *a.end_block(), *a.end_block(), *a.text("b"), *finish(a, "stop")])
    assert sum("contentBlockStart" in e for e in events) == 2
    assert_grammar(events)


def test_finish_twice_is_a_bug():
    asm = chat_assembler()
    asm.finish()
    with pytest.raises(RuntimeError):
        asm.finish()


@pytest.mark.parametrize(
    ("finish_words", "word", "expected"),
    [
        ({"refusal": "content_filtered"}, "refusal", "content_filtered"),  # the wire's own word
        ({"refusal": "content_filtered"}, "stop_sequence", "stop_sequence"),  # a Strands name passes through
        ({"refusal": "content_filtered"}, "length", "end_turn"),  # another wire's word is unknown here
    ],
)
def test_finish_words_are_the_wires_own(finish_words, word, expected, caplog):
    asm = StreamAssembler(finish_words=finish_words)
    events = [*asm.start(), *asm.text("hi"), *finish(asm, word)]
    assert stop_reason(events) == expected
    assert ("unknown finish reason" in caplog.text) == (word == "length")
