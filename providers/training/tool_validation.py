"""Check a model's tool calls before they run, and answer bad ones with deterministic errors.

In RL rollouts a wrong tool call is a training signal: the model should read back exactly what
was wrong, in the same words every time. Strands answers an unknown tool with a bare
"Unknown tool: X" and runs a tool with whatever arguments arrived. These hooks cancel the call
instead (the cancel message becomes the tool's error result, fed back to the model):

    Error: unknown tool: fake_tool | allowed_tools=[calculator, search]
    Error: tool_name=<calculator> | missing required argument(s): expression
    Error: tool_name=<calculator> | unknown argument(s): invalid_param

Unknown arguments are those not among the schema's ``properties``, unless the schema explicitly
allows more (``additionalProperties`` true or a schema). That is stricter than JSON Schema's
default on purpose: Strands' ``@tool`` schemas never say ``additionalProperties: false``, and a
tool call with an invented argument is exactly what RL training has to see rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from strands.hooks import BeforeToolCallEvent, HookProvider, HookRegistry
from strands.types.tools import ToolSpec

__all__ = ["ToolCallValidationHooks", "format_allowed_tools", "validate_tool_input"]


def _input_schema(tool_spec: ToolSpec) -> Mapping[str, Any]:
    schema = tool_spec.get("inputSchema") or {}
    if isinstance(schema, Mapping) and isinstance(schema.get("json"), Mapping):
        return schema["json"]
    return schema if isinstance(schema, Mapping) else {}


def validate_tool_input(tool_name: str, tool_input: Any, tool_spec: ToolSpec) -> str | None:
    """The error message for ``tool_input`` against the tool's input schema, or None when it fits."""
    if not isinstance(tool_input, Mapping):
        return f"Error: tool_name=<{tool_name}> | tool input must be a JSON object, got {type(tool_input).__name__}"
    schema = _input_schema(tool_spec)
    problems: list[str] = []
    required = schema.get("required") or []
    missing = [name for name in required if isinstance(name, str) and name not in tool_input]
    if missing:
        problems.append(f"missing required argument(s): {', '.join(missing)}")
    additional = schema.get("additionalProperties", False)
    if additional is False:
        properties = schema.get("properties") or {}
        unknown = sorted(str(name) for name in tool_input if name not in properties)
        if unknown:
            problems.append(f"unknown argument(s): {', '.join(unknown)}")
    if not problems:
        return None
    return f"Error: tool_name=<{tool_name}> | " + " | ".join(problems)


def format_allowed_tools(tool_names: Sequence[str], *, limit: int) -> str:
    """``[a, b, c]``, or ``[a, b, ... (+3 more)]`` when there are more than ``limit`` names."""
    shown = list(tool_names[:limit])
    hidden = len(tool_names) - len(shown)
    suffix = f", ... (+{hidden} more)" if shown and hidden else (f"... (+{hidden} more)" if hidden else "")
    return "[" + ", ".join(shown) + suffix + "]"


@dataclass
class ToolCallValidationHooks(HookProvider):
    """Hook provider: ``Agent(..., hooks=[ToolCallValidationHooks()])``.

    include_allowed_tools: add ``| allowed_tools=[...]`` to unknown-tool errors.
    max_allowed_tools: at most this many names in that list (the rest are counted).
    validate_arguments: check missing and unknown arguments against the input schema.
    """

    include_allowed_tools: bool = True
    max_allowed_tools: int = 25
    validate_arguments: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.max_allowed_tools, int) or self.max_allowed_tools < 0:
            raise ValueError(f"max_allowed_tools must be an int >= 0, got {self.max_allowed_tools!r}")

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        registry.add_callback(BeforeToolCallEvent, self.before_tool_call)

    def before_tool_call(self, event: BeforeToolCallEvent) -> None:
        tool_name = str(event.tool_use.get("name", ""))
        if event.selected_tool is None:
            message = f"Error: unknown tool: {tool_name}"
            if self.include_allowed_tools:
                allowed = format_allowed_tools(list(event.agent.tool_names), limit=self.max_allowed_tools)
                message += f" | allowed_tools={allowed}"
            event.cancel_tool = message
            return
        if not self.validate_arguments:
            return
        error = validate_tool_input(tool_name, event.tool_use.get("input"), event.selected_tool.tool_spec)
        if error is not None:
            event.cancel_tool = error
