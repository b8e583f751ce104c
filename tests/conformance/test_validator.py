"""Unit tests of the event-sequence validator: each rule fails with its name, the index and expected vs got."""

from __future__ import annotations

import pytest

from conformance.validator import EventSequenceError, validate_events

START = {"messageStart": {"role": "assistant"}}
TEXT_START = {"contentBlockStart": {"start": {}}}
STOP_BLOCK = {"contentBlockStop": {}}
END_TURN = {"messageStop": {"stopReason": "end_turn"}}
TOOL_USE = {"messageStop": {"stopReason": "tool_use"}}
METADATA = {"metadata": {"usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}, "metrics": {"latencyMs": 9}}}


def text(value: str) -> dict:
    return {"contentBlockDelta": {"delta": {"text": value}}}


def tool_start(tool_id: str = "call_1", name: str = "get_weather") -> dict:
    return {"contentBlockStart": {"start": {"toolUse": {"toolUseId": tool_id, "name": name}}}}


def tool_input(value: str, **identity: str) -> dict:
    return {"contentBlockDelta": {"delta": {"toolUse": {"input": value, **identity}}}}


def reasoning(value: str) -> dict:
    return {"contentBlockDelta": {"delta": {"reasoningContent": {"text": value}}}}


def failure(events: list) -> EventSequenceError:
    with pytest.raises(EventSequenceError) as caught:
        validate_events(events)
    return caught.value


def test_valid_text_stream_summarised():
    summary = validate_events([START, TEXT_START, text("Hel"), text("lo"), STOP_BLOCK, END_TURN, METADATA])
    assert summary.text == "Hello"
    assert summary.stop_reason == "end_turn"
    assert summary.usage == {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}


def test_text_block_opened_by_its_first_delta_as_bedrock_streams_it():
    summary = validate_events([START, text("Hel"), text("lo"), STOP_BLOCK, tool_start(), STOP_BLOCK, TOOL_USE])
    assert (summary.text, len(summary.tool_uses)) == ("Hello", 1)
    with pytest.raises(EventSequenceError, match="blocks-closed-before-stop"):
        validate_events([START, text("Hello"), END_TURN])  # never stopped: the loop would lose the text


def test_valid_tool_stream_with_late_identity_and_split_input():
    events = [
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "call_1", "name": "get_weather"}}}},
        tool_input('{"ci'),
        tool_input('ty": "Tokyo"}'),
        STOP_BLOCK,
        TOOL_USE,
    ]
    (tool,) = validate_events(events).tool_uses
    assert (tool.tool_use_id, tool.name, tool.input) == ("call_1", "get_weather", {"city": "Tokyo"})


def test_zero_argument_tool_is_empty_object():
    (tool,) = validate_events([tool_start(), STOP_BLOCK, TOOL_USE]).tool_uses
    assert tool.input == {}


