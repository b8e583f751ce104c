"""A scripted Strands model: plays fixed event lists, so the Agent loop around it is real."""

from __future__ import annotations

from typing import Any, AsyncIterator, Sequence

from strands.models import Model

StreamEvent = dict[str, Any]


def text_call(text: str, prompt_ids: Sequence[int] | None, ids: Sequence[int] | None) -> list[StreamEvent]:
    """The event sequence of one text answer, ids in messageStop like our VLLMModel emits them."""
    fields = {}
    if prompt_ids is not None:
        fields["prompt_token_ids"] = list(prompt_ids)
    if ids is not None:
        fields["token_ids"] = list(ids)
    stop: dict[str, Any] = {"stopReason": "end_turn"}
    if fields:
        stop["additionalModelResponseFields"] = fields
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": {}}},
        {"contentBlockDelta": {"delta": {"text": text}}},
        {"contentBlockStop": {}},
        {"messageStop": stop},
        {"metadata": {"usage": {"inputTokens": len(prompt_ids or ()), "outputTokens": len(ids or ()),
                                "totalTokens": len(prompt_ids or ()) + len(ids or ())},
                      "metrics": {"latencyMs": 1}}},
    ]


def tool_call(name: str, arguments: str, prompt_ids: Sequence[int], ids: Sequence[int], tool_use_id: str = "call-1") -> list[StreamEvent]:
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": tool_use_id, "name": name}}}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": arguments}}}},
        {"contentBlockStop": {}},
        {"messageStop": {"stopReason": "tool_use",
                         "additionalModelResponseFields": {"prompt_token_ids": list(prompt_ids), "token_ids": list(ids)}}},
        {"metadata": {"usage": {"inputTokens": len(prompt_ids), "outputTokens": len(ids), "totalTokens": 0},
                      "metrics": {"latencyMs": 1}}},
    ]


class ScriptedModel(Model):
    """Plays one scripted event list per model call and keeps the messages each call received."""

    def __init__(self, calls: Sequence[list[StreamEvent]]) -> None:
        self._calls = list(calls)
        self.received: list[list[dict[str, Any]]] = []
        self.config = {"model_id": "scripted"}

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> Any:
        return self.config

    async def structured_output(self, output_model, prompt, system_prompt=None, **kwargs):  # type: ignore[override]
        raise NotImplementedError("ScriptedModel has no structured output")
        yield  # pragma: no cover

    async def stream(self, messages, tool_specs=None, system_prompt=None, **kwargs) -> AsyncIterator[StreamEvent]:  # type: ignore[override]
        if not self._calls:
            raise AssertionError(f"ScriptedModel: model call {len(self.received)} was not scripted")
        self.received.append(list(messages))
        for event in self._calls.pop(0):
            yield event
