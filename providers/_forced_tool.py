"""Structured output by forcing one tool shaped like the output model, for the wire families with no
JSON-schema answer mode (Anthropic, Bedrock Converse, Llama API).

Why it exists: the upstream providers each re-implement this and some yield None or `{}` when the
model did not call the tool; here the result is a validated instance or a `StructuredOutputError`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Callable
from typing import Any

import pydantic
from strands.event_loop.streaming import process_stream
from strands.tools.structured_output.structured_output_utils import convert_pydantic_to_tool_spec
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from .errors import StructuredOutputError

__all__ = ["StructuredOutputByTool", "structured_output_by_tool"]


async def structured_output_by_tool(
    wire: str,
    output_model: type[pydantic.BaseModel],
    stream: Callable[[list[ToolSpec], dict[str, Any]], AsyncIterable[StreamEvent]],
) -> AsyncGenerator[dict[str, Any], None]:
    """Stream with the output model's tool forced; yield the loop's events, then `{"output": instance}`."""
    tool_spec = convert_pydantic_to_tool_spec(output_model)
    event: dict[str, Any] = {}
    async for event in process_stream(stream([tool_spec], {"tool": {"name": tool_spec["name"]}})):
        yield event
    stop_reason, message, _, _ = event["stop"]
    inputs = [
        block["toolUse"]["input"]
        for block in message["content"]
        if "toolUse" in block and block["toolUse"]["name"] == tool_spec["name"]
    ]
    if stop_reason != "tool_use" or not inputs:
        raise StructuredOutputError(
            f"{wire}: structured output for {output_model.__name__} expected a call of the forced tool "
            f"{tool_spec['name']!r}; the model ended with stop reason {stop_reason!r} and content "
            f"{[next(iter(block)) for block in message['content']]}"
        )
    try:
        yield {"output": output_model.model_validate(inputs[-1])}
    except pydantic.ValidationError as exc:
        raise StructuredOutputError(
            f"{wire}: the {tool_spec['name']!r} call's input is not a valid {output_model.__name__}: {inputs[-1]!r}\n{exc}"
        ) from exc


class StructuredOutputByTool:
    """Mixin for a provider whose ``structured_output`` forces a tool; ``_forced_tool_wire`` names it in errors."""

    _forced_tool_wire: str

    async def structured_output(
        self, output_model: type[pydantic.BaseModel], prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Force a tool shaped like `output_model`; yield the loop's events, then `{"output": instance}`."""
        async for event in structured_output_by_tool(
            self._forced_tool_wire,
            output_model,
            lambda tools, choice: self.stream(prompt, tools, system_prompt, tool_choice=choice, **kwargs),  # type: ignore[attr-defined]
        ):
            yield event
