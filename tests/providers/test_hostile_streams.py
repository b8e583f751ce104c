"""Every wire against the same hostile answers: cut-off tool arguments are never handed on as ``{}``."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

import httpx
import pytest

from providers import LiteLLMModel
from providers.errors import MalformedStreamError

from .hostile_wires import WIRES, HostileWire
from .wire import USER, Replay, collect

TOOLS = [{"name": "weather", "description": "d", "inputSchema": {"json": {"type": "object"}}}]


def answer(wire: HostileWire, chunks: list[bytes]) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": wire.content_type}, stream=Replay(chunks))


def stop_reason(events: list[dict[str, Any]]) -> str:
    (stop,) = [event["messageStop"]["stopReason"] for event in events if "messageStop" in event]
    return stop


@pytest.fixture(params=sorted(WIRES))
def wire(request: pytest.FixtureRequest) -> HostileWire:
    return WIRES[request.param]


async def test_cut_off_tool_arguments_raise_under_a_finish_that_is_not_length(wire: HostileWire, mock) -> None:
    mock.post(wire.path).mock(return_value=answer(wire, wire.tool('{"city": "Par', wire.tool_finish)))
    with pytest.raises(MalformedStreamError, match=r"'weather'.*13 bytes seen: b'\{\"city\": \"Par'"):
        await collect(wire.model(), USER, tool_specs=TOOLS)


async def test_cut_off_tool_arguments_under_length_are_max_tokens(wire: HostileWire, mock) -> None:
    mock.post(wire.path).mock(return_value=answer(wire, wire.tool('{"city": "Par', wire.length_finish)))
    assert stop_reason(await collect(wire.model(), USER, tool_specs=TOOLS)) == "max_tokens"


async def test_whole_tool_arguments_pass(wire: HostileWire, mock) -> None:
    mock.post(wire.path).mock(return_value=answer(wire, wire.tool('{"city": "Paris"}', wire.tool_finish)))
    assert stop_reason(await collect(wire.model(), USER, tool_specs=TOOLS)) == "tool_use"


def _litellm_chunks(arguments: str, finish: str) -> list[Any]:
    call = NS(index=0, id="call_1", function=NS(name="weather", arguments=arguments))
    delta = NS(content=None, reasoning_content=None, tool_calls=[call])
    usage = NS(prompt_tokens=3, completion_tokens=4, total_tokens=7, prompt_tokens_details=None)
    return [NS(choices=[NS(delta=delta, finish_reason=None)], usage=None),
            NS(choices=[NS(delta=None, finish_reason=finish)], usage=usage)]


class _LiteLLMStream:
    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = chunks
        self.received_finish_reason = chunks[-1].choices[0].finish_reason

    def __aiter__(self) -> Any:
        return self._iterate()

    async def _iterate(self) -> Any:
        for piece in self.chunks:
            yield piece


@pytest.mark.parametrize(("finish", "raises"), [("tool_calls", True), ("length", False)])
async def test_litellm_follows_the_same_rule(finish: str, raises: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    model = LiteLLMModel(model_id="openai/m")

    async def acompletion(**_: Any) -> _LiteLLMStream:
        return _LiteLLMStream(_litellm_chunks('{"city": "Par', finish))

    monkeypatch.setattr(model._litellm, "acompletion", acompletion)
    if raises:
        with pytest.raises(MalformedStreamError, match="'weather'"):
            await collect(model, USER, tool_specs=TOOLS)
    else:
        assert stop_reason(await collect(model, USER, tool_specs=TOOLS)) == "max_tokens"
