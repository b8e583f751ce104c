"""End to end: a real strands.Agent with a real @tool runs a two-turn tool loop over the provider."""

from __future__ import annotations

import pytest
from strands import Agent, tool

pytestmark = pytest.mark.family("end_to_end")


@pytest.mark.cases("agent_tool_loop")
async def test_agent_tool_loop(conformance):
    """The Agent calls get_weather with the model's arguments, sends the result back under the call's id, and
    finishes with the model's text answer."""
    calls: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city.

        Args:
            city: City name
        """
        calls.append(city)
        return f"21 C and sunny in {city}"

    agent = Agent(model=conformance.model(), tools=[get_weather], callback_handler=None)
    result = await agent.invoke_async("What is the weather in Tokyo?")
    assert calls == ["Tokyo"], f"get_weather ran with {calls}"
    assert len(conformance.sent) == 2, f"expected 2 model requests, the Agent sent {len(conformance.sent)}"
    first_call = conformance.sent[0].body and agent.messages[1]["content"]
    tool_use_ids = [block["toolUse"]["toolUseId"] for block in first_call if "toolUse" in block]
    second = conformance.sent[1].body["messages"]
    results = [message for message in second if message.get("role") == "tool"]
    assert [message["tool_call_id"] for message in results] == tool_use_ids, f"tool messages {results}"
    assert result.stop_reason == "end_turn", result.stop_reason
    assert "Tokyo" in str(result), f"final answer {str(result)!r}"
