"""TokenRecorder in a real Strands Agent loop (scripted model events), and its span attributes."""

from __future__ import annotations

import pytest
from strands import Agent, tool

from providers.training import MalformedTokenIdsError, TokenRecorder
from providers.training.recorder import (
    SPAN_ATTRIBUTE_COMPLETION_COUNT,
    SPAN_ATTRIBUTE_PROMPT_COUNT,
    SPAN_ATTRIBUTE_PROMPT_IDS,
    SPAN_ATTRIBUTE_RESPONSE_IDS,
)

from .scripted import ScriptedModel, text_call, tool_call


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression.

    Args:
        expression: the expression to evaluate
    """
    return str(eval(expression, {"__builtins__": {}}))  # test tool: digits and operators only


def test_records_one_entry_per_model_call_and_chains_the_inner_handler() -> None:
    seen: list[str] = []
    recorder = TokenRecorder(inner=lambda **kwargs: seen.extend(kwargs))
    model = ScriptedModel([
        tool_call("calculator", '{"expression": "6*7"}', prompt_ids=[1, 10, 11], ids=[20, 21, 2]),
        text_call("42", prompt_ids=[1, 10, 11, 20, 21, 2, 30], ids=[40, 2]),
    ])
    agent = Agent(model=model, tools=[calculator], callback_handler=recorder)

    agent("what is 6*7?")

    assert [call.index for call in recorder.history] == [0, 1]
    first, second = recorder.history
    assert first.prompt_token_ids == (1, 10, 11) and first.token_ids == (20, 21, 2)
    assert first.stop_reason == "tool_use" and first.tool_use_count == 1 and first.text == ""
    assert second.text == "42" and second.stop_reason == "end_turn"
    assert second.usage is not None and (second.usage.input_tokens, second.usage.output_tokens) == (7, 2)
    assert recorder.prompt_token_ids == (1, 10, 11, 20, 21, 2, 30)
    assert recorder.token_ids == (40, 2)
    assert "event" in seen and "result" in seen  # the inner handler got the agent's callbacks too


def test_call_without_ids_still_gets_an_entry() -> None:
    recorder = TokenRecorder()
    agent = Agent(model=ScriptedModel([text_call("hi", None, None)]), callback_handler=recorder)
    agent("hello")
    assert len(recorder.history) == 1
    assert recorder.history[0].has_token_ids is False
    assert recorder.token_ids is None and recorder.prompt_token_ids is None


def test_usage_sent_before_message_stop_belongs_to_that_call() -> None:
    recorder = TokenRecorder()
    recorder.record_event({"messageStart": {"role": "assistant"}})
    recorder.record_event({"metadata": {"usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}}})
    recorder.record_event({"messageStop": {"stopReason": "end_turn",
                                           "additionalModelResponseFields": {"prompt_token_ids": [1, 2, 3], "token_ids": [4]}}})
    assert recorder.history[0].usage is not None and recorder.history[0].usage.input_tokens == 3


@pytest.mark.parametrize("bad", ["1 2 3", [1, "2"], [1, -1], [True]])
def test_malformed_ids_raise_with_the_value_seen(bad: object) -> None:
    recorder = TokenRecorder()
    with pytest.raises(MalformedTokenIdsError, match="token_ids must be a list of non-negative ints"):
        recorder.record_event({"messageStop": {"stopReason": "end_turn",
                                               "additionalModelResponseFields": {"token_ids": bad}}})


def test_reset_forgets_history() -> None:
    recorder = TokenRecorder()
    recorder.record_event({"messageStop": {"additionalModelResponseFields": {"prompt_token_ids": [1], "token_ids": [2]}}})
    recorder.reset()
    assert recorder.history == [] and recorder.token_ids is None


def test_span_attributes_land_on_the_model_invoke_spans(span_exporter) -> None:
    recorder = TokenRecorder(add_to_span=True)
    model = ScriptedModel([
        tool_call("calculator", '{"expression": "1+1"}', prompt_ids=[1, 5, 6], ids=[7, 8, 2]),
        text_call("2", prompt_ids=[1, 5, 6, 7, 8, 2, 9], ids=[10, 2]),
    ])
    Agent(model=model, tools=[calculator], callback_handler=recorder)("1+1?")

    with_ids = [span for span in span_exporter.get_finished_spans()
                if span.attributes and SPAN_ATTRIBUTE_RESPONSE_IDS in span.attributes]
    assert len(with_ids) == 2, [span.name for span in span_exporter.get_finished_spans()]
    by_count = sorted(with_ids, key=lambda span: span.attributes[SPAN_ATTRIBUTE_PROMPT_COUNT])
    assert by_count[0].attributes[SPAN_ATTRIBUTE_PROMPT_IDS] == (1, 5, 6)
    assert by_count[0].attributes[SPAN_ATTRIBUTE_RESPONSE_IDS] == (7, 8, 2)
    assert by_count[0].attributes[SPAN_ATTRIBUTE_COMPLETION_COUNT] == 3
    assert by_count[1].attributes[SPAN_ATTRIBUTE_PROMPT_COUNT] == 7
    assert by_count[1].attributes[SPAN_ATTRIBUTE_COMPLETION_COUNT] == 2
    # They are the model-invocation spans, not the agent or cycle spans around them.
    assert all(span.name == with_ids[0].name for span in with_ids)


def test_no_span_attributes_unless_asked(span_exporter) -> None:
    recorder = TokenRecorder()
    Agent(model=ScriptedModel([text_call("hi", [1, 2], [3, 2])]), callback_handler=recorder)("hi")
    assert span_exporter.get_finished_spans(), "the agent should have produced spans"
    assert not any(span.attributes and SPAN_ATTRIBUTE_PROMPT_IDS in span.attributes
                   for span in span_exporter.get_finished_spans())