@pytest.mark.parametrize(
    ("events", "rule", "index", "in_message"),
    [
        ([["not", "a", "dict"]], "one-key-event", 0, "got list"),
        ([{"messageStart": {"role": "assistant"}, "messageStop": {}}], "one-key-event", 0, "keys"),
        ([{"throttlingException": {"message": "x"}}], "known-event-key", 0, "raise the mapped strands exception"),
        ([{"messageStart": {"role": "user"}}], "schema", 0, "'assistant' was expected"),
        ([TEXT_START, {"contentBlockDelta": {"delta": {"text": 3}}}], "schema", 1, "3 is not of type 'string'"),
        ([TEXT_START, text("a"), STOP_BLOCK, {"messageStop": {"stopReason": "stop"}}], "schema", 3, "'stop' is not one of"),
        ([{"contentBlockStart": {"start": {"toolUse": {"toolUseId": "", "name": "f"}}}}], "schema", 0, "non-empty"),
        ([TEXT_START, text("a"), STOP_BLOCK, START], "message-start-first", 3, "it at #3"),
        ([TEXT_START, TEXT_START], "blocks-not-interleaved", 1, "block opened at #0"),
        ([tool_input("{}")], "delta-inside-block", 0, "no open block"),
        ([STOP_BLOCK], "stop-closes-open-block", 0, "no open block"),
        ([TEXT_START, tool_input("{}")], "delta-matches-block", 1, "a toolUse delta"),
        ([tool_start(), text("a")], "delta-matches-block", 1, "a text delta"),
        ([TEXT_START, text("a"), reasoning("b")], "delta-matches-block", 2, "a reasoning delta"),
        ([tool_start(), tool_input("{", toolUseId="call_2")], "tool-identity-stable", 1, "'call_2'"),
        ([TEXT_START, text("a"), END_TURN], "blocks-closed-before-stop", 2, "got messageStop"),
        ([TEXT_START, text("a")], "blocks-closed-before-stop", 2, "end of stream"),
        ([TEXT_START, text("a"), STOP_BLOCK], "one-message-stop", 3, "none"),
        ([TEXT_START, text("a"), STOP_BLOCK, END_TURN, TEXT_START], "nothing-after-message-stop", 4, "contentBlockStart"),
        ([TEXT_START, text("a"), STOP_BLOCK, END_TURN, END_TURN], "nothing-after-message-stop", 4, "messageStop"),
        ([tool_start(), tool_input('{"city": '), STOP_BLOCK, TOOL_USE], "tool-input-json", 2, "Expecting value"),
        ([tool_start(), tool_input("[1]"), STOP_BLOCK, TOOL_USE], "tool-input-json", 2, "list"),
        ([TEXT_START, text("a"), STOP_BLOCK, TOOL_USE], "stop-reason-matches-content", 3, "no tool block"),
        ([tool_start(), STOP_BLOCK, END_TURN], "stop-reason-matches-content", 2, "end_turn"),
        ([TEXT_START, METADATA], "metadata-outside-block", 1, "metadata"),
        ([END_TURN, METADATA, METADATA], "one-metadata", 2, "first at #1"),
        (
            [END_TURN, {"metadata": {"usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 6}, "metrics": {"latencyMs": 1}}}],
            "usage-total", 1, "totalTokens 6",
        ),
        ([END_TURN, {"metadata": {"usage": {"inputTokens": 1.5, "outputTokens": 2, "totalTokens": 3}, "metrics": {"latencyMs": 1}}}],
         "schema", 1, "1.5 is not of type 'integer'"),
    ],
)
def test_each_rule_fails_with_its_name_index_and_sides(events, rule, index, in_message):
    error = failure(events)
    assert error.rule == rule, str(error)
    assert error.index == index, str(error)
    assert in_message in str(error), str(error)
    assert f"rule '{rule}'" in str(error) and "expected" in str(error) and "got" in str(error)


def test_tool_identity_restated_in_delta_is_accepted():
    events = [tool_start(), tool_input("{}", toolUseId="call_1", name="get_weather"), STOP_BLOCK, TOOL_USE]
    assert validate_events(events).tool_uses[0].tool_use_id == "call_1"


def test_unparsable_tool_input_allowed_when_cut_by_max_tokens():
    summary = validate_events([tool_start(), tool_input('{"city": "Tok'), STOP_BLOCK, {"messageStop": {"stopReason": "max_tokens"}}])
    assert summary.stop_reason == "max_tokens"
    assert summary.tool_uses[0].raw_input == '{"city": "Tok'


def test_error_message_names_event_position():
    error = failure([TEXT_START, text("a"), END_TURN])
    assert str(error).startswith('event #2 {"messageStop"')


def _usage(**usage: int) -> list[dict]:
    return [END_TURN, {"metadata": {"usage": usage, "metrics": {"latencyMs": 1}}}]


def test_total_may_count_the_cached_prompt_as_bedrock_does():
    with_cache = _usage(inputTokens=3, outputTokens=2, totalTokens=12, cacheReadInputTokens=4, cacheWriteInputTokens=3)
    assert validate_events(with_cache).usage["totalTokens"] == 12
    without = _usage(inputTokens=3, outputTokens=2, totalTokens=5, cacheReadInputTokens=4)
    assert validate_events(without).usage["totalTokens"] == 5


def test_total_matching_neither_sum_names_both():
    error = failure(_usage(inputTokens=3, outputTokens=2, totalTokens=8, cacheReadInputTokens=4))
    assert error.rule == "usage-total"
    assert "== 5" in str(error) and "== 9" in str(error) and "totalTokens 8" in str(error)
