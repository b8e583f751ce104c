"""ToolCallValidationHooks in a real Agent loop: what the model reads back for bad tool calls."""

from __future__ import annotations

import json
from typing import Any

import pytest
from strands import Agent, tool

from providers.training import ToolCallValidationHooks, format_allowed_tools, validate_tool_input

from .scripted import ScriptedModel, text_call, tool_call

RUNS: list[str] = []


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression.

    Args:
        expression: the expression to evaluate
    """
    RUNS.append(expression)
    return "ok"


@tool
def search(query: str, limit: int = 3) -> str:
    """Search.

    Args:
        query: what to look for
        limit: how many results
    """
    return "found"


def _tool_result_text(model: ScriptedModel) -> tuple[str, str]:
    """Status and text of the tool result the second model call received."""
    last_user = model.received[1][-1]
    result = next(block["toolResult"] for block in last_user["content"] if "toolResult" in block)
    return result["status"], result["content"][0]["text"]


def _run(name: str, arguments: dict[str, Any], hooks: ToolCallValidationHooks) -> ScriptedModel:
    RUNS.clear()
    model = ScriptedModel([
        tool_call(name, json.dumps(arguments), prompt_ids=[1], ids=[2]),
        text_call("ok", prompt_ids=[1, 2, 3], ids=[4]),
    ])
    Agent(model=model, tools=[calculator, search], hooks=[hooks], callback_handler=None)("go")
    return model


def test_unknown_tool_lists_the_allowed_tools() -> None:
    model = _run("fake_tool", {"x": 1}, ToolCallValidationHooks())
    assert _tool_result_text(model) == ("error", "Error: unknown tool: fake_tool | allowed_tools=[calculator, search]")


def test_allowed_tool_list_is_capped_and_can_be_left_out() -> None:
    model = _run("fake_tool", {}, ToolCallValidationHooks(max_allowed_tools=1))
    assert _tool_result_text(model)[1] == "Error: unknown tool: fake_tool | allowed_tools=[calculator, ... (+1 more)]"
    model = _run("fake_tool", {}, ToolCallValidationHooks(include_allowed_tools=False))
    assert _tool_result_text(model)[1] == "Error: unknown tool: fake_tool"


def test_missing_argument_is_caught_before_the_tool_runs() -> None:
    model = _run("calculator", {}, ToolCallValidationHooks())
    assert _tool_result_text(model) == ("error", "Error: tool_name=<calculator> | missing required argument(s): expression")
    assert RUNS == []


def test_unknown_argument_is_caught_before_the_tool_runs() -> None:
    model = _run("calculator", {"expression": "1+1", "invalid_param": 1}, ToolCallValidationHooks())
    assert _tool_result_text(model) == ("error", "Error: tool_name=<calculator> | unknown argument(s): invalid_param")
    assert RUNS == []


def test_valid_call_runs_and_optional_arguments_are_fine() -> None:
    model = _run("calculator", {"expression": "1+1"}, ToolCallValidationHooks())
    assert _tool_result_text(model)[0] == "success" and RUNS == ["1+1"]
    model = _run("search", {"query": "q", "limit": 5}, ToolCallValidationHooks())
    assert _tool_result_text(model)[0] == "success"


def test_argument_checks_can_be_switched_off() -> None:
    model = _run("calculator", {"expression": "2", "invalid_param": 1}, ToolCallValidationHooks(validate_arguments=False))
    # Strands drops the extra argument and runs the tool; unknown tools are still answered.
    assert _tool_result_text(model) == ("success", "ok") and RUNS == ["2"]
    model = _run("fake_tool", {}, ToolCallValidationHooks(validate_arguments=False))
    assert _tool_result_text(model)[1].startswith("Error: unknown tool: fake_tool | allowed_tools=")


def test_validate_tool_input_rules() -> None:
    spec = calculator.tool_spec
    assert validate_tool_input("calculator", {"expression": "1"}, spec) is None
    assert validate_tool_input("calculator", "1+1", spec) == (
        "Error: tool_name=<calculator> | tool input must be a JSON object, got str")
    assert validate_tool_input("calculator", {"b": 1, "a": 2}, spec) == (
        "Error: tool_name=<calculator> | missing required argument(s): expression | unknown argument(s): a, b")
    open_spec = {"name": "t", "description": "", "inputSchema": {"json": {"type": "object", "additionalProperties": True}}}
    assert validate_tool_input("t", {"anything": 1}, open_spec) is None


def test_format_allowed_tools_and_bad_limit() -> None:
    assert format_allowed_tools(["a", "b", "c"], limit=5) == "[a, b, c]"
    assert format_allowed_tools(["a", "b", "c"], limit=0) == "[... (+3 more)]"
    assert format_allowed_tools([], limit=3) == "[]"
    with pytest.raises(ValueError, match="max_allowed_tools must be an int >= 0, got -1"):
        ToolCallValidationHooks(max_allowed_tools=-1)
