"""Structured output: a validated instance or an error, never a silent None, through the provider and an Agent."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from strands import Agent

pytestmark = pytest.mark.family("structured_output")


class WeatherReport(BaseModel):
    """The weather in one city."""

    city: str
    celsius: int


@pytest.mark.cases("structured_output")
async def test_provider_structured_output(conformance):
    """model.structured_output(WeatherReport, ...) yields {"output": WeatherReport} equal to the wire's JSON."""
    model = conformance.model()
    outputs = []
    async for event in model.structured_output(WeatherReport, list(conformance.case.messages)):
        if "output" in event:
            outputs.append(event["output"])
    assert len(outputs) == 1, f"expected one output event, got {len(outputs)}"
    (report,) = outputs
    assert isinstance(report, WeatherReport), f"output is {type(report).__name__}"
    expected = conformance.expected()
    answer = expected.text or (expected.tool_calls[0].arguments if expected.tool_calls else "")
    assert report == WeatherReport.model_validate_json(answer), f"{report!r} differs from the wire's {answer!r}"


@pytest.mark.cases("agent_structured_output")
async def test_agent_structured_output(conformance):
    """A real strands.Agent(structured_output_model=WeatherReport) returns a validated WeatherReport."""
    model = conformance.model()
    native = getattr(model, "_supports_structured_output", False) is True
    path = "native" if native else "tool"
    if not conformance.server.endswith(path):
        pytest.skip(f"cassette {conformance.server} is for the other structured-output path; this provider uses the {path} path")
    agent = Agent(model=model, structured_output_model=WeatherReport, callback_handler=None)
    result = await agent.invoke_async(conformance.case.messages[0]["content"][0]["text"])
    report = result.structured_output
    assert isinstance(report, WeatherReport), f"structured_output is {report!r}"
    assert report == WeatherReport(city="Tokyo", celsius=21), report
