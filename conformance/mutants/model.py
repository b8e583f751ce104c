"""The mutant provider: a working provider wrapped so that one deliberate defect changes its request or its events."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Callable
from dataclasses import dataclass
from typing import Any

from strands.models import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

EventFilter = Callable[[AsyncIterable[StreamEvent]], AsyncIterable[StreamEvent]]

@dataclass(frozen=True)
class StreamCall:
    """The arguments of one `stream` call, so a mutant can change the request it forwards."""

    messages: Messages
    tool_specs: list[ToolSpec] | None
    system_prompt: str | None
    tool_choice: Any
    system_prompt_content: Any
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Mutation:
    """One defect: what it breaks (for the report) and how (on the request, on the events, or both)."""

    name: str
    defect: str
    events: EventFilter | None = None
    request: Callable[[StreamCall], StreamCall] | None = None
    structured_output_events: EventFilter | None = None


class MutantModel(Model):
    """A working provider with one deliberate defect; configuration passes through untouched."""

    def __init__(self, inner: Model, mutation: Mutation) -> None:
        self.inner = inner
        self.mutation = mutation

    def update_config(self, **model_config: Any) -> None:
        self.inner.update_config(**model_config)

    def get_config(self) -> Any:
        return self.inner.get_config()

    def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        *,
        tool_choice: Any = None,
        system_prompt_content: Any = None,
        **kwargs: Any,
    ) -> AsyncIterable[StreamEvent]:
        call = StreamCall(messages, tool_specs, system_prompt, tool_choice, system_prompt_content, kwargs)
        if self.mutation.request is not None:
            call = self.mutation.request(call)
        events = self.inner.stream(
            call.messages,
            call.tool_specs,
            call.system_prompt,
            tool_choice=call.tool_choice,
            system_prompt_content=call.system_prompt_content,
            **call.kwargs,
        )
        return self.mutation.events(events) if self.mutation.events is not None else events

    def structured_output(
        self, output_model: type, prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        events = self.inner.structured_output(output_model, prompt, system_prompt, **kwargs)
        corrupt = self.mutation.structured_output_events
        return corrupt(events) if corrupt is not None else events  # type: ignore[return-value]

