"""Request shape: what the provider sends means what the caller asked (asserted apart from replay matching).

The wire's request reader turns the body into a meaning (tools, tool choice, system prompt, tool calls
and results), so these checks hold for every wire family; each body must also be valid under the wire's
published request schema (an assistant turn of tool calls only never goes out with `content: []`).
"""

from __future__ import annotations

import pytest

from conformance.cases import WEATHER_TOOL
from conformance.schemas import assert_bodies_match_schema
from conformance.wires import RequestMeaning

pytestmark = pytest.mark.family("request_shape")


async def sent_meaning(conformance_run) -> RequestMeaning:
    """Stream the case, require every body valid under the wire's schema, and read what request #0 means."""
    await conformance_run.attempt()
    assert_bodies_match_schema(conformance_run)
    return conformance_run.sent_meaning()


@pytest.mark.cases("shape_tools")
@pytest.mark.asyncio
async def test_tools_sent(conformance_run):
    """Each tool spec goes out with its name, description and JSON schema unchanged.

    Severity: must -- the model sees other tools than the agent has: calls fail or never happen.
    """
    tools = (await sent_meaning(conformance_run)).tools
    assert [tool["name"] for tool in tools] == ["get_weather"], f"tools sent: {tools}"
    (tool,) = tools
    assert tool["description"] == WEATHER_TOOL["description"], tool
    assert tool["parameters"] == WEATHER_TOOL["inputSchema"]["json"], tool


@pytest.mark.cases("shape_tools", "shape_tool_choice_any", "shape_tool_choice_named")
@pytest.mark.asyncio
async def test_tool_choice_sent(conformance_run):
    """tool_choice auto, any and a named tool reach the server with the same meaning.

    Severity: must -- the agent's tool choice (structured output forces a tool) is not what the model gets.
    """
    meaning = await sent_meaning(conformance_run)
    kind = next(iter(conformance_run.case.tool_choice))
    wanted = {"auto": "auto", "any": "any", "tool": ("tool", "get_weather")}[kind]
    # Same meanings: auto is the server default when tools are present, so leaving it out says the same;
    # a named tool may go out as that one tool plus "any" (for servers that ignore the name).
    accepted = [wanted]
    if kind == "auto":
        accepted.append(None)
    names = [tool["name"] for tool in meaning.tools]
    if kind == "tool" and names == ["get_weather"]:
        accepted.append("any")
    assert meaning.tool_choice in accepted, f"tool_choice means {meaning.tool_choice!r} (tools {names}), expected {wanted!r}"


@pytest.mark.cases("shape_system_prompt")
@pytest.mark.asyncio
async def test_system_prompt_sent(conformance_run):
    """A plain system prompt is sent once, before the conversation.

    Severity: must -- the model answers without its instructions.
    """
    meaning = await sent_meaning(conformance_run)
    assert meaning.system_messages <= 1 and meaning.system_first, f"{meaning.system_messages} system messages, first: {meaning.system_first}"
    assert meaning.system_text == "You are terse.", f"system prompt sent: {meaning.system_text!r}"


@pytest.mark.cases("shape_system_prompt_content")
@pytest.mark.asyncio
async def test_system_prompt_content_sent(conformance_run):
    """system_prompt_content blocks are all sent (not silently dropped), in order.

    Severity: must -- instructions dropped from the request are lost data.
    """
    text = (await sent_meaning(conformance_run)).system_text or ""
    assert "You are terse." in text and "Answer in English." in text, f"system prompt sent: {text!r}"
    assert text.index("You are terse.") < text.index("Answer in English."), f"system prompt sent: {text!r}"


@pytest.mark.cases("shape_tool_results")
@pytest.mark.asyncio
async def test_tool_results_sent_with_ids(conformance_run):
    """The earlier call goes back as the assistant's tool call and its result under the same id.

    Severity: must -- the model never sees its tool's result, so the loop repeats the call.
    """
    meaning = await sent_meaning(conformance_run)
    assert meaning.roles == ["user", "assistant", "tool"] or meaning.roles == ["user", "assistant", "user"], meaning.roles
    assert [(call.call_id, call.name, call.input) for call in meaning.tool_calls] == [
        ("call_oslo0001", "get_weather", {"city": "Oslo"})
    ], meaning.tool_calls
    assert [result.call_id for result in meaning.tool_results] == ["call_oslo0001"], meaning.tool_results
    assert "3 C, light snow" in meaning.tool_results[0].text, meaning.tool_results


@pytest.mark.cases("text_basic")
@pytest.mark.asyncio
async def test_streaming_with_usage_requested(conformance_run):
    """The request streams and asks for usage (OpenAI's stream_options.include_usage), or servers never send it.

    Severity: must -- without it the server sends no usage: token counts are lost.
    """
    meaning = await sent_meaning(conformance_run)
    assert meaning.streaming, "the request does not ask for a stream"
    assert meaning.usage_requested, "the request does not ask for the usage chunk"
