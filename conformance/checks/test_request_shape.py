"""Request shape: what the provider sends means what the caller asked (asserted apart from replay matching)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.family("request_shape")


def _body(conformance) -> dict:
    assert conformance.sent, "the provider sent no request"
    body = conformance.sent[0].body
    assert isinstance(body, dict), f"request body is not JSON: {body!r}"
    return body


@pytest.mark.cases("shape_tools")
async def test_tools_sent_as_functions(conformance):
    """Each tool spec goes out as {"type": "function", "function": {name, description, parameters}}."""
    await conformance.attempt()
    tools = _body(conformance).get("tools")
    assert tools, "no tools in the request"
    (tool,) = tools
    assert tool.get("type") == "function", tool
    function = tool["function"]
    assert function["name"] == "get_weather" and function.get("description"), function
    assert function["parameters"]["properties"] == {"city": {"type": "string", "description": "City name"}}, function
    assert function["parameters"].get("required") == ["city"], function


@pytest.mark.cases("shape_tools", "shape_tool_choice_any", "shape_tool_choice_named")
async def test_tool_choice_sent(conformance):
    """tool_choice auto/any/tool become "auto", "required" and {"type": "function", "function": {"name"}}."""
    await conformance.attempt()
    choice = conformance.case.tool_choice
    wanted = {
        "auto": "auto",
        "any": "required",
        "tool": {"type": "function", "function": {"name": "get_weather"}},
    }[next(iter(choice))]
    body = _body(conformance)
    sent = body.get("tool_choice")
    # Equivalent meanings: "auto" is the server default when tools are present, so leaving it out is the
    # same; a named tool may be sent as that one tool plus "required" (for servers that ignore the name).
    accepted: list = [wanted]
    if wanted == "auto":
        accepted.append(None)
    tool_names = [tool["function"]["name"] for tool in body.get("tools") or []]
    if isinstance(wanted, dict) and tool_names == ["get_weather"]:
        accepted.append("required")
    assert sent in accepted, f"tool_choice {sent!r} with tools {tool_names}, expected {wanted!r}"


def _system_text(body: dict) -> str:
    system = [message for message in body["messages"] if message.get("role") in ("system", "developer")]
    assert len(system) == 1, f"expected one system message, got {system}"
    assert body["messages"][0] is system[0], "the system message is not first"
    content = system[0]["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


@pytest.mark.cases("shape_system_prompt")
async def test_system_prompt_sent(conformance):
    """A plain system prompt goes out as the first message, role system."""
    await conformance.attempt()
    assert _system_text(_body(conformance)) == "You are terse."


@pytest.mark.cases("shape_system_prompt_content")
async def test_system_prompt_content_sent(conformance):
    """system_prompt_content blocks are all sent (not silently dropped), in order."""
    await conformance.attempt()
    text = _system_text(_body(conformance))
    assert "You are terse." in text and "Answer in English." in text, f"system text {text!r}"
    assert text.index("You are terse.") < text.index("Answer in English."), f"system text {text!r}"


@pytest.mark.cases("shape_tool_results")
async def test_tool_results_sent_with_ids(conformance):
    """The earlier call goes out as assistant tool_calls and its result as a role tool message, same id."""
    await conformance.attempt()
    messages = _body(conformance)["messages"]
    roles = [message["role"] for message in messages if message["role"] not in ("system",)]
    assert roles == ["user", "assistant", "tool"], f"roles {roles}"
    (call,) = messages[-2]["tool_calls"]
    assert call["id"] == "call_oslo0001" and call["type"] == "function", call
    assert call["function"]["name"] == "get_weather", call
    assert call["function"]["arguments"].replace(" ", "") == '{"city":"Oslo"}', call
    result = messages[-1]
    assert result["tool_call_id"] == "call_oslo0001", result
    content = result["content"]
    text = content if isinstance(content, str) else "".join(part.get("text", "") for part in content)
    assert "3 C, light snow" in text, result
